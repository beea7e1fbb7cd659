// Whole deploys through the engine (replace → drive) against the in-memory fakes, on the fake
// clock: what the record and the world look like at the end, and what happened on the way.
import { describe, expect, it } from 'vitest';
import { replace } from '../../src/rollout/deploy.js';
import { DEPLOY_ID, TG, TG2, capacityDips, expectReplaced, inProcess, launched, recordOf, runReplace, stage } from './fakes.js';

describe('replace: a good deploy', () => {
  it('web: launches, verifies, cuts over, terminates and retires; the record says replaced', async () => {
    const s = stage('web', { oldPerAz: 2, spec: { perAz: 'match' } });
    const t0 = s.fakes.clock.now();
    const outcome = await runReplace(s, {});
    expect(outcome.kind).toBe('replaced');
    expect(expectReplaced(s, 4)).toEqual([]);
    expect(capacityDips(s)).toEqual([]);
    const record = recordOf(s)!;
    expect(record).toMatchObject({ status: 'replaced', step: 'done', cutoverBegun: true, leftovers: [], registeredGroups: [TG] });
    expect(record.terminated.toSorted()).toEqual(s.old.map((i) => i.id).toSorted());
    expect(Object.values(record.launched).flat().toSorted()).toEqual(
      launched(s)
        .map((i) => i.id)
        .toSorted(),
    );
    // Boot 20 s, agent 10 s, health checks, stableFor 30 s, drain 30 s: minutes of AWS time, none of it real.
    expect(s.fakes.clock.now() - t0).toBeGreaterThan(60_000);
    if (outcome.kind === 'replaced') expect(outcome.summary.newImageId).toBe(s.newImage.id);
  });

  it('worker: Mackerel registration is the only gate; no target group is touched', async () => {
    const s = stage('worker', { spec: { perAz: 2 } });
    expect((await runReplace(s)).kind).toBe('replaced');
    expect(expectReplaced(s, 4)).toEqual([]);
    expect(s.fakes.world.events.some((e) => e.type.startsWith('target.'))).toBe(false);
    expect(recordOf(s)!.registeredGroups).toEqual([]);
  });

  it('web with two target groups: every new target healthy in both before any old one is deregistered', async () => {
    const s = stage('web', { spec: { targetGroups: [TG, TG2] } });
    expect((await runReplace(s)).kind).toBe('replaced');
    expect(expectReplaced(s, 2)).toEqual([]);
    const events = s.fakes.world.events;
    const firstDeregistered = events.findIndex((e) => e.type === 'target.deregistered');
    const healthy = events.slice(0, firstDeregistered).filter((e) => e.type === 'target.healthy');
    expect(healthy.map((e) => `${e.instanceId} ${e.targetGroupArn}`).toSorted()).toEqual(
      launched(s)
        .flatMap((i) => [`${i.id} ${TG}`, `${i.id} ${TG2}`])
        .toSorted(),
    );
    expect(capacityDips(s)).toEqual([]);
  });

  it('sets the new hosts working before the old ones go to maintenance, and only then touches the old fleet', async () => {
    const s = stage('web');
    await runReplace(s);
    const { events, hosts } = s.fakes.world;
    const newHosts = new Set(
      [...hosts.values()].filter((h) => launched(s).some((i) => h.customIdentifier?.startsWith(i.id))).map((h) => h.id),
    );
    const lastWorking = events.findLastIndex((e) => e.type === 'host.status' && e.status === 'working' && newHosts.has(e.hostId!));
    const firstMaintenance = events.findIndex((e) => e.type === 'host.status' && e.status === 'maintenance');
    const old = new Set(s.old.map((i) => i.id));
    const firstOldTouched = events.findIndex(
      (e) => old.has(e.instanceId ?? '') && (e.type === 'target.deregistered' || e.type === 'instance.terminating'),
    );
    expect(lastWorking).toBeGreaterThanOrEqual(0);
    expect(lastWorking).toBeLessThan(firstMaintenance);
    expect(firstMaintenance).toBeLessThan(firstOldTouched);
  });

  it("newHostStatus keep: the new hosts stay in the organization's starting status", async () => {
    const s = stage('worker', { spec: { newHostStatus: 'keep' } });
    expect((await runReplace(s)).kind).toBe('replaced');
    const fresh = launched(s).map((i) => [...s.fakes.world.hosts.values()].find((h) => h.customIdentifier?.startsWith(i.id))!);
    expect(fresh.map((h) => h.status)).toEqual(['standby', 'standby']);
  });

  it('writes the graph annotation for the role', async () => {
    const s = stage('web');
    await runReplace(s);
    expect(s.fakes.world.annotations).toEqual([
      expect.objectContaining({ service: 'reactio', roles: ['web'], title: expect.stringContaining(`-> ${s.newImage.id}`) }),
    ]);
  });

  it('terminates only the snapshot: an instance carrying the role tag but no host is left running', async () => {
    const s = stage('web');
    const { world } = s.fakes;
    const stray = { ...s.old[0]!, id: 'i-0stray00000000001', tags: { ...s.old[0]!.tags }, state: 'running' as const };
    world.instances.set(stray.id, stray);
    const outcome = await runReplace(s);
    expect(outcome.kind).toBe('replaced');
    expect(stray.state).toBe('running');
    expect(recordOf(s)!.terminated).not.toContain(stray.id);
    expect(
      world.events
        .filter((e) => e.type === 'instance.terminating')
        .map((e) => e.instanceId)
        .toSorted(),
    ).toEqual(s.old.map((i) => i.id).toSorted());
  });

  it('a second deploy of the same role is refused while the first is in flight, and changes nothing', async () => {
    const s = stage('web');
    // The first deploy's process dies during verification: its record says running, its instances are in flight.
    await inProcess(s.fakes, (deps) => replace(s.spec, { deployId: DEPLOY_ID, dryRun: false }, deps, new AbortController().signal), {
      emit: (event, process) => {
        if (event.type === 'phase.started' && event.phase === 'verify') process.kill();
      },
    });
    const before = s.fakes.state();
    const second = inProcess(s.fakes, (deps) =>
      replace(s.spec, { deployId: '20261123-070000-0c0d', dryRun: false }, deps, new AbortController().signal),
    );
    await expect(second).rejects.toThrow(/another deploy of production\/web is in flight: 20261123-063600-0a0b/);
    expect(s.fakes.state()).toEqual(before);
    expect(recordOf(s, '20261123-070000-0c0d')).toBeUndefined();
  });

  it('once the first deploy is done, the next one replaces its fleet', async () => {
    const s = stage('web');
    expect((await runReplace(s)).kind).toBe('replaced');
    const first = launched(s);
    expect((await runReplace(s, { deployId: '20261123-070000-0c0d' })).kind).toBe('replaced');
    expect(recordOf(s, '20261123-070000-0c0d')!.terminated.toSorted()).toEqual(first.map((i) => i.id).toSorted());
    expect(first.map((i) => i.state)).toEqual(['shutting-down', 'shutting-down']);
    expect(capacityDips(s)).toEqual([]);
  });
});
