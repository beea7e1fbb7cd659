// A kill -9 at every step boundary, then `resume` or `rollback` in a new process: the deploy ends
// replaced or rolled back from the journal and what the world says now, with no orphan left, only
// the snapshot terminated, capacity held, and never more instances launched than the plan.
import { describe, expect, it } from 'vitest';
import { replace } from '../../src/rollout/deploy.js';
import type { DeployEvent } from '../../src/rollout/events.js';
import { rollbackDeploy } from '../../src/rollout/resume.js';
import {
  DEPLOY_ID,
  type Stage,
  capacityDips,
  expectReplaced,
  expectUntouched,
  inProcess,
  launched,
  recordOf,
  runResume,
  runRollback,
  stage,
} from './fakes.js';

type Point = readonly [name: string, matches: (event: DeployEvent) => boolean, webOnly: boolean];

const phase = (name: string) => (event: DeployEvent) => event.type === 'phase.started' && event.phase === name;
const step = (what: string) => (event: DeployEvent) => event.type === 'step.done' && event.what === what;

/** The step boundaries of scripts/chaos/schedule.ts, as engine events. */
const POINTS: readonly Point[] = [
  ['launch', phase('launch'), false],
  ['register', phase('register'), true],
  ['verify', phase('verify'), false],
  ['cutover', phase('cutover'), false],
  ['deregistered', step('deregistered the old targets'), true],
  ['terminate', phase('terminate'), false],
  ['terminated', step('terminated the old instances'), false],
  ['retire', phase('retire'), false],
];

/** Runs `replace` in a process killed at the first event `at` accepts, `lag` port calls later. */
const replaceKilledAt = async (s: Stage, at: (event: DeployEvent) => boolean, lag = 0) => {
  const { outcome, process } = await inProcess(
    s.fakes,
    (deps) => replace(s.spec, { deployId: DEPLOY_ID, dryRun: false }, deps, new AbortController().signal),
    {
      emit: (event, proc) => {
        if (at(event)) proc.kill(lag);
      },
    },
  );
  expect(outcome, 'the deploy ended before the kill').toBeUndefined();
  expect(process.alive()).toBe(false);
};

const onlySnapshotTerminated = (s: Stage): string[] => {
  const allowed = new Set([...s.old, ...launched(s)].map((i) => i.id));
  return s.fakes.world.events
    .filter((e) => e.type === 'instance.terminating' && !allowed.has(e.instanceId!))
    .map((e) => `terminated ${e.instanceId}`);
};

const cases = (['web', 'worker'] as const).flatMap((role) =>
  POINTS.filter(([, , webOnly]) => role === 'web' || !webOnly).flatMap(([name, at]) => [0, 1, 3].map((lag) => ({ role, name, at, lag }))),
);

describe('kill -9 at each step boundary', () => {
  it.each(cases)('$role at $name ($lag calls late), then resume: replaced', async ({ role, at, lag }) => {
    const s = stage(role, { spec: { perAz: 2 }, oldPerAz: 2 });
    await replaceKilledAt(s, at, lag);
    const outcome = await runResume(s);
    expect(outcome.kind).toBe('replaced');
    expect(recordOf(s)!.status).toBe('replaced');
    expect(expectReplaced(s, 4)).toEqual([]);
    expect(capacityDips(s)).toEqual([]);
    expect(onlySnapshotTerminated(s)).toEqual([]);
  });

  it.each(cases)(
    '$role at $name ($lag calls late), then rollback: rolled back, or refused once an old instance is gone',
    async ({ role, at, lag }) => {
      const s = stage(role, { spec: { perAz: 2 }, oldPerAz: 2 });
      await replaceKilledAt(s, at, lag);
      const terminatedBefore = s.old.some((i) => i.state !== 'running');
      const rollback = inProcess(s.fakes, (deps) => rollbackDeploy(s.spec, DEPLOY_ID, deps, new AbortController().signal));
      if (terminatedBefore) {
        await expect(rollback).rejects.toThrow(/can no longer be rolled back/);
        expect((await runResume(s)).kind).toBe('replaced');
        expect(expectReplaced(s, 4)).toEqual([]);
      } else {
        expect((await rollback).outcome).toMatchObject({ kind: 'rolled-back', requested: true });
        expect(recordOf(s)!.status).toBe('rolled-back');
        expect(expectUntouched(s)).toEqual([]);
      }
      expect(capacityDips(s)).toEqual([]);
      expect(onlySnapshotTerminated(s)).toEqual([]);
    },
  );
});

describe('launch idempotency across resume', () => {
  it('a kill after RunInstances but before its ids reached the journal: resume gets the same instances back', async () => {
    const s = stage('web', { spec: { perAz: 2 } });
    // Two calls late: the old fleet's replaced-by tag, then one RunInstances; its answer never reaches the journal.
    await replaceKilledAt(s, phase('launch'), 2);
    const before = launched(s).map((i) => i.id);
    expect(before).toHaveLength(2);
    expect(Object.values(recordOf(s)!.launched).flat()).toEqual([]);
    expect((await runResume(s)).kind).toBe('replaced');
    expect(launched(s)).toHaveLength(4);
    expect(
      launched(s)
        .map((i) => i.id)
        .slice(0, 2),
    ).toEqual(before);
    expect(expectReplaced(s, 4)).toEqual([]);
  });

  it("lost RunInstances answers while resuming: the SDK's retries and the resume send the same ClientTokens", async () => {
    const s = stage('worker');
    // Before any launch: a chunk the journal holds is never sent again (test/rollout/pacing.test.ts).
    await replaceKilledAt(s, phase('launch'));
    s.fakes.world.inject({ type: 'drop-after', api: 'ec2', action: 'RunInstances', count: 3 });
    expect((await runResume(s)).kind).toBe('replaced');
    expect(s.fakes.world.stats.lostLaunches).toBeGreaterThan(0);
    expect(launched(s)).toHaveLength(2);
  });

  it('the same ClientToken with other parameters is refused, not launched again', async () => {
    const s = stage('worker');
    // One RunInstances reached EC2, its answer never the journal: the resume sends its ClientToken again.
    await replaceKilledAt(s, phase('launch'), 2);
    expect(launched(s)).toHaveLength(1);
    const other = { ...s, spec: { ...s.spec, instanceType: 't3.large' } };
    const outcome = await runResume(other);
    expect(outcome).toMatchObject({ kind: 'rolled-back', reason: expect.stringMatching(/IdempotentParameterMismatch/) });
    expect(launched(s).length).toBeLessThanOrEqual(2);
  });
});

describe('recovery from what AWS and Mackerel say', () => {
  it("the journal record is lost after launch: resume rebuilds it from the instances' tags and finishes", async () => {
    const s = stage('web');
    await replaceKilledAt(s, phase('verify'));
    s.fakes.disk.clear();
    expect((await runResume(s)).kind).toBe('replaced');
    expect(expectReplaced(s, 2)).toEqual([]);
  });

  it('the journal record is lost after launch: rollback rebuilds it and undoes the new side', async () => {
    const s = stage('web');
    await replaceKilledAt(s, phase('verify'));
    s.fakes.disk.clear();
    expect((await runRollback(s)).kind).toBe('rolled-back');
    expect(expectUntouched(s)).toEqual([]);
  });

  it('a kill during a rollback: resume carries the rollback on', async () => {
    const s = stage('web');
    s.fakes.world.inject({ type: 'health-fail', count: 1 });
    await replaceKilledAt(s, step('terminated the new instances'));
    expect(recordOf(s)!.status).toBe('rolling-back');
    expect((await runResume(s)).kind).toBe('rolled-back');
    expect(expectUntouched(s)).toEqual([]);
  });

  it('a rollback after cutover whose old targets never become healthy again leaves the new fleet serving, and names resume to finish', async () => {
    const s = stage('web', { spec: { perAz: 2 }, oldPerAz: 2 });
    await replaceKilledAt(s, step('deregistered the old targets'));
    // The old instances' health checks fail once they are registered again.
    s.fakes.world.inject({ type: 'health-fail', count: 4 });
    const outcome = await runRollback(s);
    expect(outcome.kind).toBe('incomplete');
    if (outcome.kind !== 'incomplete') return;
    expect(outcome.leftovers.map((l) => l.fix).join('\n')).toContain(`mackerel-replacer resume ${DEPLOY_ID}`);
    expect(capacityDips(s)).toEqual([]);
    expect((await runResume(s)).kind).toBe('replaced');
    expect(expectReplaced(s, 4)).toEqual([]);
  });

  it('after a failed restore, resume cuts over again: the old targets registered anew are drained before their instances end', async () => {
    const s = stage('web');
    await replaceKilledAt(s, phase('terminate'));
    s.fakes.world.inject({ type: 'health-fail', count: 1 });
    expect((await runRollback(s)).kind).toBe('incomplete');
    const restored = s.fakes.world.events.length;
    expect((await runResume(s)).kind).toBe('replaced');
    expect(expectReplaced(s, 2)).toEqual([]);
    const after = s.fakes.world.events.slice(restored);
    for (const { id } of s.old) {
      const drained = after.findIndex((e) => e.type === 'target.removed' && e.instanceId === id);
      const terminating = after.findIndex((e) => e.type === 'instance.terminating' && e.instanceId === id);
      expect(drained, `old ${id} drained before it was terminated`).toBeGreaterThanOrEqual(0);
      expect(drained).toBeLessThan(terminating);
    }
  });

  it('a rollback after cutover waits until the old targets are healthy without a break before the new side goes', async () => {
    const s = stage('web', { spec: { perAz: 2 }, oldPerAz: 2 });
    await replaceKilledAt(s, step('deregistered the old targets'));
    // The old targets registered again fall back to unhealthy after their first healthy check.
    s.fakes.world.inject({ type: 'health-flap', count: 4 });
    expect((await runRollback(s)).kind).toBe('rolled-back');
    expect(capacityDips(s)).toEqual([]);
    expect(expectUntouched(s)).toEqual([]);
  });
});
