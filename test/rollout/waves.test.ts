// Waves and the canary: each wave launched, verified and cut over before the next, AZs balanced
// in every wave, capacity never below the old count; a failed wave undoes itself only.
import { describe, expect, it } from 'vitest';
import { replace } from '../../src/rollout/deploy.js';
import type { DeployEvent } from '../../src/rollout/events.js';
import { makePlan } from '../../src/rollout/plan.js';
import { parseBatch, planWaves } from '../../src/rollout/waves.js';
import { image, member, spec, subnets } from './fixtures.js';
import {
  DEPLOY_ID,
  type Stage,
  capacityDips,
  expectReplaced,
  inProcess,
  launched,
  recordOf,
  runReplace,
  runResume,
  runRollback,
  stage,
} from './fakes.js';

const A = 'ap-northeast-1a';
const C = 'ap-northeast-1c';

const oldFleet = (perAz: number) => [A, C].flatMap((az) => Array.from({ length: perAz }, (_, i) => member(`i-old-${az.at(-1)}${i}`, az)));

const perAzOf = (launches: readonly { az: string; count: number }[]) => Object.fromEntries(launches.map((l) => [l.az, l.count]));

describe('planWaves', () => {
  const members = oldFleet(4);
  const plan = makePlan(spec({ perAz: 'match' }), DEPLOY_ID, image, subnets, { members });

  it('25% of 8 is 4 waves of one per AZ, each retiring one old instance per AZ, each AZ with its own ClientToken per wave', () => {
    const { waves, forcedBy } = planWaves(plan, members, { batch: parseBatch('25%') }, true);
    expect(forcedBy).toBeUndefined();
    expect(waves.map((w) => perAzOf(w.launches))).toEqual(Array(4).fill({ [A]: 1, [C]: 1 }));
    expect(waves.map((w) => w.old.map((id) => members.find((m) => m.instanceId === id)!.az).sort())).toEqual(Array(4).fill([A, C]));
    expect(new Set(waves.flatMap((w) => w.launches.map((l) => l.clientToken))).size).toBe(8);
    expect(new Set(waves.flatMap((w) => w.old)).size).toBe(8);
  });

  it('without a batch, one wave', () => {
    expect(planWaves(plan, members, {}, true).waves).toHaveLength(1);
  });

  it('the target quota forces waves, and says so', () => {
    const { waves, forcedBy } = planWaves(plan, members, { targets: { held: 8, quota: 12, group: 'reactio-web' } }, true);
    expect(waves).toHaveLength(2);
    expect(forcedBy).toBe('limits.targetsPerGroup (12): target group reactio-web holds 8 targets, so 8 new ones are added in 2 waves');
  });

  it('a quota that not even one new target fits is refused', () => {
    expect(() => planWaves(plan, members, { targets: { held: 8, quota: 8, group: 'reactio-web' } }, true)).toThrow(
      /even one new instance per wave would take it to 9, above its quota of 8/,
    );
  });

  it('a canary is a first wave in the first AZ, then the rest in the waves asked for', () => {
    const { waves } = planWaves(plan, members, { canary: 1, batch: { count: 4 } }, true);
    expect(waves.map((w) => perAzOf(w.launches))).toEqual([{ [A]: 1 }, { [A]: 2, [C]: 2 }, { [A]: 1, [C]: 2 }]);
    expect(waves[0]!.old).toEqual(['i-old-a0']);
  });

  it('a canary larger than its AZ is refused', () => {
    expect(() => planWaves(plan, members, { canary: 5 }, true)).toThrow(/--canary 5 is more than the 4 instances the plan launches in/);
  });
});

const waveStarts = (events: readonly DeployEvent[]) => events.filter((e) => e.type === 'wave.started').map((e) => e.wave);

const inService = (s: Stage, id: string) => {
  const instance = s.fakes.world.instances.get(id)!;
  const target = s.fakes.world.targetGroups.get(s.spec.targetGroups[0]!)!.targets.get(id);
  return instance.state === 'running' && target?.state === 'healthy';
};

/** A replace that injects `fault` as wave `wave` starts. */
const failInWave = async (s: Stage, wave: number, fault: Parameters<Stage['fakes']['world']['inject']>[0]) => {
  const { outcome } = await inProcess(
    s.fakes,
    (deps) => replace(s.spec, { deployId: DEPLOY_ID, dryRun: false }, deps, new AbortController().signal),
    { emit: (event) => event.type === 'wave.started' && event.wave === wave && s.fakes.world.inject(fault) },
  );
  return outcome;
};

describe('a deploy in waves', () => {
  it('25%: four waves, each cut over before the next launches; AZs balanced; capacity never dips', async () => {
    const s = stage('web', { spec: { perAz: 'match', batch: { percent: 25 } }, oldPerAz: 4 });
    const outcome = await runReplace(s);
    expect(outcome.kind).toBe('replaced');
    expect(expectReplaced(s, 8)).toEqual([]);
    expect(capacityDips(s)).toEqual([]);
    expect(waveStarts(s.fakes.events)).toEqual([1, 2, 3, 4]);
    // Between two wave starts, the old part of the wave was terminated, and 2 new ones launched (1 per AZ).
    const order = s.fakes.events.flatMap((e) =>
      e.type === 'wave.started'
        ? ['wave']
        : e.type === 'launch.done'
          ? ['launch']
          : e.type === 'step.done' && e.phase === 'terminate'
            ? ['terminate']
            : [],
    );
    expect(order).toEqual(Array(4).fill(['wave', 'launch', 'launch', 'terminate']).flat());
    const launchedPerWave = s.fakes.events.filter((e) => e.type === 'launch.done').map((e) => e.launch.az);
    expect(launchedPerWave).toHaveLength(8);
    for (let i = 0; i < 8; i += 2) expect(launchedPerWave.slice(i, i + 2).sort()).toEqual([A, C]);
    expect(recordOf(s)).toMatchObject({ status: 'replaced', wave: 3 });
  });

  it('a failure in wave 2 rolls back wave 2 only: wave 1 stays in service, the later waves are untouched', async () => {
    const s = stage('web', { spec: { perAz: 'match', batch: { percent: 25 } }, oldPerAz: 4 });
    const outcome = await failInWave(s, 2, { type: 'health-fail', count: 1 });
    expect(outcome).toMatchObject({ kind: 'rolled-back', waves: { completed: 1, total: 4 } });
    const record = recordOf(s)!;
    expect(record).toMatchObject({ status: 'rolled-back', wave: 1, leftovers: [] });
    const wave1New = Object.values(record.served!).flat();
    expect(wave1New).toHaveLength(2);
    for (const id of wave1New) expect(inService(s, id), id).toBe(true);
    const wave1Old = record.waves![0]!.old;
    for (const id of wave1Old) expect(s.fakes.world.instances.get(id)!.state).toMatch(/shutting-down|terminated/);
    const rest = s.old.filter((i) => !wave1Old.includes(i.id));
    expect(rest).toHaveLength(6);
    for (const instance of rest) {
      expect(inService(s, instance.id), instance.id).toBe(true);
      expect(instance.tags['mackerel-replacer:replaced-by']).toBeUndefined();
    }
    const wave2New = launched(s).filter((i) => !wave1New.includes(i.id));
    expect(wave2New).toHaveLength(2);
    for (const instance of wave2New) expect(instance.state).toMatch(/shutting-down|terminated/);
    expect(waveStarts(s.fakes.events)).toEqual([1, 2]);
    expect(capacityDips(s)).toEqual([]);
  });

  it('killed between waves: resume carries on with the next waves; rollback would undo nothing of wave 1', async () => {
    const s = stage('web', { spec: { perAz: 'match', batch: { count: 2 } }, oldPerAz: 2 });
    const { outcome } = await inProcess(
      s.fakes,
      (deps) => replace(s.spec, { deployId: DEPLOY_ID, dryRun: false }, deps, new AbortController().signal),
      { emit: (event, proc) => event.type === 'wave.started' && event.wave === 2 && proc.kill(0) },
    );
    expect(outcome).toBeUndefined();
    expect(recordOf(s)).toMatchObject({ status: 'running', wave: 1, step: 'launch' });
    const resumed = await runResume(s);
    expect(resumed.kind).toBe('replaced');
    expect(expectReplaced(s, 4)).toEqual([]);
    expect(capacityDips(s)).toEqual([]);
    expect(launched(s)).toHaveLength(4);
  });

  it('rollback of a deploy killed in wave 2 undoes wave 2 only', async () => {
    const s = stage('web', { spec: { perAz: 'match', batch: { count: 2 } }, oldPerAz: 2 });
    await inProcess(s.fakes, (deps) => replace(s.spec, { deployId: DEPLOY_ID, dryRun: false }, deps, new AbortController().signal), {
      emit: (event, proc) => event.type === 'phase.started' && event.phase === 'verify' && recordOf(s)?.wave === 1 && proc.kill(0),
    });
    const outcome = await runRollback(s);
    expect(outcome).toMatchObject({ kind: 'rolled-back', waves: { completed: 1, total: 2 } });
    const record = recordOf(s)!;
    for (const id of Object.values(record.served!).flat()) expect(inService(s, id), id).toBe(true);
    for (const id of record.waves![1]!.old) expect(inService(s, id), id).toBe(true);
    expect(capacityDips(s)).toEqual([]);
  });

  it('the target quota forces waves: the deploy fits a group that cannot hold old and new at once', async () => {
    const s = stage('web', { spec: { perAz: 2, targetsPerGroup: 6 }, oldPerAz: 2 });
    s.fakes.world.settings.targetsPerGroup = 6;
    const planned: DeployEvent[] = [];
    const { outcome } = await inProcess(
      s.fakes,
      (deps) => replace(s.spec, { deployId: DEPLOY_ID, dryRun: false }, deps, new AbortController().signal),
      { emit: (event) => event.type === 'plan.made' && planned.push(event) },
    );
    expect(outcome?.kind).toBe('replaced');
    expect(planned[0]).toMatchObject({ plan: { waves: { forcedBy: expect.stringMatching(/^limits.targetsPerGroup \(6\)/) } } });
    expect(waveStarts(s.fakes.events)).toEqual([1, 2]);
    expect(expectReplaced(s, 4)).toEqual([]);
    expect(capacityDips(s)).toEqual([]);
  });
});

describe('--canary', () => {
  it('a canary failure rolls back the canary and touches nothing else: no other AZ launched, the old fleet untouched', async () => {
    const s = stage('web', { spec: { perAz: 2, canary: 1 }, oldPerAz: 2 });
    const outcome = await failInWave(s, 1, { type: 'health-fail', count: 1 });
    expect(outcome).toMatchObject({ kind: 'rolled-back', waves: { completed: 0, total: 2 } });
    expect(launched(s).map((i) => i.az)).toEqual([A]);
    for (const instance of s.old) {
      expect(inService(s, instance.id), instance.id).toBe(true);
      expect(instance.tags['mackerel-replacer:replaced-by']).toBeUndefined();
    }
    expect(capacityDips(s)).toEqual([]);
  });

  it('a canary that passes is cut over with one old instance of its AZ, then the rest follow', async () => {
    const s = stage('web', { spec: { perAz: 2, canary: 1 }, oldPerAz: 2 });
    expect((await runReplace(s)).kind).toBe('replaced');
    expect(expectReplaced(s, 4)).toEqual([]);
    const first = s.fakes.events.find((e) => e.type === 'wave.started');
    expect(first).toMatchObject({ wave: 1, of: 2, launches: [{ az: A, count: 1 }] });
    expect(capacityDips(s)).toEqual([]);
  });
});
