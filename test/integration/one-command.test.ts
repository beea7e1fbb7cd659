// One command works on a deploy at a time: two real CLI processes on the same deploy, the second
// started while the first works, as two operators or a re-triggered job would.
import { afterEach, expect, it } from 'vitest';
import { deployIdOf, expectUntouched } from './expect.js';
import { type World, configYaml, startWorld } from './harness.js';

let world: World;
afterEach(() => world?.close());

const holderMessage = (command: string, deployId: string) =>
  new RegExp(`deploy ${deployId} is being worked on by ${command} on \\S+:\\d+ since \\S+Z`);

it('a deploy killed during the drain: rollback restores it, and a resume started meanwhile is refused (exit 2)', async () => {
  world = await startWorld(configYaml());
  const before = await world.state();
  const crashed = await world.spawnUntil(
    /deregistered the old targets/,
    'SIGKILL',
    'replace',
    '--config',
    world.configPath,
    '--role',
    'web',
  );
  const deployId = deployIdOf(crashed.stdout);
  // Slow health checks keep the rollback restoring the old targets while the resume starts.
  await world.inject({ type: 'stall', api: 'elbv2', action: 'DescribeTargetHealth', count: 4, ms: 1500 });
  const rollback = world.start('rollback', deployId, '--config', world.configPath);
  await rollback.printed(/restore \.\.\./);
  const resumed = await world.spawn('resume', deployId, '--config', world.configPath);
  expect(resumed.stderr).toMatch(holderMessage('rollback', deployId));
  expect(resumed.code).toBe(2);
  const rolled = await rollback.done;
  expect(rolled.stderr).toBe('');
  expect(rolled.code).toBe(0);
  await expectUntouched(world, 'web', before);
  const status = await world.spawn('status', '--config', world.configPath);
  expect(status.stdout).toMatch(new RegExp(`${deployId}  staging/web  rolled-back`));
});

it("a kept deploy's rollback restoring the old fleet: finish started meanwhile is refused, and the old fleet serves", async () => {
  world = await startWorld(configYaml());
  const before = await world.state();
  const kept = await world.cli('replace', '--config', world.configPath, '--role', 'web', '--keep-old', '30m');
  expect(kept.code).toBe(0);
  const deployId = deployIdOf(kept.stdout);
  await world.inject({ type: 'stall', api: 'elbv2', action: 'DescribeTargetHealth', count: 4, ms: 1500 });
  const rollback = world.start('rollback', deployId, '--config', world.configPath);
  await rollback.printed(/restore \.\.\./);
  const status = await world.spawn('status', '--config', world.configPath);
  expect(status.stdout).toMatch(new RegExp(`${deployId} .* worked on by rollback on \\S+:\\d+ since \\S+Z`));
  const finished = await world.spawn('finish', deployId, '--config', world.configPath);
  expect(finished.stderr).toMatch(holderMessage('rollback', deployId));
  expect(finished.code).toBe(2);
  expect((await rollback.done).code).toBe(0);
  await expectUntouched(world, 'web', before);
});
