// The old fleet goes only while the new one serves (issue 19 §2, issue 18 §4): right before any old
// instance is terminated the new fleet is observed again, and an old instance is terminated only
// when it carries this deploy's replaced-by tag and is none of the new fleet's.
import { describe, expect, it } from 'vitest';
import { terminateInstances } from '../../scripts/chaos/fakes/ec2.js';
import { replace } from '../../src/rollout/deploy.js';
import type { DeployEvent } from '../../src/rollout/events.js';
import { finishKept, shrinkKept } from '../../src/rollout/finish.js';
import { TAG_REPLACED_BY } from '../../src/rollout/tags.js';
import { type AnyOutcome, DEPLOY_ID, type Stage, expectUntouched, inProcess, launched, recordOf, runResume, stage } from './fakes.js';

const never = () => new AbortController().signal;

/** Runs `replace`, calling `at` with every event it emits. */
const replaceWatching = async (s: Stage, at: (event: DeployEvent) => void) =>
  (await inProcess(s.fakes, (deps) => replace(s.spec, { deployId: DEPLOY_ID, dryRun: false }, deps, never()), { emit: at }))
    .outcome as AnyOutcome;

/** AWS terminates `count` of the new instances a few seconds after `event` (once). */
const loseNewAfter = (s: Stage, matches: (event: DeployEvent) => boolean, count: number) => {
  let done = false;
  return (event: DeployEvent) => {
    if (done || !matches(event)) return;
    done = true;
    const { world } = s.fakes;
    world.schedule(world.clock.now() + 5_000, (t) => terminateInstances(world, launched(s).slice(0, count), t));
  };
};

const deregistered = (event: DeployEvent) => event.type === 'step.done' && event.what === 'deregistered the old targets';

const oldTerminated = (s: Stage) =>
  s.fakes.world.events.filter((e) => e.type === 'instance.terminating' && s.old.some((i) => i.id === e.instanceId)).length;

describe('the new fleet is re-checked before any old instance is terminated', () => {
  it('both new instances terminated by AWS while the old targets drain: the old fleet is put back, the deploy rolled back', async () => {
    const s = stage('web');
    const outcome = await replaceWatching(s, loseNewAfter(s, deregistered, 2));
    expect(outcome).toMatchObject({
      kind: 'rolled-back',
      reason: expect.stringMatching(/the new fleet does not serve: i-\w+ is not running/),
    });
    expect(recordOf(s)!.status).toBe('rolled-back');
    expect(oldTerminated(s)).toBe(0);
    expect(expectUntouched(s)).toEqual([]);
  });

  it('one of two new instances lost: not replaced either', async () => {
    const s = stage('web');
    const outcome = await replaceWatching(s, loseNewAfter(s, deregistered, 1));
    expect(outcome.kind).toBe('rolled-back');
    expect(oldTerminated(s)).toBe(0);
    expect(expectUntouched(s)).toEqual([]);
  });

  it('a worker whose new instance AWS took during the drain: the old hosts are set back, nothing old terminated', async () => {
    const s = stage('worker', { spec: { workerDrain: 60_000 } });
    const maintenance = (event: DeployEvent) => event.type === 'step.done' && event.what === 'set the old hosts maintenance';
    const outcome = await replaceWatching(s, loseNewAfter(s, maintenance, 1));
    expect(outcome.kind).toBe('rolled-back');
    expect(oldTerminated(s)).toBe(0);
    expect(expectUntouched(s)).toEqual([]);
  });

  it('finish of a kept deploy whose new fleet AWS took: the kept fleet goes back in service', async () => {
    const s = stage('web', { spec: { keepOld: { forMs: 30 * 60_000 } } });
    expect((await replaceWatching(s, () => {})).kind).toBe('kept');
    terminateInstances(s.fakes.world, launched(s), s.fakes.clock.now());
    const { outcome } = await inProcess(s.fakes, (deps) => finishKept(s.spec, DEPLOY_ID, deps, never()));
    expect(outcome?.kind).toBe('rolled-back');
    expect(oldTerminated(s)).toBe(0);
    expect(expectUntouched(s)).toEqual([]);
  });

  it('shrink of a kept deploy whose new fleet AWS took: nothing old is terminated', async () => {
    const s = stage('web', { spec: { keepOld: { forMs: 30 * 60_000 } } });
    expect((await replaceWatching(s, () => {})).kind).toBe('kept');
    terminateInstances(s.fakes.world, launched(s).slice(0, 1), s.fakes.clock.now());
    const { outcome } = await inProcess(s.fakes, (deps) => shrinkKept(s.spec, DEPLOY_ID, { count: 1 }, deps, never()));
    expect(outcome?.kind).toBe('rolled-back');
    expect(oldTerminated(s)).toBe(0);
    expect(expectUntouched(s)).toEqual([]);
  });
});

describe('registration is a gate through the whole stableFor', () => {
  it('a new host retired in Mackerel during stableFor (no gates): not replaced', async () => {
    const s = stage('web');
    let retired = false;
    const outcome = await replaceWatching(s, (event) => {
      if (retired || event.type !== 'waiting' || !event.pending.some((p) => p.includes('without a break'))) return;
      retired = true;
      const host = [...s.fakes.world.hosts.values()].find((h) => h.customIdentifier?.startsWith(launched(s)[0]!.id));
      host!.isRetired = true;
    });
    expect(retired).toBe(true);
    expect(outcome).toMatchObject({ kind: 'rolled-back', reason: expect.stringMatching(/not registered/) });
    expect(expectUntouched(s)).toEqual([]);
  });
});

describe('resume trusts AWS, not the record', () => {
  it('a record edited to interrupted at terminate with the serving instances as its snapshot: exit 4, nothing terminated', async () => {
    const s = stage('web');
    expect((await replaceWatching(s, () => {})).kind).toBe('replaced');
    const serving = launched(s).filter((i) => i.state === 'running');
    const record = recordOf(s)!;
    const snapshot = serving.map((instance) => {
      const host = [...s.fakes.world.hosts.values()].find((h) => h.customIdentifier?.startsWith(instance.id))!;
      return {
        hostId: host.id,
        hostName: host.name,
        hostStatus: 'working',
        instanceId: instance.id,
        az: instance.az,
        imageId: instance.imageId,
      };
    });
    const edited = { ...record, status: 'interrupted', step: 'terminate', snapshot, terminated: [], leftovers: [] };
    s.fakes.disk.set(DEPLOY_ID, JSON.stringify(edited));
    const before = s.fakes.world.events.length;
    const outcome = await runResume(s);
    expect(outcome.kind).toBe('incomplete');
    if (outcome.kind !== 'incomplete') return;
    const named = outcome.leftovers.map((l) => l.what).join('\n');
    for (const instance of serving) expect(named).toContain(instance.id);
    expect(named).toMatch(/one of the new instances; .*nothing was terminated/);
    expect(s.fakes.world.events.slice(before).filter((e) => e.type === 'instance.terminating')).toEqual([]);
    expect(serving.map((i) => i.state)).toEqual(serving.map(() => 'running'));
  });

  it("an old instance that no longer carries the deploy's replaced-by tag: exit 4, no old instance terminated", async () => {
    const s = stage('web');
    let stopped = false;
    const killed = await inProcess(s.fakes, (deps) => replace(s.spec, { deployId: DEPLOY_ID, dryRun: false }, deps, never()), {
      emit: (event, process) => {
        if (stopped || event.type !== 'phase.started' || event.phase !== 'terminate') return;
        stopped = true;
        process.kill(0);
      },
    });
    expect(killed.outcome).toBeUndefined();
    delete s.old[0]!.tags[TAG_REPLACED_BY];
    const outcome = await runResume(s);
    expect(outcome).toMatchObject({
      kind: 'incomplete',
      leftovers: [{ what: expect.stringContaining(`${s.old[0]!.id} carries ${TAG_REPLACED_BY}=(none), not ${DEPLOY_ID}`) }],
    });
    expect(oldTerminated(s)).toBe(0);
  });
});

describe("a rollback's drain", () => {
  it('does not wait on new instances AWS terminated', async () => {
    const s = stage('web');
    const verifying = (event: DeployEvent) => event.type === 'phase.started' && event.phase === 'verify';
    const waited: DeployEvent[] = [];
    const lose = loseNewAfter(s, verifying, 2);
    const outcome = await replaceWatching(s, (event) => {
      lose(event);
      if (event.type === 'waiting' && event.phase === 'rollback' && event.what === 'targets drained') waited.push(event);
    });
    expect(outcome).toMatchObject({ kind: 'rolled-back', reason: expect.stringMatching(/new instances alive/) });
    expect(waited).toEqual([]);
    expect(expectUntouched(s)).toEqual([]);
  });
});
