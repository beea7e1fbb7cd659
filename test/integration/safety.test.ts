// Ownership and "typos cannot succeed": the tool terminates only instances it may own, reports
// what Mackerel and EC2 disagree about, and refuses an empty or oversized role.
import { setTimeout as sleep } from 'node:timers/promises';
import { EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import { type Run, type State, type World, configYaml, instanceOf, newestImage, startWorld } from './harness.js';
import { expectReplaced, live } from './expect.js';
import { editWorld, expectRefused, staleHost, toolRequests, writeConfig } from './refusals.js';

let world: World;
afterEach(() => world?.close());

const replaceWeb = (...more: string[]) => world.cli('replace', '--config', world.configPath, '--role', 'web', ...more);
const oldWeb = (state: State) => live(state, 'web').running.map((instance) => instance.id);
const stateOf = (state: State, id: string) => state.instances.find((instance) => instance.id === id)?.state;
const hostOf = (state: State, instanceId: string) => state.hosts.find((host) => instanceOf(host) === instanceId)!;

describe('ownership before launch', () => {
  it('refuses (exit 2) listing every old instance that is out of the VPC or lacks the ownership tag, and why', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    const [untagged, elsewhere] = oldWeb(before);
    await editWorld(
      world,
      { op: 'instance-tags', id: untagged!, tags: { Name: 'staging-web', 'mackerel-replacer:role': 'staging/api' } },
      { op: 'instance-vpc', id: elsewhere!, vpcId: 'vpc-0other' },
    );
    const run = await replaceWeb();
    expect(run.stderr).toContain(`host ${hostOf(before, untagged!).id} (`);
    expect(run.stderr).toContain(
      `instance ${untagged} does not carry the ownership tag mackerel-replacer:role=staging/web (it has mackerel-replacer:role=staging/api)`,
    );
    expect(run.stderr).toMatch(new RegExp(`instance ${elsewhere} is in vpc-0other, not in the role's VPC`));
    await expectRefused(world, run);
    expect((await toolRequests(world)).some((r) => r.action === 'RunInstances')).toBe(false);
    const after = await world.state();
    for (const id of oldWeb(before)) expect(stateOf(after, id)).toBe('running');
  });

  it('owns a fleet launched before the tool by the tag the config names, and tags new instances with both', async () => {
    world = await startWorld(configYaml({ web: '        ownership: { tag: Role, value: web }' }));
    const before = await world.state();
    const oldIds = oldWeb(before);
    for (const id of oldIds) await editWorld(world, { op: 'instance-tags', id, tags: { Name: 'legacy-web', Role: 'web' } });
    const run = await replaceWeb();
    expect(run.code, run.stderr).toBe(0);
    const after = await world.state();
    for (const id of oldIds) expect(stateOf(after, id)).toMatch(/shutting-down|terminated/);
    const fresh = live(after, 'web').running;
    expect(fresh).toHaveLength(2);
    for (const instance of fresh) expect(instance.tags).toMatchObject({ Role: 'web', 'mackerel-replacer:role': 'staging/web' });
  });

  it('the sandbox seeds the old fleet with the ownership tag the config names: its own config deploys as it is', async () => {
    world = await startWorld(configYaml({ web: '        ownership: { tag: Role, value: web }' }));
    const run = await replaceWeb();
    expect(run.code, run.stderr).toBe(0);
  });

  it('a configured ownership tag the old fleet lacks refuses, naming the tag', async () => {
    world = await startWorld(configYaml({ web: '        ownership: { tag: Role, value: web }' }));
    const [untagged] = oldWeb(await world.state());
    await editWorld(world, { op: 'instance-tags', id: untagged!, tags: { Name: 'legacy-web' } });
    const run = await replaceWeb();
    expect(run.stderr).toContain('does not carry the ownership tag Role=web');
    await expectRefused(world, run);
  });
});

describe('ownership right before termination', () => {
  it('skips an old instance that lost its ownership tag during the deploy, reports it and exits 4', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    const [kept, killed] = oldWeb(before);
    const running = replaceWeb();
    // Old targets deregistered: the drain that follows leaves time to change the tags before termination.
    await until(running, async () => (await toolRequests(world)).some((r) => r.action === 'DeregisterTargets' && r.mutating));
    // Only the ownership tag goes: the deploy's replaced-by tag stays, so this instance alone is skipped.
    const { 'mackerel-replacer:role': _, ...tags } = (await world.state()).instances.find((i) => i.id === kept)!.tags;
    expect(tags['mackerel-replacer:replaced-by']).toBeDefined();
    await editWorld(world, { op: 'instance-tags', id: kept!, tags });
    const run = await running;
    expect(run.code, run.stderr).toBe(4);
    expect(run.stderr).toContain(`skipped ${kept}: it does not carry the ownership tag mackerel-replacer:role=staging/web`);
    const after = await world.state();
    expect(stateOf(after, kept!)).toBe('running');
    expect(stateOf(after, killed!)).toMatch(/shutting-down|terminated/);
    expect(hostOf(after, kept!).isRetired).toBe(false);
  });
});

describe('Mackerel and EC2 disagree', () => {
  it('a stale host (its instance is gone) refuses, saying how to retire it or to pass --allow-stale', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    const [gone] = oldWeb(before);
    await editWorld(world, { op: 'terminate', id: gone! });
    const hostId = hostOf(before, gone!).id;
    const run = await replaceWeb();
    expect(run.stderr).toContain(`host ${hostId} (`);
    expect(run.stderr).toMatch(new RegExp(`instance ${gone} (is shutting down|does not exist in EC2): the host is stale`));
    expect(run.stderr).toContain(`mkr retire ${hostId}`);
    expect(run.stderr).toContain('--allow-stale');
    await expectRefused(world, run);
  });

  it('--allow-stale: the deploy proceeds and retires the stale host, whose instance is never sent to TerminateInstances', async () => {
    world = await startWorld(configYaml());
    // An instance EC2 has never heard of: TerminateInstances with it would fail the whole call.
    const staleId = await staleHost(world, 'web', 'i-0deadbeef0000000');
    const before = await world.state();
    const run = await replaceWeb('--allow-stale');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(
      `host ${staleId} (ip-10-0-9-00) is stale: instance i-0deadbeef0000000 is gone; --allow-stale: it will be retired`,
    );
    await expectReplaced(world, 'web', before, { 'ap-northeast-1a': 1, 'ap-northeast-1c': 1 });
    const after = await world.state();
    expect(after.hosts.find((host) => host.id === staleId)?.isRetired).toBe(true);
  });

  it('a running instance with the ownership tag that Mackerel does not list is reported, and never terminated', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    const unlisted = await launchByHand(newestImage(before, 'reactio-web-'), 'subnet-0aaa1111', {
      'mackerel-replacer:role': 'staging/web',
    });
    const run = await replaceWeb();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(
      `warning: instance ${unlisted} (ap-northeast-1a) carries mackerel-replacer:role=staging/web and runs, but Mackerel lists no host of reactio-staging:web for it: its mackerel-agent is down or not installed`,
    );
    const after = await world.state();
    expect(stateOf(after, unlisted)).toBe('running');
    for (const id of oldWeb(before)) expect(stateOf(after, id)).toMatch(/shutting-down|terminated/);
  });
});

describe('typos cannot succeed', () => {
  it('a role Mackerel lists no host of refuses unless --allow-empty, which launches its first fleet', async () => {
    // The batch role launches from the worker image; like a real agent, it takes its role only
    // from the config its user data writes, once the user data restarts it.
    world = await startWorld(configYaml(), {
      userData:
        '#!/bin/sh\ncat > /etc/mackerel-agent/mackerel-agent.conf <<\'EOF\'\nroles = ["reactio-staging:batch"]\nEOF\nsystemctl restart mackerel-agent\n',
    });
    const renamed = configYaml().replace('      worker:', '      batch:\n        userDataFile: user_data/boot.sh');
    await writeConfig(world, renamed);
    const refused = await world.cli('replace', '--config', world.configPath, '--role', 'batch');
    expect(refused.stderr).toContain(
      'Mackerel lists no host of reactio-staging:batch; a misspelt role or service must not launch a second fleet',
    );
    expect(refused.stderr).toContain('--allow-empty');
    await expectRefused(world, refused);
    const run = await world.cli('replace', '--config', world.configPath, '--role', 'batch', '--allow-empty');
    expect(run.code, run.stderr).toBe(0);
    const batch = live(await world.state(), 'batch');
    expect(batch.running).toHaveLength(2);
  });

  it('a snapshot larger than maxInstances refuses', async () => {
    // perAz: match, so the plan follows the snapshot: a fixed perAz × subnets above maxInstances is a config error.
    world = await startWorld(configYaml({ perAz: 'match', web: '        maxInstances: 1' }));
    const run = await replaceWeb();
    expect(run.stderr).toContain('reactio-staging:web has 2 instances, more than its maxInstances (1)');
    await expectRefused(world, run);
  });
});

/** An instance launched outside the tool whose agent never registers (never installed); returns its id once running. */
const launchByHand = async (imageId: string, subnetId: string, tags: Record<string, string>): Promise<string> => {
  await world.inject({ type: 'agent-silent', count: 1 });
  const ec2 = new EC2Client({});
  const Tags = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
  const out = await ec2.send(
    new RunInstancesCommand({
      ImageId: imageId,
      InstanceType: 't3.small',
      SubnetId: subnetId,
      MinCount: 1,
      MaxCount: 1,
      TagSpecifications: [{ ResourceType: 'instance', Tags }],
    }),
  );
  const id = out.Instances![0]!.InstanceId!;
  while (stateOf(await world.state(), id) !== 'running') await sleep(10);
  return id;
};

/** Polls until `done` holds; fails if the run ends first. */
const until = async (running: Promise<Run>, done: () => Promise<boolean>): Promise<void> => {
  let ended = false;
  void running.finally(() => {
    ended = true;
  });
  while (!(await done())) {
    if (ended) throw new Error(`the run ended first: ${JSON.stringify(await running)}`);
    await sleep(10);
  }
};
