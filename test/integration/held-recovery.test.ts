// A held deploy seen from a machine without its journal: the new instances' held tag makes the
// rebuilt record say held, so resume refuses (it would switch the traffic), a new deploy of the
// role is refused, and rollback removes the held fleet.
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { deployIdOf, expectUntouched } from './expect.js';
import { TG_ARN, type World, configYaml, startWorld } from './harness.js';

let world: World;
afterEach(() => world?.close());

it('a held deploy rebuilt from its tags is held: resume and a new deploy refuse, rollback removes the held fleet', async () => {
  world = await startWorld(configYaml());
  const before = await world.state();
  const held = await world.cli('replace', '--config', world.configPath, '--role', 'web', '--hold');
  expect(held.code).toBe(0);
  const deployId = deployIdOf(held.stdout);
  const elsewhere = ['--config', world.configPath, '--env', 'staging', '--role', 'web', '--journal-dir', join(world.dir, 'other-journal')];

  const otherJournal = ['--journal-dir', join(world.dir, 'other-journal')];
  const unknown = await world.cli('status', deployId, '--config', world.configPath, ...otherJournal);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toMatch(/is not in the journal/);
  expect(unknown.stderr).toMatch(/pass its --role/);
  const seen = await world.cli('status', deployId, ...elsewhere);
  expect(seen.code).toBe(0);
  expect(seen.stdout).toMatch(new RegExp(`${deployId}  staging/web  held at`));
  expect(seen.stdout).toMatch(/rebuilt from the instances' tags in AWS/);
  expect(seen.stdout.match(/^ {2}new i-\w+: EC2 running; Mackerel (working|standby); reactio-web: not registered$/gm)).toHaveLength(2);

  const resumed = await world.cli('resume', deployId, ...elsewhere);
  expect(resumed.code).toBe(2);
  expect(resumed.stderr).toMatch(/held before cutover: resume does not switch the traffic/);
  const next = await world.cli('replace', ...elsewhere);
  expect(next.code).toBe(2);
  expect(next.stderr).toMatch(new RegExp(`${deployId}.*held \\(seen in AWS\\)`));
  expect(next.stderr).toMatch(new RegExp(`mackerel-replacer cutover ${deployId}`));
  // Nothing switched: the old targets alone serve.
  const during = await world.state();
  expect(
    during.targetGroups
      .find((group) => group.arn === TG_ARN)!
      .targets.map((t) => t.id)
      .sort(),
  ).toEqual(
    before.targetGroups
      .find((group) => group.arn === TG_ARN)!
      .targets.map((t) => t.id)
      .sort(),
  );

  const back = await world.cli('rollback', deployId, ...elsewhere);
  expect(back.code).toBe(0);
  await expectUntouched(world, 'web', before);
});
