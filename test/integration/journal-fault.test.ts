// The journal's folder stops taking records in the middle of a deploy (a filled or lost disk): the
// real CLI rolls the deploy back all the same, says why, and prints the command that settles the record.
import { renameSync, writeFileSync } from 'node:fs';
import { readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deployIdOf, expectUntouched } from './expect.js';
import { type World, configYaml, startWorld } from './harness.js';

let world: World;
afterEach(() => world?.close());

describe('a journal that fails during verify', () => {
  it('rolls the deploy back (exit 3), names the journal error and prints the rollback that settles the record', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    const journal = join(world.dir, 'journal');
    // Root writes where chmod forbids: the folder is set aside and a file takes its name, so every save fails.
    const fill = () => {
      renameSync(journal, `${journal}.aside`);
      writeFileSync(journal, '');
    };
    const run = await world.spawnUntil(/verify \.\.\./, fill, 'replace', '--config', world.configPath, '--role', 'web');
    const id = deployIdOf(run.stdout);
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr).not.toContain('internal error');
    expect(run.stderr).toContain(`cannot write the deploy record ${join(journal, `${id}.json`)}: EEXIST`);
    const rollback = `mackerel-replacer rollback ${id} --config ${world.configPath} --env staging --role web --journal-dir ${journal}`;
    expect(run.stderr).toContain(rollback);
    await expectUntouched(world, 'web', before);

    // The disk is back: the record still says running (it holds the role's lock) until the printed command settles it.
    await rm(journal);
    await rename(`${journal}.aside`, journal);
    expect(await readdir(journal)).toEqual([`${id}.json`]);
    const settled = await world.spawn(...rollback.split(' ').slice(1));
    expect(settled.code, settled.stderr).toBe(0);
    const status = await world.spawn('status', id, '--config', world.configPath, '--json');
    expect(JSON.parse(status.stdout)).toMatchObject({ record: { status: 'rolled-back' } });
    await expectUntouched(world, 'web', before);
  });
});
