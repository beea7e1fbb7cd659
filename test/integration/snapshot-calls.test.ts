// The snapshot against the sandbox: the role's ownership listing describes a tagged fleet, so the
// plan asks EC2 as often for 300 old instances as for 2 (the sandbox's request log).
import { afterEach, describe, expect, it } from 'vitest';
import { type World, configYaml, startWorld } from './harness.js';

let world: World;
afterEach(() => world?.close());

/** The plan of a worker role of `perAz` instances in each of 2 AZs: its exit code and DescribeInstances calls. */
const planCalls = async (perAz: number) => {
  await world?.close();
  // Only the worker's fleet grows.
  world = await startWorld(configYaml({ worker: '        maxInstances: 1000' }).replace(/(worker:[\s\S]*perAz: )1/, `$1${perAz}`));
  const run = await world.cli('plan', '--config', world.configPath, '--role', 'worker');
  const requests = (await world.requests()).filter((request) => request.by === 'client');
  return { code: run.code, stderr: run.stderr, describes: requests.filter((request) => request.action === 'DescribeInstances').length };
};

describe('snapshot (sandbox)', () => {
  it('describes an old fleet that carries the ownership tag by its listing: no call per 100 ids', async () => {
    const small = await planCalls(1);
    expect(small.code, small.stderr).toBe(0);
    const large = await planCalls(150);
    expect(large.code, large.stderr).toBe(0);
    expect(large.describes).toBe(small.describes);
  });
});
