// The bench's critical path from a sandbox event log: launches paced by the bucket count from when
// the bucket could have let each one out, not as the slowest instance plus the whole refill.
import { describe, expect, it } from 'vitest';
import { criticalPath } from '../../scripts/bench/measure.js';
import type { SimHost, WorldEvent } from '../../src/sandbox/world.js';

/** An instance launched at `launchedAt` that runs `boot` ms later and registers its host `register` ms after that. */
const instance = (n: number, launchedAt: number, boot: number, register: number) => ({
  events: [
    { t: launchedAt, type: 'instance.launched', instanceId: `i-${n}` },
    { t: launchedAt + boot, type: 'instance.running', instanceId: `i-${n}` },
    { t: launchedAt + boot + register, type: 'host.registered', hostId: `h-${n}` },
  ] as WorldEvent[],
  host: { id: `h-${n}`, customIdentifier: `i-${n}.ec2.amazonaws.com` } as SimHost,
});

const worker = (instances: ReturnType<typeof instance>[]) =>
  criticalPath({
    events: instances.flatMap((i) => i.events),
    hosts: instances.map((i) => i.host),
    drainSimMs: undefined,
    stableForMs: 300,
    timeScale: 1,
    limits: { launchBurst: 2, launchRefillPerSecond: 1 },
  });

describe('criticalPath', () => {
  it('starts each launch past the burst when the bucket refilled for it, and takes the latest ready', () => {
    // The slowest instance is in the burst; the last, launched 2 s after the first, is quick.
    const path = worker([
      instance(1, 0, 4_000, 6_000),
      instance(2, 0, 4_000, 1_000),
      instance(3, 1_500, 2_000, 1_000),
      instance(4, 2_500, 2_000, 1_000),
    ]);
    expect(path).toMatchObject({ slowestInstanceMs: 10_000, refillMs: 2_000, readyMs: 10_000, totalMs: 10_000 });
  });

  it('is the last launch’s refill plus its own boot and registration when that comes later', () => {
    const path = worker([
      instance(1, 0, 2_000, 1_000),
      instance(2, 0, 2_000, 1_000),
      instance(3, 1_500, 2_000, 1_000),
      instance(4, 2_500, 2_500, 1_000),
    ]);
    expect(path).toMatchObject({ slowestInstanceMs: 3_500, refillMs: 2_000, readyMs: 5_500, totalMs: 5_500 });
  });
});
