// The Mackerel gates in the engine over the in-memory fakes (deterministic clock): which calls a
// look makes, and the stable period a worker gets once it has a gate.
import { describe, expect, it } from 'vitest';
import type { Deps } from '../../src/rollout/context.js';
import { replace } from '../../src/rollout/deploy.js';
import type { DeployEvent } from '../../src/rollout/events.js';
import type { RoleSpec } from '../../src/rollout/spec.js';
import { DEPLOY_ID, inProcess, stage } from './fakes.js';

const gates: RoleSpec['gates'] = { metrics: { name: 'loadavg5', maxAge: 180_000 }, alerts: { statuses: ['CRITICAL'] } };

/** Replaces a worker fleet of `perAz` per AZ, counting the verify phase's Monitor calls and the requests they made. */
const verifyOf = async (perAz: number, spec: Partial<RoleSpec>) => {
  const s = stage('worker', { oldPerAz: perAz, spec: { perAz, maxInstances: 5000, ...spec } });
  const calls: Record<string, number> = {};
  let verifyMs = 0;
  let inVerify = false;
  const count = (deps: Deps): Deps => ({
    ...deps,
    monitor: {
      ...deps.monitor,
      latestMetrics: (...args) => {
        if (inVerify) calls.latestMetrics = (calls.latestMetrics ?? 0) + 1;
        return deps.monitor.latestMetrics(...args);
      },
      openAlerts: (...args) => {
        if (inVerify) calls.openAlerts = (calls.openAlerts ?? 0) + 1;
        return deps.monitor.openAlerts(...args);
      },
    },
  });
  const emit = (event: DeployEvent) => {
    if (event.type === 'phase.started') inVerify = event.phase === 'verify';
    if (event.type === 'phase.done' && event.phase === 'verify') verifyMs = event.ms;
  };
  const run = (deps: Deps) => replace(s.spec, { deployId: DEPLOY_ID, dryRun: false }, count(deps), new AbortController().signal);
  const { outcome } = await inProcess(s.fakes, run, { emit });
  expect(outcome?.kind).toBe('replaced');
  return { calls, verifyMs };
};

describe('Mackerel gates in the engine', () => {
  it('each look is one metrics read and one alerts read, whatever the fleet size', async () => {
    const small = await verifyOf(1, { gates });
    const large = await verifyOf(150, { gates });
    expect(small.calls.latestMetrics).toBeGreaterThan(0);
    expect(small.calls.openAlerts).toBe(small.calls.latestMetrics);
    expect(large.calls).toEqual(small.calls);
  }, 60_000);

  it('a worker with a gate is held for stableFor; without gates it passes as soon as its hosts are registered', async () => {
    const gated = await verifyOf(1, { gates: { alerts: { statuses: ['CRITICAL'] } }, stableFor: 30_000 });
    const plain = await verifyOf(1, { stableFor: 30_000 });
    expect(gated.verifyMs).toBeGreaterThanOrEqual(30_000);
    expect(plain.verifyMs).toBeLessThan(30_000);
    expect(plain.calls).toEqual({});
  }, 60_000);
});
