// Every way the CLI process can be told to die is a way it rolls back (issue 18 §1): a lost
// terminal (SIGHUP), a reader that went away (EPIPE), a bug in the CLI layer.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { deployIdOf, expectReplaced, expectUntouched, roleInstances } from './expect.js';
import { type Run, type World, configYaml, startWorld } from './harness.js';

let world: World;
afterEach(() => world?.close());

const BIN = fileURLToPath(new URL('../../dist/src/cli/bin.js', import.meta.url));

/** The built CLI as a child; `onLine` sees stdout as it comes and may act on the child. */
const runChild = (
  args: string[],
  onOutput: (stdout: string, child: ReturnType<typeof spawn>) => void,
  nodeFlags: string[] = [],
): Promise<Run> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [...nodeFlags, BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', NODE_NO_WARNINGS: '1', ...world.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      onOutput(stdout, child);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(kill);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });

const launchedBy = async (deployId: string) =>
  roleInstances(await world.state(), 'web').filter((i) => i.tags['mackerel-replacer:deploy-id'] === deployId);

/** The role's lock is free: a plan of a new deploy is not refused by another one in flight. */
const expectUnlocked = async () => {
  const next = await world.spawn('replace', '--config', world.configPath, '--role', 'web', '--dry-run');
  expect(next.stderr).not.toContain('in flight');
  expect(next.code, next.stderr).toBe(0);
};

describe('a process told to die rolls back first', () => {
  it('SIGHUP during verify (the terminal closed) rolls back, releases the lock and exits 129', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    await world.inject({ type: 'agent-silent', count: 1 });
    let sent = false;
    const run = await runChild(['replace', '--config', world.configPath, '--role', 'web'], (stdout, child) => {
      if (!sent && /verify \.\.\./.test(stdout)) sent = child.kill('SIGHUP');
    });
    expect(sent).toBe(true);
    expect(run.stderr).toMatch(/rolled back deploy \S+: interrupted by SIGHUP/);
    expect(run.code, run.stderr).toBe(129);
    const id = deployIdOf(run.stdout);
    const launched = await launchedBy(id);
    expect(launched.length).toBeGreaterThan(0);
    expect(launched.filter((i) => i.state !== 'terminated' && i.state !== 'shutting-down')).toEqual([]);
    await expectUntouched(world, 'web', before);
    await expectUnlocked();
  });

  it('a stdout pipe closed after the first line (replace | head -1) does not stop the deploy: it completes and exits 0', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    const run = await runChild(['replace', '--config', world.configPath, '--role', 'web'], (stdout, child) => {
      if (stdout.includes('\n')) child.stdout?.destroy();
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    await expectReplaced(world, 'web', before, { 'ap-northeast-1a': 1, 'ap-northeast-1c': 1 });
    const status = await world.spawn('status', '--config', world.configPath, '--json');
    expect(JSON.parse(status.stdout)).toMatchObject([{ status: 'replaced', step: 'done' }]);
  });

  it('stdout and stderr both closed: a failing deploy still rolls back and exits 3, as its record says', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    await world.inject({ type: 'agent-silent', count: 1 });
    const run = await runChild(['replace', '--config', world.configPath, '--role', 'web'], (stdout, child) => {
      if (stdout.includes('\n')) {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }
    });
    expect(run.code).toBe(3);
    await expectUntouched(world, 'web', before);
    const status = await world.spawn('status', '--config', world.configPath, '--json');
    expect(JSON.parse(status.stdout)).toMatchObject([{ status: 'rolled-back' }]);
    await expectUnlocked();
  });

  it('an uncaught error in the CLI layer during verify rolls the deploy back first, then exits 1 naming the bug', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    await world.inject({ type: 'agent-silent', count: 1 });
    // A bug outside the engine's reach: an exception thrown from a callback once verification begins.
    const bug = join(world.dir, 'bug.mjs');
    await writeFile(
      bug,
      `const write = process.stdout.write.bind(process.stdout);
let thrown = false;
process.stdout.write = (chunk, ...rest) => {
  if (!thrown && String(chunk).includes('verify ...')) {
    thrown = true;
    setImmediate(() => { throw new Error('a bug in a callback'); });
  }
  return write(chunk, ...rest);
};
`,
    );
    const run = await runChild(['replace', '--config', world.configPath, '--role', 'web'], () => {}, ['--import', bug]);
    expect(run.stderr).toContain('a bug in a callback');
    expect(run.stderr).toMatch(/rolled back deploy \S+/);
    expect(run.code).toBe(1);
    expect(run.stderr.indexOf('a bug in a callback')).toBeLessThan(run.stderr.search(/rolled back deploy/));
    const launched = await launchedBy(deployIdOf(run.stdout));
    expect(launched.filter((i) => i.state !== 'terminated' && i.state !== 'shutting-down')).toEqual([]);
    await expectUntouched(world, 'web', before);
    await expectUnlocked();
  });
});
