import { afterEach, describe, expect, it } from 'vitest';
import { type World, configYaml, startWorld } from './harness.js';
import { expectUntouched, live, roleInstances } from './expect.js';

let world: World;
afterEach(() => world?.close());

const noNewLeft = async (role: string, oldIds: string[]) => {
  const after = await world.state();
  const leaked = roleInstances(after, role).filter((i) => !oldIds.includes(i.id) && (i.state === 'running' || i.state === 'pending'));
  expect(leaked).toEqual([]);
  const launched = roleInstances(after, role).filter((i) => !oldIds.includes(i.id));
  expect(launched.length).toBeGreaterThan(0);
  const leakedHosts = after.hosts.filter((host) => !host.isRetired && launched.some((i) => host.customIdentifier?.startsWith(`${i.id}.`)));
  expect(leakedHosts).toEqual([]);
};

describe('rollback', () => {
  it('rolls back as soon as one new target stays unhealthy past the allowance (real child process): exit 3, old fleet untouched', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    await world.inject({ type: 'health-fail', count: 1 });
    const run = await world.spawn('replace', '--config', world.configPath, '--role', 'web');
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(
      /rolled back deploy \S+: healthy in the target groups: i-\w+ in reactio-web \(Target.FailedHealthChecks\) unhealthy for 1s/,
    );
    await expectUntouched(world, 'web', before);
    await noNewLeft(
      'web',
      live(before, 'web').running.map((i) => i.id),
    );
    const requests = await world.requests();
    expect(requests.some((r) => r.by === 'client' && r.action === 'TerminateInstances')).toBe(true);
    const group = (await world.state()).targetGroups[0]!;
    expect(group.minHealthy).toBeGreaterThanOrEqual(2);
  });

  it('rolls back when one new host never registers in Mackerel', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    await world.inject({ type: 'agent-silent', count: 1 });
    const run = await world.cli('replace', '--config', world.configPath, '--role', 'web');
    expect(run.code).toBe(3);
    // Target health counts as stable only while every new host is registered, so that gate may give up
    // first at the same deadline; either way the message names the instance that never registered.
    expect(run.stderr).toMatch(
      /(registered in Mackerel|healthy in the target groups): gave up after 3s; still waiting for i-\w+ \(not registered\)/,
    );
    await expectUntouched(world, 'web', before);
    await noNewLeft(
      'web',
      live(before, 'web').running.map((i) => i.id),
    );
  });

  it('rolls back a worker whose agent never registers', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    await world.inject({ type: 'agent-silent', count: 1 });
    const run = await world.cli('replace', '--config', world.configPath, '--role', 'worker');
    expect(run.code).toBe(3);
    await expectUntouched(world, 'worker', before);
    await noNewLeft(
      'worker',
      live(before, 'worker').running.map((i) => i.id),
    );
  });

  it('rolls back the other AZs when RunInstances fails in one AZ with InsufficientInstanceCapacity', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    await world.inject({ type: 'capacity', az: 'ap-northeast-1c' });
    const run = await world.cli('replace', '--config', world.configPath, '--role', 'web');
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/launch failed in ap-northeast-1c: EC2 RunInstances failed: InsufficientInstanceCapacity/);
    await expectUntouched(world, 'web', before);
    await noNewLeft(
      'web',
      live(before, 'web').running.map((i) => i.id),
    );
  });
});

describe('replace --canary', () => {
  it('a canary that fails rolls back the canary alone: no other AZ launched, the old fleet untouched (exit 3)', async () => {
    world = await startWorld(configYaml({ perAz: 2 }));
    const before = await world.state();
    await world.inject({ type: 'health-fail', count: 1 });
    const run = await world.cli('replace', '--config', world.configPath, '--role', 'web', '--canary', '1');
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/rolled back deploy \S+: healthy in the target groups: i-\w+ in reactio-web/);
    const oldIds = live(before, 'web').running.map((i) => i.id);
    const launched = roleInstances(await world.state(), 'web').filter((i) => !oldIds.includes(i.id));
    expect(launched.map((i) => i.az)).toEqual(['ap-northeast-1a']);
    expect(launched.map((i) => i.state)).toEqual([expect.stringMatching(/shutting-down|terminated/)]);
    await expectUntouched(world, 'web', before);
    const requests = await world.requests();
    expect(requests.filter((r) => r.by === 'client' && r.action === 'RunInstances' && r.mutating)).toHaveLength(1);
  });
});
