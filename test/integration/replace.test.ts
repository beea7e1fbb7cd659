import { execFile } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, TG_ARN, type World, configYaml, startWorld } from './harness.js';
import { expectReplaced } from './expect.js';

let world: World;
afterEach(() => world?.close());

describe('replace, web mode', () => {
  it('replaces 2 AZs x 1 as a real child process: the target group holds exactly the new instances, all healthy', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    const run = await world.spawn('replace', '--config', world.configPath, '--role', 'web');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/replaced: deploy \S+/);
    const { after, newIds } = await expectReplaced(world, 'web', before, { 'ap-northeast-1a': 1, 'ap-northeast-1c': 1 });
    const group = after.targetGroups.find((g) => g.arn === TG_ARN)!;
    const registered = group.targets.filter((t) => t.state !== 'unused');
    expect(registered.map((t) => t.id).sort()).toEqual(newIds);
    expect(registered.every((t) => t.state === 'healthy')).toBe(true);
    expect(group.minHealthy).toBeGreaterThanOrEqual(2);
    for (const id of newIds) expect(run.stdout).toContain(id);
    expect(after.annotations).toHaveLength(1);
  });

  it('replaces 3 AZs x 2, launching every AZ', async () => {
    world = await startWorld(configYaml({ subnets: ['subnet-0aaa1111', 'subnet-0ccc3333', 'subnet-0ddd4444'], perAz: 2 }));
    const before = await world.state();
    const run = await world.cli('replace', '--config', world.configPath, '--env', 'staging', '--role', 'web');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const { after } = await expectReplaced(world, 'web', before, {
      'ap-northeast-1a': 2,
      'ap-northeast-1c': 2,
      'ap-northeast-1d': 2,
    });
    const group = after.targetGroups.find((g) => g.arn === TG_ARN)!;
    expect(group.minHealthy).toBeGreaterThanOrEqual(6);
    const launches = (await world.requests()).filter((r) => r.by === 'client' && r.action === 'RunInstances' && r.mutating);
    expect(launches).toHaveLength(3);
  });
});

describe('replace, worker mode', () => {
  it('makes no ELB request and terminates nothing old before every new host registered in Mackerel', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    const run = await world.spawn('replace', '--config', world.configPath, '--role', 'worker');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const { after, newIds, oldIds } = await expectReplaced(world, 'worker', before, { 'ap-northeast-1a': 1, 'ap-northeast-1c': 1 });
    const requests = await world.requests();
    expect(requests.filter((r) => r.by === 'client' && r.api === 'elbv2')).toEqual([]);
    const events = await world.events();
    const hostOf = new Map(after.hosts.map((host) => [host.id, host.customIdentifier?.split('.')[0]]));
    const registeredAt = newIds.map((id) => events.find((e) => e.type === 'host.registered' && hostOf.get(e.hostId!) === id)!.t);
    const firstOldKill = Math.min(
      ...events.filter((e) => e.type === 'instance.terminating' && oldIds.includes(e.instanceId!)).map((e) => e.t),
    );
    expect(registeredAt).toHaveLength(2);
    expect(Math.max(...registeredAt)).toBeLessThan(firstOldKill);
  });
});

describe('start-up lines', () => {
  it("prints the version, and on Node 20 one line of its own instead of the AWS SDK's nine-line warning", async () => {
    world = await startWorld(configYaml());
    const version = await world.spawn('--version');
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    // Without the harness's NODE_NO_WARNINGS=1: what an operator's terminal shows.
    const stderr = await new Promise<string>((resolve) =>
      execFile(
        process.execPath,
        [BIN, 'plan', '--config', world.configPath, '--role', 'web'],
        { env: { PATH: process.env.PATH, ...world.env } },
        (_, __, err) => resolve(err),
      ),
    );
    expect(stderr).not.toContain('NodeVersionSupportWarning');
    const node20 = Number(process.versions.node.split('.')[0]) < 22;
    expect(stderr.split('\n').filter((line) => line.startsWith('warning: Node v'))).toHaveLength(node20 ? 1 : 0);
  });
});
