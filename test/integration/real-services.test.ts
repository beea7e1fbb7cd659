// The tool against the sandbox where it behaves as the real services do: a default mackerel-agent
// registers hosts in standby, takes its roles only from its config, and can be misconfigured;
// load balancers, deregistration delays, target quotas and EC2's tag limits are real.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deployIdOf, expectReplaced, expectUntouched, live, roleInstances } from './expect.js';
import { TG_ARN, type World, configYaml, startWorld } from './harness.js';
import { editWorld, expectRefused } from './refusals.js';

let world: World;
afterEach(() => world?.close());

const newestImageOf = async (role: string) =>
  (await world.state()).images.filter((image) => image.name.startsWith(`reactio-${role}-`)).sort((a, b) => (a.name < b.name ? 1 : -1))[0]!
    .id;

describe('a default mackerel-agent (hosts start in standby)', () => {
  it('web: the deploy passes, and the new hosts are set working before the old ones go to maintenance', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    const run = await world.spawn('replace', '--config', world.configPath, '--role', 'web');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const { after, newIds } = await expectReplaced(world, 'web', before, { 'ap-northeast-1a': 1, 'ap-northeast-1c': 1 });
    const events = await world.events();
    const newHosts = new Set(
      after.hosts.filter((host) => newIds.some((id) => host.customIdentifier?.startsWith(id))).map((host) => host.id),
    );
    const registered = events.filter((e) => e.type === 'host.registered' && newHosts.has(e.hostId!));
    expect(registered).toHaveLength(2);
    const statuses = events.filter((e) => e.type === 'host.status');
    // The agent left them standby; the tool set them working, before silencing any old host.
    const working = statuses.filter((e) => newHosts.has(e.hostId!) && e.status === 'working');
    const silenced = statuses.filter((e) => !newHosts.has(e.hostId!) && e.status === 'maintenance');
    expect(working).toHaveLength(2);
    expect(silenced).toHaveLength(2);
    expect(events.indexOf(working.at(-1)!)).toBeLessThan(events.indexOf(silenced[0]!));
  });

  it('worker: Mackerel registration in standby is the gate, and the new hosts end working', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    const run = await world.spawn('replace', '--config', world.configPath, '--role', 'worker');
    expect(run.code).toBe(0);
    await expectReplaced(world, 'worker', before, { 'ap-northeast-1a': 1, 'ap-northeast-1c': 1 });
  });

  it('mackerel.newHostStatus: keep leaves the new hosts in the status their agent gave them', async () => {
    world = await startWorld(
      configYaml().replace('mackerel: { service: reactio-staging }', 'mackerel: { service: reactio-staging, newHostStatus: keep }'),
    );
    const run = await world.spawn('replace', '--config', world.configPath, '--role', 'worker');
    expect(run.code).toBe(0);
    const { hosts } = live(await world.state(), 'worker');
    expect(hosts.map((host) => host.status)).toEqual(['standby', 'standby']);
  });

  it('old hosts its agents retired at shutdown (AUTO_RETIREMENT=1) count as retired, not as leftovers', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    const oldImage = roleInstances(before, 'worker')[0]!.imageId;
    await editWorld(world, { op: 'image-agent', id: oldImage, autoRetirement: true });
    const run = await world.spawn('replace', '--config', world.configPath, '--role', 'worker');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    await expectReplaced(world, 'worker', before, { 'ap-northeast-1a': 1, 'ap-northeast-1c': 1 });
  });
});

// The agent's config comes from the image alone here: nothing will restart it with the role.
const NO_GRACE = { web: '        verify: { roleGrace: 100ms }', worker: '        verify: { roleGrace: 100ms }' };

describe('a misconfigured agent fails verification once the role grace is over, naming the cause', () => {
  const failsWith = async (role: string, reason: string, ...flags: string[]) => {
    const before = await world.state();
    const run = await world.spawn('replace', '--config', world.configPath, '--role', role, ...flags);
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr).toContain(reason);
    return before;
  };

  it('an image whose agent config has no roles', async () => {
    world = await startWorld(configYaml(NO_GRACE));
    await editWorld(world, { op: 'image-agent', id: await newestImageOf('worker'), roles: [] });
    const before = await failsWith(
      'worker',
      'with no roles, not reactio-staging:worker: set roles = ["reactio-staging:worker"] in its mackerel-agent.conf',
    );
    await expectUntouched(world, 'worker', before);
  });

  it('an image whose agent config names another role', async () => {
    world = await startWorld(configYaml(NO_GRACE));
    await editWorld(world, { op: 'image-agent', id: await newestImageOf('web'), roles: ['reactio-staging:api'] });
    const before = await failsWith('web', 'with roles reactio-staging:api, not reactio-staging:web: set roles = ["reactio-staging:web"]');
    await expectUntouched(world, 'web', before);
  });

  it("an image baked with the agent's id file", async () => {
    world = await startWorld(configYaml());
    await editWorld(world, { op: 'image-agent', id: await newestImageOf('worker'), idFile: true });
    // The host of the instance the image was baked on is a stale host of the role, left to the deploy to
    // retire; once a new instance claimed it, the rollback retires it with the new side.
    const before = await failsWith(
      'worker',
      "the image was baked with mackerel-agent's id file: delete /var/lib/mackerel-agent/id before baking the AMI",
      '--allow-stale',
    );
    const { running, hosts } = live(await world.state(), 'worker');
    expect(running.map((i) => i.id).sort()).toEqual(
      live(before, 'worker')
        .running.map((i) => i.id)
        .sort(),
    );
    expect(hosts.map((host) => `${host.id}:${host.status}`)).toEqual(
      live(before, 'worker')
        .hosts.filter((h) => h.status === 'working')
        .map((host) => `${host.id}:${host.status}`),
    );
  });
});

describe('load balancer facts are checked before anything changes', () => {
  const same = (yaml: string) => yaml;
  it.each<[string, (w: World) => Promise<void>, string, (yaml: string) => string]>([
    [
      'a target group attached to no load balancer',
      (w) => editWorld(w, { op: 'target-group', arn: TG_ARN, loadBalancer: null }),
      'target group reactio-web is attached to no load balancer',
      same,
    ],
    [
      'an AZ the load balancer does not enable',
      (w) => editWorld(w, { op: 'load-balancer-az', az: 'ap-northeast-1c', enabled: false }),
      'is not enabled in ap-northeast-1c, where subnet-0ccc3333 launches',
      same,
    ],
    [
      'a drain timeout shorter than the deregistration delay',
      (w) => editWorld(w, { op: 'target-group', arn: TG_ARN, deregistrationDelaySeconds: 300 }),
      'timeouts.drain (20s) is shorter than the deregistration delay of target group reactio-web (300s)',
      (yaml) => yaml.replace('unhealthy: 1s }', 'unhealthy: 1s, drain: 20s }'),
    ],
    [
      'a target quota that holds not even one new target beside the old ones',
      async () => undefined,
      'target group reactio-web holds 2 targets: even one new instance per wave would take it to 3, above its quota of 2 targets',
      (yaml) => `limits: { targetsPerGroup: 2 }\n${yaml}`,
    ],
  ])('%s', async (_, stage, message, edit) => {
    world = await startWorld(edit(configYaml()));
    await stage(world);
    const since = (await world.requests()).length;
    const run = await world.spawn('replace', '--config', world.configPath, '--role', 'web');
    expect(run.stderr).toContain(message);
    await expectRefused(world, run, since);
  });
});

describe('EC2 tag limits at 600 old instances', () => {
  const yaml = configYaml({ perAz: 300 }).replaceAll(
    'timeouts: { launch: 20s, verify: 3s',
    'maxInstances: 1000\n        timeouts: { launch: 60s, verify: 30s',
  );
  const crash = async () => {
    const crashed = await world.spawnUntil(/verify \.\.\./, 'SIGKILL', 'replace', '--config', world.configPath, '--role', 'worker');
    expect(crashed.signalled).toBe(true);
    const id = deployIdOf(crashed.stdout);
    await rm(join(world.dir, 'journal'), { recursive: true });
    return id;
  };

  it('launches with at most 50 tags per instance; resume and rollback work from AWS alone', { timeout: 180_000 }, async () => {
    world = await startWorld(yaml);
    const before = await world.state();
    expect(live(before, 'worker').running).toHaveLength(600);

    const undone = await crash();
    const launched = roleInstances(await world.state(), 'worker').filter((i) => i.tags['mackerel-replacer:deploy-id'] === undone);
    expect(launched).toHaveLength(600);
    expect(Math.max(...launched.map((i) => Object.keys(i.tags).length))).toBeLessThanOrEqual(50);
    const rolled = await world.spawn('rollback', undone, '--config', world.configPath, '--env', 'staging', '--role', 'worker');
    expect(rolled.stderr, rolled.stdout).toBe('');
    expect(rolled.code).toBe(0);
    await expectUntouched(world, 'worker', before);

    const finished = await crash();
    const resumed = await world.spawn('resume', finished, '--config', world.configPath, '--env', 'staging', '--role', 'worker');
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    await expectReplaced(world, 'worker', before, { 'ap-northeast-1a': 300, 'ap-northeast-1c': 300 });
  });
});

describe('throttling the operator can see', () => {
  it('each Mackerel retry is a warning line while the deploy goes on', async () => {
    world = await startWorld(configYaml());
    await world.inject({ type: 'api-error', api: 'mackerel', status: 429, retryAfter: 0, count: 2 });
    const run = await world.cli('replace', '--config', world.configPath, '--role', 'worker');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('warning: Mackerel GET /api/v0/hosts answered 429; retry 1 in 0s, as the API asked');
    expect(run.stdout).toContain('warning: Mackerel GET /api/v0/hosts answered 429; retry 2 in 0s, as the API asked');
  });
});
