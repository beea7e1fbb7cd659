// The record is evidence, AWS and Mackerel are the truth: a damaged or edited deploy record is
// refused (exit 2, nothing changed), and no path removes a fleet that is serving the role.
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { live } from './expect.js';
import { TG_ARN, type World, configYaml, startWorld } from './harness.js';
import { editWorld, expectRefused, toolRequests, writeConfig } from './refusals.js';

let world: World;
afterEach(() => world?.close());

const journal = () => join(world.dir, 'journal');
const recordFile = (id: string) => join(journal(), `${id}.json`);

/** A finished web deploy: its record, and the request count once it was done. */
const finishedDeploy = async () => {
  const run = await world.spawn('replace', '--config', world.configPath, '--role', 'web');
  expect(run.code, run.stderr).toBe(0);
  const [name] = await readdir(journal());
  const id = name!.replace('.json', '');
  return { id, record: JSON.parse(await readFile(recordFile(id), 'utf8')) as Record<string, unknown> };
};

const refusedWithoutChange = async (args: string[], message: string) => {
  const serving = live(await world.state(), 'web')
    .running.map((i) => i.id)
    .sort();
  const since = (await world.requests()).length;
  const tagsBefore = (await world.state()).instances.map((i) => [i.id, i.tags]);
  const run = await world.cli(...args, '--config', world.configPath);
  expect(run.stderr).toContain(message);
  // A command that got as far as the deploy's lock (a tag on its instances) gave it back: the only
  // writes are that tag's, and every instance ends with the tags it had.
  expect(run.code, run.stderr).toBe(2);
  expect(run.stderr).toContain('nothing was changed');
  const writes = (await toolRequests(world, since)).filter((request) => request.mutating).map((request) => request.action);
  expect([[], ['CreateTags', 'DeleteTags']]).toContainEqual(writes);
  expect((await world.state()).instances.map((i) => [i.id, i.tags])).toEqual(tagsBefore);
  expect(
    live(await world.state(), 'web')
      .running.map((i) => i.id)
      .sort(),
  ).toEqual(serving);
};

describe('damaged or edited deploy records', () => {
  it('resume of a finished deploy edited to "rolling-back" refuses: AWS shows it done, the new fleet serves', async () => {
    world = await startWorld(configYaml());
    const { id, record } = await finishedDeploy();
    await writeFile(recordFile(id), JSON.stringify({ ...record, status: 'rolling-back' }));
    await refusedWithoutChange(['resume', id], 'can no longer be rolled back');
  });

  it('rollback of a finished deploy edited to "running" at verify refuses the same way', async () => {
    world = await startWorld(configYaml());
    const { id, record } = await finishedDeploy();
    await writeFile(recordFile(id), JSON.stringify({ ...record, status: 'running', step: 'verify', terminated: [] }));
    await refusedWithoutChange(['rollback', id], 'are terminated or not running');
  });

  it.each<[string, (record: Record<string, unknown>) => unknown, string]>([
    ['version 99', (record) => ({ ...record, version: 99 }), 'expected version 1'],
    ['null', () => null, 'is damaged'],
    ['an empty object', () => ({}), 'is damaged'],
  ])('a record of %s is refused, naming the file', async (_, edit, problem) => {
    world = await startWorld(configYaml());
    const { id, record } = await finishedDeploy();
    await writeFile(recordFile(id), JSON.stringify(edit(record)));
    for (const command of [
      ['resume', id],
      ['rollback', id],
      ['status', id],
      ['replace', '--role', 'web'],
    ]) {
      await refusedWithoutChange(command, `the deploy record ${recordFile(id)} is damaged`);
    }
    await refusedWithoutChange(['resume', id], problem);
  });

  it("a file named after deploy A holding deploy B's record is refused", async () => {
    world = await startWorld(configYaml());
    const { id, record } = await finishedDeploy();
    const other = '20200101-000000-0000';
    await writeFile(recordFile(other), JSON.stringify(record));
    await refusedWithoutChange(['rollback', other], `it holds deploy ${id}, not ${other}`);
  });
});

describe('what is applied is what was reviewed', () => {
  it('replace --plan applies a saved plan, and refuses with the differences once the fleet changed', async () => {
    world = await startWorld(configYaml());
    const saved = join(world.dir, 'web.plan.json');
    const planned = await world.cli('plan', '--config', world.configPath, '--role', 'web', '--out', saved);
    expect(planned.code, planned.stderr).toBe(0);
    const reviewed = JSON.parse(await readFile(saved, 'utf8')) as { imageId: string; snapshot: string[] };
    expect(reviewed.snapshot).toHaveLength(2);

    const since = (await world.requests()).length;
    const otherRole = await world.cli('replace', '--config', world.configPath, '--role', 'worker', '--plan', saved);
    expect(otherRole.stderr).toContain('the reviewed plan is for staging/web, not staging/worker');
    await expectRefused(world, otherRole, since);

    // The reviewed image was withdrawn: the newest match is now another one.
    await editWorld(world, { op: 'image', id: reviewed.imageId, state: 'deregistered' });
    const changed = await world.cli('replace', '--config', world.configPath, '--role', 'web', '--plan', saved);
    expect(changed.stderr).toContain('the role changed since the plan was reviewed');
    expect(changed.stderr).toMatch(new RegExp(`image: reviewed ${reviewed.imageId}, now ami-`));
    await expectRefused(world, changed, since);
  });

  it('refuses a plan reviewed in web mode once the role lost its target groups, naming every field that changed; nothing launched', async () => {
    world = await startWorld(configYaml());
    const saved = join(world.dir, 'web.plan.json');
    expect((await world.cli('plan', '--config', world.configPath, '--role', 'web', '--out', saved)).code).toBe(0);
    const edited = configYaml({ web: '        tags: { team: payments }\n        keyName: ops' })
      .replace(`        targetGroups: [${TG_ARN}]\n`, '')
      .replace('instanceType: t3.small\n        subnets', 'instanceType: t3.large\n        subnets')
      .replace('securityGroupIds: [sg-0123abcd]\n        userDataFile', 'securityGroupIds: [sg-0999ffff]\n        userDataFile');
    await writeConfig(world, edited);
    await writeFile(join(world.dir, 'user_data', 'boot.sh'), '#!/bin/sh\necho pull another app\n');
    const since = (await world.requests()).length;
    const applied = await world.cli('replace', '--config', world.configPath, '--role', 'web', '--plan', saved);
    expect(applied.stderr).toContain('the role changed since the plan was reviewed');
    expect(applied.stderr).toContain(`mode: reviewed web (target groups ${TG_ARN}), now worker (no target groups)`);
    expect(applied.stderr).toContain('instance types: reviewed t3.small, now t3.large');
    expect(applied.stderr).toContain('security groups: reviewed sg-0123abcd, now sg-0999ffff');
    expect(applied.stderr).toContain('key: reviewed none, now ops');
    expect(applied.stderr).toContain('tags: reviewed');
    expect(applied.stderr).toMatch(/user data SHA-256: reviewed [0-9a-f]{64}, now [0-9a-f]{64}/);
    await expectRefused(world, applied, since);
  });

  it('refuses a plan saved by the previous version, which did not record all that shapes an instance', async () => {
    world = await startWorld(configYaml());
    const saved = join(world.dir, 'web.plan.json');
    expect((await world.cli('plan', '--config', world.configPath, '--role', 'web', '--out', saved)).code).toBe(0);
    const { env, role, imageId, launches, snapshot, vars } = JSON.parse(await readFile(saved, 'utf8'));
    await writeFile(saved, JSON.stringify({ version: 1, env, role, imageId, launches, snapshot, vars }));
    const since = (await world.requests()).length;
    const applied = await world.cli('replace', '--config', world.configPath, '--role', 'web', '--plan', saved);
    expect(applied.stderr).toMatch(/saved by an earlier version/);
    expect(applied.stderr).toContain('re-run plan --out');
    await expectRefused(world, applied, since);
  });

  it('applies exactly the reviewed plan when nothing changed', async () => {
    world = await startWorld(configYaml());
    const saved = join(world.dir, 'worker.plan.json');
    expect((await world.cli('plan', '--config', world.configPath, '--role', 'worker', '--out', saved)).code).toBe(0);
    const applied = await world.cli('replace', '--config', world.configPath, '--role', 'worker', '--plan', saved);
    expect(applied.code, applied.stderr).toBe(0);
    const reviewed = JSON.parse(await readFile(saved, 'utf8')) as { imageId: string };
    expect(live(await world.state(), 'worker').running.every((i) => i.imageId === reviewed.imageId)).toBe(true);
  });
});
