// The Monitor's gate reads over the in-memory world: a registered host's agent posts its metrics
// while its instance runs (stamped with the last whole minute, as the agent posts once a minute),
// and the world raises no alerts.
import type { MetricValue, Monitor } from '../../../src/rollout/ports.js';
import { chunk } from './ec2.js';
import { type Conduit, send } from './transport.js';

const PER_REQUEST = 100;
const MINUTE = 60_000;

export const createGateReads = (c: Conduit): Pick<Monitor, 'latestMetrics' | 'openAlerts'> => {
  const { world } = c;
  const latest = (hostIds: readonly string[], now: number): [string, MetricValue][] =>
    hostIds.flatMap((id) => {
      const host = world.hosts.get(id);
      const instance = host?.instanceId === undefined ? undefined : world.instances.get(host.instanceId);
      return instance?.state === 'running' ? [[id, { time: Math.floor(now / MINUTE) * MINUTE, value: 0.1 }]] : [];
    });
  return {
    latestMetrics: async (hostIds, _metric, call) => {
      const pages = await Promise.all(
        chunk(hostIds, PER_REQUEST).map((ids) =>
          send(c, 'mackerel', 'GET /api/v0/tsdb/latest', () => latest(ids, world.clock.now()), call.signal),
        ),
      );
      return new Map(pages.flat());
    },
    openAlerts: (call) => send(c, 'mackerel', 'GET /api/v0/alerts', () => [], call.signal),
  };
};
