// The record is evidence, AWS and Mackerel are the truth: a damaged or edited deploy record is
// refused (exit 2, nothing changed), and no path removes a fleet that is serving the role.
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { live } from './expect.js';
import { type World, configYaml, startWorld } from './harness.js';
import { expectRefused } from './refusals.js';

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
  const serving = live(await world.state(), 'web').running.map((i) => i.id).sort();
  const since = (await world.requests()).length;
  const run = await world.cli(...args, '--config', world.configPath);
  expect(run.stderr).toContain(message);
  await expectRefused(world, run, since);
  expect(live(await world.state(), 'web').running.map((i) => i.id).sort()).toEqual(serving);
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
    for (const command of [['resume', id], ['rollback', id], ['status', id], ['replace', '--role', 'web']]) {
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
