// Capacity fallback: an AZ without capacity for the preferred type gets the next type of
// instanceTypes, under a ClientToken of its own; the journal records what was launched where, and a
// resume never launches a second type where one came up.
import { describe, expect, it } from 'vitest';
import { replace } from '../../src/rollout/deploy.js';
import {
  DEPLOY_ID,
  capacityDips,
  expectReplaced,
  expectUntouched,
  inProcess,
  launched,
  recordOf,
  runReplace,
  runResume,
  stage,
} from './fakes.js';

const TYPES = { instanceType: 'c7g.large', instanceTypes: ['c7g.large', 'c6g.large'] };
const noC7g = { type: 'capacity', az: 'ap-northeast-1c', instanceType: 'c7g.large' } as const;

const typesByAz = (s: ReturnType<typeof stage>) => Object.fromEntries(launched(s).map((instance) => [instance.az, instance.instanceType]));

describe('capacity fallback', () => {
  it('an AZ without capacity for the first type launches the second there; the summary and the record say which', async () => {
    const s = stage('web', { spec: TYPES });
    s.fakes.world.inject(noC7g);
    const outcome = await runReplace(s);
    expect(outcome.kind).toBe('replaced');
    expect(expectReplaced(s, 2)).toEqual([]);
    expect(capacityDips(s)).toEqual([]);
    expect(typesByAz(s)).toEqual({ 'ap-northeast-1a': 'c7g.large', 'ap-northeast-1c': 'c6g.large' });
    expect(recordOf(s)!.launchTypes).toEqual({ 'ap-northeast-1a': 'c7g.large', 'ap-northeast-1c': 'c6g.large' });
    expect(outcome.kind === 'replaced' && outcome.summary.perAz.map((az) => az.instanceType)).toEqual(['c7g.large', 'c6g.large']);
    expect(s.fakes.events).toContainEqual({
      type: 'warning',
      message: 'ap-northeast-1c: no c7g.large capacity (InsufficientInstanceCapacity); trying c6g.large',
    });
  });

  it('the plan lists the order', async () => {
    const s = stage('worker', { spec: TYPES });
    await runReplace(s);
    const plan = s.fakes.events.find((event) => event.type === 'plan.made');
    expect(plan).toMatchObject({ plan: { instanceTypes: ['c7g.large', 'c6g.large'] } });
  });

  it('no capacity for any type fails the launch and rolls back', async () => {
    const s = stage('worker', { spec: TYPES });
    s.fakes.world.inject(noC7g, { type: 'capacity', az: 'ap-northeast-1c', instanceType: 'c6g.large' });
    const outcome = await runReplace(s);
    expect(outcome).toMatchObject({ kind: 'rolled-back' });
    expect(outcome.kind === 'rolled-back' && outcome.reason).toMatch(/ap-northeast-1c: .*InsufficientInstanceCapacity.*c6g\.large/);
    expect(expectUntouched(s)).toEqual([]);
  });

  it('a crash after the fallback launched: resume keeps to the type that came up, even once the first has capacity again', async () => {
    const s = stage('worker', { spec: TYPES });
    s.fakes.world.inject(noC7g);
    await inProcess(s.fakes, (deps) => replace(s.spec, { deployId: DEPLOY_ID, dryRun: false }, deps, new AbortController().signal), {
      emit: (event, process) => {
        if (event.type === 'phase.started' && event.phase === 'verify') process.kill();
      },
    });
    s.fakes.world.faults.clear();
    expect((await runResume(s)).kind).toBe('replaced');
    expect(expectReplaced(s, 2)).toEqual([]);
    expect(typesByAz(s)).toEqual({ 'ap-northeast-1a': 'c7g.large', 'ap-northeast-1c': 'c6g.large' });
  });
});
