import type { SimMetricValue, World } from './world.js';

export interface PostedValue {
  readonly hostId: string;
  readonly name: string;
  /** Epoch seconds. */
  readonly time: number;
  readonly value: number;
}

/** POST /api/v0/tsdb: keeps the newest value of each host's metric. */
export const storeMetrics = (world: World, values: readonly PostedValue[]): void => {
  for (const { hostId, name, time, value } of values) {
    const metrics = world.metrics.get(hostId) ?? new Map<string, SimMetricValue>();
    world.metrics.set(hostId, metrics);
    const known = metrics.get(name);
    if (known === undefined || known.time <= time) metrics.set(name, { time, value });
  }
};

/** GET /api/v0/tsdb/latest: a metric never posted is null (the API may omit it or send null; null breaks more clients). */
export const latestMetrics = (
  world: World,
  hostIds: readonly string[],
  names: readonly string[],
): Record<string, Record<string, SimMetricValue | null>> =>
  Object.fromEntries(
    hostIds.map((hostId) => [hostId, Object.fromEntries(names.map((name) => [name, world.metrics.get(hostId)?.get(name) ?? null]))]),
  );
