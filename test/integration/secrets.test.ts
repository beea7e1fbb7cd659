// Secrets stay secret: the Mackerel API key, the AWS secret key and session token, and the user data
// appear in no output stream and no file the tool writes, in happy paths and failure paths, in
// process and as the real child process.
import { spawn } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { Fault } from '../../src/sandbox/faults.js';
import { type Run, type World, configYaml, startWorld } from './harness.js';

const API_KEY = 'sk-SECRET-mackerel-9f8e';
const REJECTED_KEY = 'sk-SECRET-rejected-31d7';
const AWS_SECRET = 'aws-SECRET-access-4b1d0c';
const SESSION_TOKEN = 'aws-SECRET-session-8a2b77';
const USER_DATA = '#!/bin/sh\n# USERDATA-SECRET-1f6c: a deploy token\necho pull the app\n';
const SECRETS = [API_KEY, REJECTED_KEY, AWS_SECRET, SESSION_TOKEN, 'USERDATA-SECRET-1f6c', Buffer.from(USER_DATA).toString('base64')];

const BIN = fileURLToPath(new URL('../../dist/src/cli/bin.js', import.meta.url));
// Folders the tool never writes to; in the world's folder, the inputs the test itself wrote.
const SKIP = new Set(['node_modules', '.git', 'test', 'user_data', 'replacer.yml']);

let world: World;
afterEach(() => world?.close());

/** The sandbox accepts API_KEY; the tool is given `givenKey`. */
const start = (givenKey = API_KEY) =>
  startWorld(configYaml(), {
    apiKey: API_KEY,
    userData: USER_DATA,
    env: { MACKEREL_APIKEY: givenKey, AWS_SECRET_ACCESS_KEY: AWS_SECRET, AWS_SESSION_TOKEN: SESSION_TOKEN },
  });

/** Every file under `dir` changed since `since` (all of them without), minus SKIP. */
const filesUnder = async (dir: string, since = 0): Promise<string[]> => {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (SKIP.has(entry.name)) continue;
    if (entry.isDirectory()) found.push(...(await filesUnder(path, since)));
    else if (entry.isFile() && (await stat(path)).mtimeMs >= since) found.push(path);
  }
  return found;
};

const expectClean = (where: string, text: string) => {
  for (const secret of SECRETS) expect(text.includes(secret), `${where} holds ${secret}`).toBe(false);
};

/** Searches every stream of every run, every file the tool wrote in the world's folder, and every
 * file written in the working directory since `since`; returns the files searched. */
const expectNoSecrets = async (runs: readonly Run[], since: number): Promise<string[]> => {
  for (const run of runs) {
    expectClean('stdout', run.stdout);
    expectClean('stderr', run.stderr);
  }
  const files = [...(await filesUnder(world.dir)), ...(await filesUnder(process.cwd(), since))];
  for (const file of files) expectClean(file, await readFile(file, 'utf8'));
  return files;
};

type Runner = (...args: string[]) => Promise<Run>;
type Interrupted = (when: RegExp, args: string[]) => Promise<Run>;

/** In process: the first line matching `when` aborts the run, as the first SIGINT does. */
const interruptInProcess: Interrupted = async (when, args) => {
  const controller = new AbortController();
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, {
    out: (line) => {
      out.push(line);
      if (when.test(line)) controller.abort('SIGINT');
    },
    err: (line) => err.push(line),
    env: process.env,
    signal: controller.signal,
  });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
};

/** As a child: SIGINT as soon as its stdout matches `when`. */
const interruptChild: Interrupted = (when, args) =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', NODE_NO_WARNINGS: '1', ...world.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (when.test(stdout) && !child.killed) child.kill('SIGINT');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });

const ways: [string, (w: World) => Runner, Interrupted][] = [
  ['in process', (w) => w.cli, interruptInProcess],
  ['as a child process', (w) => w.spawn, interruptChild],
];

describe.each(ways)('no secret in any output or written file, %s', (_, runnerOf, interrupt) => {
  const journal = () => join(world.dir, 'journal');
  const reports = () => [join(world.dir, 'report.html'), join(world.dir, 'report.json')];
  const deployArgs = () => [
    'replace',
    '--config',
    world.configPath,
    '--role',
    'web',
    '--journal-dir',
    journal(),
    ...reports().flatMap((path) => ['--report', path]),
  ];
  const deploy = (run: Runner) => run(...deployArgs());
  const status = (run: Runner) => run('status', '--config', world.configPath, '--journal-dir', journal());
  /** The deploy record was among the files searched, so the search covered it. */
  const expectJournalSearched = (files: readonly string[]) => {
    expect(files.some((file) => file.startsWith(journal()))).toBe(true);
    expectReportsSearched(files);
  };
  /** The reports are written however the deploy ends, so the search covered them. */
  const expectReportsSearched = (files: readonly string[]) => expect(files).toEqual(expect.arrayContaining(reports()));

  it('a good deploy, its plan, and the status of the journal', async () => {
    world = await start();
    const since = Date.now();
    const run = runnerOf(world);
    const planned = await run('plan', '--config', world.configPath, '--role', 'web');
    const replaced = await deploy(run);
    expect([planned.code, replaced.code]).toEqual([0, 0]);
    expectJournalSearched(await expectNoSecrets([planned, replaced, await status(run)], since));
  });

  it('a rollback after a target fails its health checks (exit 3)', async () => {
    world = await start();
    const since = Date.now();
    await world.inject({ type: 'health-fail', count: 1 });
    const run = await deploy(runnerOf(world));
    expect(run.code).toBe(3);
    expectJournalSearched(await expectNoSecrets([run, await status(runnerOf(world))], since));
  });

  it.each<[string, Fault, number]>([
    ['an EC2 500 storm (refused at preflight)', { type: 'api-error', api: 'ec2', status: 500, count: 50 }, 2],
    ['EC2 out of capacity in one AZ (rolled back)', { type: 'capacity', az: 'ap-northeast-1c' }, 3],
    ['EC2 refusing a permission at preflight', { type: 'api-error', api: 'ec2', status: 403, code: 'UnauthorizedOperation', count: 1 }, 2],
    [
      'an ELBv2 error while registering (rolled back)',
      { type: 'api-error', api: 'elbv2', action: 'RegisterTargets', status: 400, code: 'InvalidTarget', count: 5 },
      3,
    ],
    // A 5xx storm exhausts the Mackerel retries only after 31-62 s of back-off; a 429 storm with
    // Retry-After: 0 exhausts them at once through the same error path.
    ['a Mackerel 429 storm', { type: 'api-error', api: 'mackerel', status: 429, retryAfter: 0, count: 50 }, 2],
    ['a Mackerel 500, retried', { type: 'api-error', api: 'mackerel', status: 500, count: 1 }, 0],
  ])('%s', async (_, fault, code) => {
    world = await start();
    const since = Date.now();
    await world.inject(fault);
    const run = await deploy(runnerOf(world));
    expect(run.code).toBe(code);
    const files = await expectNoSecrets([run], since);
    // Refused at preflight (exit 2), a deploy may leave no record.
    if (code !== 2) expectJournalSearched(files);
    else expectReportsSearched(files);
  });

  it('a rejected API key (401)', async () => {
    world = await start(REJECTED_KEY);
    const since = Date.now();
    const run = await deploy(runnerOf(world));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('the API key was rejected');
    expectReportsSearched(await expectNoSecrets([run], since));
  });

  it('an interrupt after launch (rolled back, exit 130)', async () => {
    world = await start();
    const since = Date.now();
    const run = await interrupt(/launched i-/, deployArgs());
    expect(run.code).toBe(130);
    expectJournalSearched(await expectNoSecrets([run, await status(runnerOf(world))], since));
  });
});
