import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type World, configYaml, startWorld } from './harness.js';
import { deployIdOf, expectReplaced, expectUntouched, live, roleInstances } from './expect.js';
import { toolRequests } from './refusals.js';

let world: World;
afterEach(() => world?.close());

const launchedBy = async (deployId: string) =>
  roleInstances(await world.state(), 'web').filter((i) => i.tags['mackerel-replacer:deploy-id'] === deployId);

describe('crash and resume', () => {
  it('after kill -9 during verify, resume finishes the deploy without launching again', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    await world.inject({ type: 'agent-silent', count: 1 });
    const crashed = await world.spawnUntil(/verify \.\.\./, 'SIGKILL', 'replace', '--config', world.configPath, '--role', 'web');
    expect(crashed.signalled).toBe(true);
    const id = deployIdOf(crashed.stdout);
    // The silent agent would fail verification; let the new host appear, as a late agent would.
    const state = await world.state();
    const silent = (await launchedBy(id)).find((i) => !state.hosts.some((h) => h.customIdentifier?.startsWith(i.id)));
    if (silent) {
      await fetch(`${world.sandbox.url}/api/v0/hosts`, {
        method: 'POST',
        headers: { 'X-Api-Key': world.env.MACKEREL_APIKEY!, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          name: silent.id,
          customIdentifier: `${silent.id}.ec2.amazonaws.com`,
          meta: { cloud: { provider: 'ec2', metadata: { 'instance-id': silent.id } } },
          roleFullnames: ['reactio-staging:web'],
        }),
      }).then((r) => expect(r.ok).toBe(true));
      const host = (await world.state()).hosts.find((h) => h.customIdentifier?.startsWith(silent.id))!;
      await fetch(`${world.sandbox.url}/api/v0/hosts/${host.id}/status`, {
        method: 'POST',
        headers: { 'X-Api-Key': world.env.MACKEREL_APIKEY!, 'Content-Type': 'application/json' },
        body: JSON.stringify({ status: 'working' }),
      });
    }
    const since = (await world.requests()).length;
    const resumed = await world.spawn('resume', id, '--config', world.configPath);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    await expectReplaced(world, 'web', before, { 'ap-northeast-1a': 1, 'ap-northeast-1c': 1 });
    expect(await launchedBy(id)).toHaveLength(2);
    // The record holds both chunks' instances: resume re-observes them, it does not send RunInstances again.
    expect((await toolRequests(world, since)).filter((request) => request.action === 'RunInstances')).toEqual([]);
    const status = await world.spawn('status', id, '--config', world.configPath, '--json');
    expect(JSON.parse(status.stdout).record).toMatchObject({ status: 'replaced', step: 'done' });
  });

  it('after kill -9 during cutover, rollback restores the old fleet and removes the new one', async () => {
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
    const id = deployIdOf(crashed.stdout);
    const rolled = await world.spawn('rollback', id, '--config', world.configPath);
    expect(rolled.stderr).toBe('');
    expect(rolled.code).toBe(0);
    expect(rolled.stdout).toContain(`rolled back deploy ${id}`);
    await expectUntouched(world, 'web', before);
    expect((await launchedBy(id)).every((i) => i.state === 'terminated' || i.state === 'shutting-down')).toBe(true);
  });

  it('finds the deploy through its instances tags when the journal is gone', async () => {
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
    const id = deployIdOf(crashed.stdout);
    await rm(join(world.dir, 'journal'), { recursive: true });
    const blocked = await world.spawn('replace', '--config', world.configPath, '--role', 'web');
    expect(blocked.code).toBe(2);
    expect(blocked.stderr).toContain(`another deploy of staging/web is in flight: ${id}`);
    const rolled = await world.spawn('rollback', id, '--config', world.configPath, '--env', 'staging', '--role', 'web');
    expect(rolled.code).toBe(0);
    await expectUntouched(world, 'web', before);
  });

  it('refuses to roll back once old instances are terminated; resume finishes instead', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    const crashed = await world.spawnUntil(
      /terminated the old instances/,
      'SIGKILL',
      'replace',
      '--config',
      world.configPath,
      '--role',
      'web',
    );
    const id = deployIdOf(crashed.stdout);
    const refused = await world.spawn('rollback', id, '--config', world.configPath);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/can no longer be rolled back: old instances .* terminated/);
    expect(refused.stderr).toContain(`mackerel-replacer resume ${id}`);
    const resumed = await world.spawn('resume', id, '--config', world.configPath);
    expect(resumed.code).toBe(0);
    await expectReplaced(world, 'web', before, { 'ap-northeast-1a': 1, 'ap-northeast-1c': 1 });
  });
});

describe('one deploy per env and role', () => {
  it('refuses a second deploy while one is in flight, naming it; --force-unlock overrides a dead one', async () => {
    world = await startWorld(configYaml());
    const crashed = await world.spawnUntil(/launch \.\.\./, 'SIGKILL', 'replace', '--config', world.configPath, '--role', 'worker');
    const id = deployIdOf(crashed.stdout);
    const blocked = await world.spawn('replace', '--config', world.configPath, '--role', 'worker');
    expect(blocked.code).toBe(2);
    expect(blocked.stderr).toMatch(new RegExp(`in flight: ${id}, started \\S+ on \\S+:\\d+`));
    expect(blocked.stderr).toContain(`--force-unlock ${id}`);
    const other = await world.spawn('replace', '--config', world.configPath, '--role', 'web');
    expect(other.code).toBe(0);
    // Clean up the dead deploy's instances first, as the hint says, then force the lock.
    expect((await world.spawn('rollback', id, '--config', world.configPath)).code).toBe(0);
    const forced = await world.spawn('replace', '--config', world.configPath, '--role', 'worker', '--force-unlock', id);
    expect(forced.code).toBe(0);
  });
});

describe('signals', () => {
  it('SIGTERM during verify rolls back and exits 143', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    await world.inject({ type: 'agent-silent', count: 1 });
    const run = await world.spawnUntil(/verify \.\.\./, 'SIGTERM', 'replace', '--config', world.configPath, '--role', 'web');
    expect(run.code).toBe(143);
    expect(run.stderr).toMatch(/rolled back deploy \S+: interrupted by SIGTERM/);
    await expectUntouched(world, 'web', before);
    expect(live(await world.state(), 'web').running).toHaveLength(2);
  });

  it('SIGINT during cutover finishes the step, prints the resume command and exits 130; resume completes', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    const run = await world.spawnUntil(/deregistered the old targets/, 'SIGINT', 'replace', '--config', world.configPath, '--role', 'web');
    expect(run.code).toBe(130);
    const id = deployIdOf(run.stdout);
    expect(run.stderr).toContain(`mackerel-replacer resume ${id}`);
    const resumed = await world.spawn('resume', id, '--config', world.configPath);
    expect(resumed.code).toBe(0);
    await expectReplaced(world, 'web', before, { 'ap-northeast-1a': 1, 'ap-northeast-1c': 1 });
  });
});
