// `recover --env E --role R` (issue 18 §2): whatever stopped a deploy, the one command a supervisor
// runs finds it (in the journal, or through AWS tags) and does the safe thing.
import { readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deployIdOf, expectReplaced, expectUntouched, live, roleInstances } from './expect.js';
import { type World, configYaml, startWorld } from './harness.js';
import { expectRefused, toolRequests } from './refusals.js';

let world: World;
afterEach(() => world?.close());

const recover = (...more: string[]) => world.spawn('recover', '--config', world.configPath, '--env', 'staging', ...more);
const stillRunning = async (deployId: string) =>
  roleInstances(await world.state(), 'web').filter(
    (i) => i.tags['mackerel-replacer:deploy-id'] === deployId && i.state !== 'terminated' && i.state !== 'shutting-down',
  );
/** A deploy of web killed (kill -9) once its output matches `when`; its id. */
const crashWeb = async (when: RegExp) =>
  deployIdOf((await world.spawnUntil(when, 'SIGKILL', 'replace', '--config', world.configPath, '--role', 'web')).stdout);
const expectUnlocked = async (role = 'web') => {
  const next = await world.spawn('replace', '--config', world.configPath, '--role', role, '--dry-run');
  expect(next.code, next.stderr).toBe(0);
};

describe('recover', () => {
  it('with nothing unfinished says so, changes nothing and exits 0', async () => {
    world = await startWorld(configYaml());
    const run = await recover('--role', 'web');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('recover: no deploy of staging/web is unfinished; nothing to do');
    expect((await toolRequests(world)).filter((r) => r.mutating)).toEqual([]);
  });

  it('after kill -9 during verify rolls the deploy back and releases the lock', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    await world.inject({ type: 'agent-silent', count: 1 });
    const id = await crashWeb(/verify \.\.\./);
    const run = await recover('--role', 'web');
    expect(run.stdout).toMatch(new RegExp(`recover: deploy ${id} of staging/web is running at \\w+, before cutover: rolling it back`));
    expect(run.code, run.stderr).toBe(0);
    expect(await stillRunning(id)).toEqual([]);
    await expectUntouched(world, 'web', before);
    await expectUnlocked();
  });

  it('after kill -9 once cutover began resumes the deploy to the end', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    const id = await crashWeb(/deregistered the old targets/);
    const run = await recover('--role', 'web');
    expect(run.stdout).toMatch(
      new RegExp(`recover: deploy ${id} of staging/web is running at cutover, past cutover: resuming it to the end`),
    );
    expect(run.code, run.stderr).toBe(0);
    await expectReplaced(world, 'web', before, { 'ap-northeast-1a': 1, 'ap-northeast-1c': 1 });
  });

  it('finds a deploy the journal lacks through its AWS tags, and rolls it back', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    await world.inject({ type: 'agent-silent', count: 1 });
    const id = await crashWeb(/verify \.\.\./);
    const run = await recover('--role', 'web', '--journal-dir', join(world.dir, 'another-machine'));
    expect(run.stdout).toContain(`recover: deploy ${id} of staging/web is interrupted at launch, before cutover: rolling it back`);
    expect(run.code, run.stderr).toBe(0);
    expect(await stillRunning(id)).toEqual([]);
    await expectUntouched(world, 'web', before);
  });

  it('rolls a held deploy back, and with --keep-held leaves it held', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    const held = await world.cli('replace', '--config', world.configPath, '--role', 'web', '--hold');
    const id = deployIdOf(held.stdout);
    const kept = await recover('--role', 'web', '--keep-held');
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.stdout).toContain(
      `recover: deploy ${id} of staging/web is held: left as it is (--keep-held); switch it with mackerel-replacer cutover ${id}`,
    );
    expect(await stillRunning(id)).toHaveLength(2);
    const run = await recover('--role', 'web', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`recover: deploy ${id} of staging/web is held before cutover: rolling it back`);
    expect(JSON.parse(run.stdout.trim().split('\n').at(-1)!)).toMatchObject({
      type: 'outcome',
      kind: 'rolled-back',
      deployId: id,
      exitCode: 0,
    });
    expect(await stillRunning(id)).toEqual([]);
    await expectUntouched(world, 'web', before);
    await expectUnlocked();
  });

  it('leaves a kept deploy as it is and exits 0, naming its finish command', async () => {
    world = await startWorld(configYaml());
    const deployed = await world.cli('replace', '--config', world.configPath, '--role', 'worker', '--keep-old', '30m');
    expect(deployed.code).toBe(0);
    const id = deployIdOf(deployed.stdout);
    const runningBefore = live(await world.state(), 'worker').running.map((i) => i.id);
    const run = await recover('--role', 'worker', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(
      `recover: deploy ${id} of staging/worker is kept: left as it is; end its window with mackerel-replacer finish ${id} --config`,
    );
    expect(JSON.parse(run.stdout)).toMatchObject({
      type: 'outcome',
      kind: 'nothing-to-recover',
      left: [{ deployId: id, status: 'kept' }],
      exitCode: 0,
    });
    expect(live(await world.state(), 'worker').running.map((i) => i.id)).toEqual(runningBefore);
  });

  it("refuses, changing nothing, while the deploy's runner is alive on this machine", async () => {
    world = await startWorld(configYaml());
    const id = await crashWeb(/verify \.\.\./);
    // The record names a runner that is alive: this test's own process.
    const file = join(world.env.MACKEREL_REPLACER_JOURNAL_DIR!, `${id}.json`);
    const record = JSON.parse(await readFile(file, 'utf8'));
    await writeFile(file, JSON.stringify({ ...record, runner: `${hostname()}:${process.pid}` }));
    const since = (await world.requests()).length;
    const run = await recover('--role', 'web');
    expect(run.stderr).toContain(`deploy ${id} is being worked on by replace on ${hostname()}:${process.pid}`);
    await expectRefused(world, run, since);
    expect(await stillRunning(id)).toHaveLength(2);
  });
});
