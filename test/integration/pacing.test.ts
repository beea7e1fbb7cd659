// A deploy larger than EC2's launch bucket, against the sandbox's bucket (burst 10, refilling 2
// per simulated second). The CLI's clock is real and the sandbox's 100 times faster, so the config
// tells the tool 100/s: it paces more slowly than the sandbox refills, as it must.
import { afterEach, describe, expect, it } from 'vitest';
import { expectReplaced } from './expect.js';
import { type World, configYaml, startWorld } from './harness.js';
import { editWorld } from './refusals.js';

let world: World;
afterEach(() => world?.close());

const BUCKET = { op: 'launch-bucket', burst: 10, refillPerSecond: 2 } as const;
const paced = (limits: string) => `limits: ${limits}\n${configYaml({ perAz: 13 })}`;
const runInstances = async () => (await world.requests()).filter((r) => r.action === 'RunInstances' && r.by === 'client' && r.mutating);

describe('launch pacing against the sandbox bucket', () => {
  it('26 instances under a bucket of 10: paced, no throttling reaches the operator', async () => {
    world = await startWorld(paced('{ launchBurst: 10, launchRefillPerSecond: 100 }'));
    await editWorld(world, BUCKET);
    const before = await world.state();
    const run = await world.spawn('replace', '--config', world.configPath, '--role', 'worker');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("launch: 10 of 26 launched; the rest as EC2's launch bucket refills (100/s), about 0s");
    expect(run.stdout).toContain('launch: 20 of 26 launched');
    expect(run.stdout).not.toMatch(/RequestLimitExceeded|warning/);
    const calls = await runInstances();
    expect(calls.filter((call) => call.status !== 200)).toEqual([]);
    expect(calls).toHaveLength(6);
    await expectReplaced(world, 'worker', before, { 'ap-northeast-1a': 13, 'ap-northeast-1c': 13 });
  });

  it('the same deploy told the default bucket collides with it, and rolls back', async () => {
    world = await startWorld(paced('{}'));
    await editWorld(world, BUCKET);
    const run = await world.spawn('replace', '--config', world.configPath, '--role', 'worker');
    expect(run.code).toBe(3);
    expect(run.stdout + run.stderr).toContain('RequestLimitExceeded');
    expect((await runInstances()).some((call) => call.status === 503)).toBe(true);
  });

  it('a kill while pacing, then resume: replaced with exactly the plan', async () => {
    world = await startWorld(paced('{ launchBurst: 10, launchRefillPerSecond: 100 }'));
    await editWorld(world, BUCKET);
    const before = await world.state();
    const crashed = await world.spawnUntil(
      /launch: 10 of 26 launched/,
      'SIGKILL',
      'replace',
      '--config',
      world.configPath,
      '--role',
      'worker',
    );
    expect(crashed.signalled).toBe(true);
    const id = /deploy (\d{8}-\d{6}-[0-9a-f]{4})/.exec(crashed.stdout)![1]!;
    const resumed = await world.spawn('resume', id, '--config', world.configPath, '--env', 'staging', '--role', 'worker');
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect((await runInstances()).filter((call) => call.status !== 200)).toEqual([]);
    await expectReplaced(world, 'worker', before, { 'ap-northeast-1a': 13, 'ap-northeast-1c': 13 });
  });
});
