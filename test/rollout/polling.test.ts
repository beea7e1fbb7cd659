// Polling that does not grow with the fleet: the calls the engine makes while it waits, counted by
// port method and phase over the in-memory fakes (deterministic timing, so the same schedule of
// looks at every size).
import { describe, expect, it } from 'vitest';
import type { Deps } from '../../src/rollout/context.js';
import { replace } from '../../src/rollout/deploy.js';
import type { Phase } from '../../src/rollout/events.js';
import { DEPLOY_ID, expectReplaced, inProcess, launched, stage } from './fakes.js';

/**
 * The ports of `deps`, each call logged as `<phase> <port>.<method>` before it reaches the fake,
 * and the requests the fakes' transport served (pages, chunks) counted by phase.
 */
const logged = (deps: Deps, calls: string[], requests: Map<string, number>, served: () => number): Deps => {
  let phase: Phase | 'preflight' = 'preflight';
  let since = served();
  const wrap = <T extends object>(name: string, port: T): T =>
    new Proxy(port, {
      get: (target, key) => {
        const value: unknown = Reflect.get(target, key);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          calls.push(`${phase} ${name}.${String(key)}`);
          return value.apply(target, args);
        };
      },
    });
  return {
    ...deps,
    fleet: wrap('fleet', deps.fleet),
    balancer: wrap('balancer', deps.balancer),
    monitor: wrap('monitor', deps.monitor),
    emit: (event) => {
      if (event.type === 'phase.started' || event.type === 'phase.done') {
        requests.set(phase, (requests.get(phase) ?? 0) + served() - since);
        since = served();
        phase = event.type === 'phase.started' ? event.phase : 'preflight';
      }
      deps.emit(event);
    },
  };
};

/** Replaces a fleet of `perAz` per AZ (2 AZs) with as many, and counts the calls made in `phase`, by method. */
const callsIn = async (role: 'web' | 'worker', perAz: number, phase: Phase) => {
  const s = stage(role, { oldPerAz: perAz, spec: { perAz, maxInstances: 5000 } });
  const calls: string[] = [];
  const requests = new Map<string, number>();
  const served = () => s.fakes.world.stats.requests;
  const options = { deployId: DEPLOY_ID, dryRun: false };
  const run = (deps: Deps) => replace(s.spec, options, logged(deps, calls, requests, served), new AbortController().signal);
  const { outcome } = await inProcess(s.fakes, run);
  expect(outcome?.kind).toBe('replaced');
  expect(expectReplaced(s, 2 * perAz)).toEqual([]);
  const counts: Record<string, number> = {};
  for (const call of calls.filter((c) => c.startsWith(`${phase} `))) counts[call] = (counts[call] ?? 0) + 1;
  return { counts, requests: requests.get(phase), s };
};

describe('polling does not grow with the fleet', () => {
  it('verify makes the same calls, by method, at 2 and at 2,000 instances, and none per instance', async () => {
    const small = await callsIn('worker', 1, 'verify');
    const large = await callsIn('worker', 1000, 'verify');
    expect(large.counts).toEqual(small.counts);
    expect(large.requests).toBe(small.requests);
    // One Mackerel listing and one EC2 page per look: no describe by id, no lookup by customIdentifier.
    for (const method of Object.keys(small.counts)) {
      expect(['verify fleet.findByTag', 'verify monitor.everyHost', 'verify monitor.hosts']).toContain(method);
    }
    expect(small.requests).toBe(Object.values(small.counts).reduce((sum, n) => sum + n, 0));
  }, 60_000);

  it('in web mode one DescribeTargetHealth per group per look, the same at 2 and at 400 instances', async () => {
    const small = await callsIn('web', 1, 'verify');
    const large = await callsIn('web', 200, 'verify');
    expect(large.counts).toEqual(small.counts);
    expect(large.requests).toBe(small.requests);
    expect(small.counts['verify balancer.health']).toBeGreaterThan(0);
    // Draining the old fleet waits on the same group calls.
    const drainSmall = await callsIn('web', 1, 'cutover');
    const drainLarge = await callsIn('web', 200, 'cutover');
    expect(drainLarge.counts['cutover balancer.health']).toBe(drainSmall.counts['cutover balancer.health']);
  }, 60_000);

  it('every launch of an unpaced deploy is issued before the first new instance boots', async () => {
    const { s } = await callsIn('worker', 500, 'launch');
    const ids = new Set(launched(s).map((i) => i.id));
    const events = s.fakes.world.events.filter((e) => e.instanceId !== undefined && ids.has(e.instanceId));
    const lastLaunched = events.findLastIndex((e) => e.type === 'instance.launched');
    const firstRunning = events.findIndex((e) => e.type === 'instance.running');
    expect(lastLaunched).toBeGreaterThan(0);
    expect(lastLaunched).toBeLessThan(firstRunning);
  }, 60_000);
});
