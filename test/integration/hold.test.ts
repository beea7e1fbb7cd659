import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deployIdOf, expectReplaced, expectUntouched, live } from './expect.js';
import { TG_ARN, type World, configYaml, startWorld } from './harness.js';
import { toolRequests, writeConfig } from './refusals.js';

let world: World;
afterEach(() => world?.close());

const targetIds = (state: Awaited<ReturnType<World['state']>>) =>
  state.targetGroups
    .find((group) => group.arn === TG_ARN)!
    .targets.map((t) => t.id)
    .sort();

describe('replace --hold', () => {
  it('verifies the new fleet without registering it, the old one serving; cutover from another machine (no journal) switches', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    const oldIds = live(before, 'web').running.map((i) => i.id);
    const held = await world.cli('replace', '--config', world.configPath, '--role', 'web', '--hold');
    expect(held.code).toBe(0);
    expect(held.stdout).toMatch(/is held: the new instances i-\S+, i-\S+ are verified \(Mackerel gate; not registered yet\)/);
    const deployId = deployIdOf(held.stdout);
    const during = await world.state();
    expect(targetIds(during)).toEqual([...oldIds].sort());
    expect(live(during, 'web').running.length).toBe(oldIds.length * 2);
    const status = await world.cli('status', '--config', world.configPath);
    expect(status.stdout).toMatch(new RegExp(`${deployId} .* held at cutover`));

    // Another machine: an empty journal folder; the deploy is found through its instances' tags.
    const elsewhere = join(world.dir, 'other-journal');
    const cut = await world.cli(
      'cutover',
      deployId,
      '--config',
      world.configPath,
      '--env',
      'staging',
      '--role',
      'web',
      '--journal-dir',
      elsewhere,
    );
    expect(cut.code).toBe(0);
    const { after } = await expectReplaced(world, 'web', before, { 'ap-northeast-1a': 1, 'ap-northeast-1c': 1 });
    expect(after.targetGroups.find((g) => g.arn === TG_ARN)!.minHealthy).toBeGreaterThanOrEqual(oldIds.length);
  });

  it.each([
    ['on the machine that held it', []],
    ['from another machine (no journal)', ['--journal-dir', 'other-journal']],
  ])('cutover %s sends no RunInstances: a tag added to the config since --hold does not roll the held fleet back', async (_, where) => {
    world = await startWorld(configYaml());
    const before = await world.state();
    const held = await world.cli('replace', '--config', world.configPath, '--role', 'web', '--hold');
    expect(held.code, held.stderr).toBe(0);
    const deployId = deployIdOf(held.stdout);
    const heldIds = live(await world.state(), 'web')
      .running.filter((i) => i.tags['mackerel-replacer:deploy-id'] === deployId)
      .map((i) => i.id)
      .sort();
    await writeConfig(world, configYaml({ web: '        tags: { team: payments }' }));
    const since = (await world.requests()).length;
    const journal = where.length > 0 ? ['--journal-dir', join(world.dir, where[1]!)] : [];
    const cut = await world.cli('cutover', deployId, '--config', world.configPath, '--env', 'staging', '--role', 'web', ...journal);
    expect(cut.stderr).toBe('');
    expect(cut.code).toBe(0);
    expect((await toolRequests(world, since)).filter((request) => request.action === 'RunInstances')).toEqual([]);
    const { after } = await expectReplaced(world, 'web', before, { 'ap-northeast-1a': 1, 'ap-northeast-1c': 1 });
    expect(
      live(after, 'web')
        .running.map((i) => i.id)
        .sort(),
    ).toEqual(heldIds);
  });

  it('with hold.register: true registers the new targets beside the old ones; rollback removes the held fleet', async () => {
    world = await startWorld(configYaml({ web: '        hold: { register: true }' }));
    const before = await world.state();
    const held = await world.cli('replace', '--config', world.configPath, '--role', 'web', '--hold');
    expect(held.code).toBe(0);
    expect(held.stdout).toMatch(/are verified and registered beside the old ones/);
    const deployId = deployIdOf(held.stdout);
    expect(targetIds(await world.state())).toHaveLength(4);
    const resumed = await world.cli('resume', deployId, '--config', world.configPath);
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toMatch(/held before cutover: resume does not switch the traffic/);
    const back = await world.cli('rollback', deployId, '--config', world.configPath);
    expect(back.code).toBe(0);
    await expectUntouched(world, 'web', before);
  });
});

describe('a held deploy in plan and status', () => {
  const heldLine = (deployId: string) => `held: deploy ${deployId}, 2 new instances verified, switched by cutover`;

  it('plan of a web role with a held fleet shows the hold and plans for the serving fleet alone, not the held one as old', async () => {
    world = await startWorld(configYaml());
    const oldIds = live(await world.state(), 'web').running.map((i) => i.id);
    const held = await world.cli('replace', '--config', world.configPath, '--role', 'web', '--hold');
    expect(held.code).toBe(0);
    const deployId = deployIdOf(held.stdout);
    const plan = await world.cli('plan', '--config', world.configPath, '--role', 'web');
    expect(plan.stderr).toBe('');
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain(heldLine(deployId));
    expect(plan.stdout).toContain(`terminated once the new fleet passes: ${[...oldIds].sort().join(', ')}`);
    expect(plan.stdout.match(/ old: i-\S+/g)).toHaveLength(oldIds.length);
    const json = await world.cli('plan', '--config', world.configPath, '--role', 'web', '--json');
    const outcome = JSON.parse(json.stdout.trim().split('\n').at(-1)!);
    expect(outcome.old.map((m: { instanceId: string }) => m.instanceId).sort()).toEqual([...oldIds].sort());
    expect(outcome.held).toEqual([{ deployId, instanceIds: expect.any(Array) }]);
    expect(outcome.held[0].instanceIds).toHaveLength(2);
  });

  it('plan of a worker role with a held fleet never lists the held instances among those terminated', async () => {
    world = await startWorld(configYaml());
    const oldIds = live(await world.state(), 'worker').running.map((i) => i.id);
    const held = await world.cli('replace', '--config', world.configPath, '--role', 'worker', '--hold');
    expect(held.code).toBe(0);
    const deployId = deployIdOf(held.stdout);
    const heldIds = live(await world.state(), 'worker')
      .running.map((i) => i.id)
      .filter((id) => !oldIds.includes(id));
    const plan = await world.cli('plan', '--config', world.configPath, '--role', 'worker');
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain(heldLine(deployId));
    expect(plan.stdout).toContain(`terminated once the new fleet passes: ${[...oldIds].sort().join(', ')}`);
    for (const id of heldIds) expect(plan.stdout).not.toMatch(new RegExp(`old: ${id}`));
  });

  it('status --json lists the held deploy as a record a script finds by env, role and status', async () => {
    world = await startWorld(configYaml());
    const held = await world.cli('replace', '--config', world.configPath, '--role', 'web', '--hold');
    const deployId = deployIdOf(held.stdout);
    const status = await world.cli('status', '--config', world.configPath, '--json');
    expect(status.code).toBe(0);
    const records = JSON.parse(status.stdout) as { env: string; role: string; status: string; deployId: string }[];
    // The shape the Jenkins step reads: keep it stable.
    expect(Array.isArray(records)).toBe(true);
    expect(records.filter((r) => r.env === 'staging' && r.role === 'web' && r.status === 'held').map((r) => r.deployId)).toEqual([
      deployId,
    ]);
  });
});
