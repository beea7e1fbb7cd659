// Against the sandbox, through the CLI: a worker's beforeTerminate hook (a real shell command)
// sees the deploy's ids while the old fleet still runs, workerDrain comes between maintenance and
// termination, a failing beforeTerminate ends incomplete (exit 4) and resume finishes; an AZ
// without capacity for the first instance type gets the second.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { API_KEY, type World, configYaml, startWorld } from './harness.js';

let world: World;
afterEach(() => world?.close());

const workerHooks = (command: string) => `        workerDrain: 300ms
        hooks:
          beforeTerminate: { command: '${command}', timeout: 10s }`;

const oldWorkers = async () =>
  (await world.state()).instances.filter((i) => i.state === 'running' && i.tags['mackerel-replacer:role'] === 'staging/worker');

/** The order of the lines that matter here, as printed. */
const milestones = (stdout: string): string[] =>
  stdout
    .split('\n')
    .map((line) => line.replace(/^\[[\d:]+\] /, ''))
    .filter((line) =>
      /^ {2}(set the old hosts maintenance|waited workerDrain|terminated the old)|^hook beforeTerminate (passed|failed)/.test(line),
    )
    .map((line) =>
      line
        .split(':')[0]!
        .trim()
        .replace(/ in [\d.]+s$/, ''),
    );

describe('worker draining and hooks (sandbox)', () => {
  it('beforeTerminate sees the old and new ids while the old workers still run, after the drain', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'mr-hook-')), 'hook.env');
    world = await startWorld(
      configYaml({ worker: workerHooks(`env | grep ^MR_ > ${out}; echo told the old workers to stop; echo key $MACKEREL_APIKEY`) }),
    );
    const old = (await oldWorkers()).map((i) => i.id).sort();
    const run = await world.cli('replace', '--config', world.configPath, '--role', 'worker');
    expect(run.code).toBe(0);
    expect(milestones(run.stdout)).toEqual([
      'set the old hosts maintenance',
      'waited workerDrain for the old workers',
      'hook beforeTerminate passed',
      'terminated the old instances',
    ]);
    expect(run.stdout).toContain('beforeTerminate| told the old workers to stop');
    // The hook inherits the key, and what it prints is redacted.
    expect(run.stdout).toContain('beforeTerminate| key [redacted]');
    expect(run.stdout).not.toContain(API_KEY);
    const env = Object.fromEntries(
      (await readFile(out, 'utf8'))
        .trim()
        .split('\n')
        .map((line) => line.split('=') as [string, string]),
    );
    expect(env.MR_OLD_INSTANCE_IDS!.split(' ').sort()).toEqual(old);
    const fresh = (await oldWorkers()).map((i) => i.id).sort();
    expect(env.MR_NEW_INSTANCE_IDS!.split(' ').sort()).toEqual(fresh);
    expect(env.MR_NEW_HOST_IDS!.split(' ')).toHaveLength(2);
    expect(env).toMatchObject({ MR_ENV: 'staging', MR_ROLE: 'worker', MR_SERVICE: 'reactio-staging', MR_HOOK: 'beforeTerminate' });
    await rm(dirname(out), { recursive: true });
  });

  it('a failing beforeTerminate exits 4 with the old fleet running; resume, once it passes, finishes', async () => {
    world = await startWorld(configYaml({ worker: workerHooks('echo queue unreachable >&2; exit 1') }));
    const old = (await oldWorkers()).map((i) => i.id);
    const run = await world.cli('replace', '--config', world.configPath, '--role', 'worker');
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/hook beforeTerminate \(echo queue unreachable >&2; exit 1\) failed: exited 1/);
    const resume = /mackerel-replacer (resume \S+ [^\n]*)/.exec(run.stderr)![1]!.split(' ');
    expect((await world.state()).instances.filter((i) => old.includes(i.id)).map((i) => i.state)).toEqual(['running', 'running']);
    await writeFile(world.configPath, configYaml({ worker: workerHooks('true') }));
    const finished = await world.cli(...resume);
    expect(finished.code).toBe(0);
    expect((await world.state()).instances.filter((i) => old.includes(i.id)).map((i) => i.state)).not.toContain('running');
  });
});

describe('capacity fallback (sandbox)', () => {
  it('an AZ without c7g.large capacity gets c6g.large; the plan shows the order and the summary what was launched where', async () => {
    world = await startWorld(
      configYaml().replace(/(worker:\n[^\n]*\n) {8}instanceType: t3.small/, '$1        instanceTypes: [c7g.large, c6g.large]'),
    );
    await world.inject({ type: 'capacity', az: 'ap-northeast-1c', instanceType: 'c7g.large' });
    const run = await world.cli('replace', '--config', world.configPath, '--role', 'worker');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('instance types, each AZ in this order: c7g.large, c6g.large');
    expect(run.stdout).toContain('warning: ap-northeast-1c: no c7g.large capacity (InsufficientInstanceCapacity); trying c6g.large');
    expect(run.stdout).toMatch(/ap-northeast-1a: i-\w+ -> i-\w+ \(c7g\.large\)/);
    expect(run.stdout).toMatch(/ap-northeast-1c: i-\w+ -> i-\w+ \(c6g\.large\)/);
  });
});
