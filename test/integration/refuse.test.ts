import { afterEach, describe, expect, it } from 'vitest';
import { API_KEY, type World, configYaml, startWorld } from './harness.js';
import { expectUntouched } from './expect.js';

let world: World;
afterEach(() => world?.close());

const mutatingByTool = async () => (await world.requests()).filter((r) => r.by === 'client' && r.mutating);

describe('refusals: exit 2 and nothing changes', () => {
  it('plan prints the plan and makes no mutating request', async () => {
    world = await startWorld(configYaml());
    const run = await world.cli('plan', '--config', world.configPath, '--role', 'web');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/plan for deploy .* \(nothing was changed\)/);
    expect(run.stdout).toMatch(/new: 1 x t3\.small in subnet-0aaa1111/);
    expect(await mutatingByTool()).toEqual([]);
  });

  it('refuses when a Mackerel host of the role has no instance in EC2, before any RunInstances', async () => {
    world = await startWorld(configYaml());
    const stale = 'i-0deadbeef0000000';
    const created = await fetch(`${world.sandbox.url}/api/v0/hosts`, {
      method: 'POST',
      headers: { 'X-Api-Key': API_KEY, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        name: 'ip-10-0-9-9',
        customIdentifier: `${stale}.ec2.amazonaws.com`,
        meta: { cloud: { provider: 'ec2', metadata: { 'instance-id': stale } } },
        roleFullnames: ['reactio-staging:web'],
      }),
    });
    expect(created.ok).toBe(true);
    const before = await world.state();
    const seen = (await world.requests()).length;
    const run = await world.cli('replace', '--config', world.configPath, '--role', 'web');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`instance ${stale} does not exist in EC2`);
    expect(run.stderr).toContain('nothing was changed');
    const during = (await world.requests()).slice(seen);
    expect(during.some((r) => r.action === 'RunInstances')).toBe(false);
    expect(during.filter((r) => r.by === 'client' && r.mutating)).toEqual([]);
    await expectUntouched(world, 'web', before);
  });

  it('refuses a rejected API key, saying so', async () => {
    world = await startWorld(configYaml());
    process.env.MACKEREL_APIKEY = 'not-the-key';
    try {
      const run = await world.cli('replace', '--config', world.configPath, '--role', 'web');
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/401.*\n.*API key was rejected/);
      expect(await mutatingByTool()).toEqual([]);
    } finally {
      process.env.MACKEREL_APIKEY = API_KEY;
    }
  });

  it('refuses an unknown role, listing the known ones', async () => {
    world = await startWorld(configYaml());
    const run = await world.cli('replace', '--config', world.configPath, '--role', 'wbe');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/web.*worker/);
    expect(await mutatingByTool()).toEqual([]);
  });
});
