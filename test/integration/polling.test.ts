// Polling against the sandbox: while the tool verifies, it asks only for the hosts listing and the
// deploy's lost instances (one EC2 page), at 3 instances and at 2,001 alike (the sandbox's request
// log, by operation). test/rollout/polling.test.ts counts the calls per look exactly.
import { afterEach, describe, expect, it } from 'vitest';
import { type RequestRecord, type World, configYaml, startWorld } from './harness.js';
import { editWorld } from './refusals.js';

let world: World;
afterEach(() => world?.close());

const SUBNETS = ['subnet-0aaa1111', 'subnet-0ccc3333', 'subnet-0ddd4444'];
const BURST = 2100;

/** The tool's requests from its first hosts listing after the last launch to its first change after that: verification. */
const verifyWindow = (requests: readonly RequestRecord[]): RequestRecord[] => {
  const client = requests.filter((r) => r.by === 'client');
  const lastLaunch = client.findLastIndex((r) => r.action === 'RunInstances');
  const start = client.findIndex((r, i) => i > lastLaunch && r.action === 'GET /api/v0/hosts');
  const end = client.findIndex((r, i) => i > start && r.mutating);
  return client.slice(start, end);
};

/** Replaces a worker fleet of `perAz` per AZ (3 AZs) and returns what the tool asked while verifying. */
const verifyRequests = async (perAz: number) => {
  // The web role stays at one per AZ: only the worker's fleet grows.
  // Launch pacing is not what this test is about: the bucket, in the tool and the sandbox, holds the whole fleet.
  const yaml = `limits: { launchBurst: ${BURST} }\n${configYaml({ subnets: SUBNETS, worker: '        maxInstances: 5000' })}`
    .replaceAll('verify: 3s', 'verify: 60s')
    .replace(/(worker:[\s\S]*perAz: )1/, `$1${perAz}`);
  await world?.close();
  world = await startWorld(yaml);
  // Nor the vCPU quota: 2,001 old and 2,001 new t3.small need about 8,000 vCPUs, a quota AWS raises on request.
  await editWorld(world, { op: 'launch-bucket', burst: BURST, refillPerSecond: 2 }, { op: 'vcpu-quota', limit: 10_000 });
  const run = await world.cli('replace', '--config', world.configPath, '--role', 'worker');
  expect(run.code, run.stderr).toBe(0);
  const window = verifyWindow(await world.requests());
  const count = (action: string) => window.filter((r) => r.action === action).length;
  return { actions: new Set(window.map((r) => r.action)), listings: count('GET /api/v0/hosts'), pages: count('DescribeInstances') };
};

describe('polling does not grow with the fleet (sandbox)', () => {
  it('verification asks only for the hosts listing and one EC2 page per look, at 3 and at 2,001 instances', async () => {
    for (const perAz of [1, 667]) {
      const seen = await verifyRequests(perAz);
      for (const action of seen.actions) expect(['DescribeInstances', 'GET /api/v0/hosts']).toContain(action);
      expect(seen.listings).toBeGreaterThan(0);
      // The two gates look about as often; a describe by ids would send 21 pages a look at 2,001.
      expect(seen.pages).toBeLessThanOrEqual(3 * seen.listings);
    }
  }, 120_000);
});
