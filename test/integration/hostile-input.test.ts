// Input an adversarial user or a careless supervisor gives the tool (issue 12): each refusal exits
// 2 naming what is wrong and makes no mutating request; signals and printed commands hold up.
import { execFile, spawn } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { deployIdOf, expectUntouched, live, roleInstances } from './expect.js';
import { type Run, type World, configYaml, startWorld } from './harness.js';
import { expectRefused, toolRequests, writeConfig } from './refusals.js';

let world: World;
afterEach(() => world?.close());

const BIN = fileURLToPath(new URL('../../dist/src/cli/bin.js', import.meta.url));
/** The built CLI as a child, killed after `timeout` ms so a hang fails the test instead of stalling it. */
const runBin = (args: string[], env: Record<string, string> = world.env, timeout = 20_000): Promise<Run> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { PATH: process.env.PATH ?? '', NODE_NO_WARNINGS: '1', ...env }, timeout, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });

const replaceWeb = (...more: string[]) => world.cli('replace', '--config', world.configPath, '--role', 'web', ...more);

describe('arguments', () => {
  it('a single-valued flag given twice refuses, naming it, instead of replacing the last role named', async () => {
    world = await startWorld(configYaml());
    const run = await runBin(['replace', '--config', world.configPath, '--role', 'web', '--role', 'worker']);
    expect(run.stderr).toContain('error: --role is given twice ("web", then "worker")');
    await expectRefused(world, run);
    expect(await toolRequests(world)).toEqual([]);
  });

  it('AWS_ENDPOINT_URL that is not http(s) refuses before any request', async () => {
    world = await startWorld(configYaml(), { env: { AWS_ENDPOINT_URL: 'ftp://files.example.com/' } });
    const run = await runBin(['replace', '--config', world.configPath, '--role', 'web']);
    expect(run.stderr).toContain('error: AWS_ENDPOINT_URL must be an http or https URL; its scheme is ftp:');
    await expectRefused(world, run);
    expect(await toolRequests(world)).toEqual([]);
  });

  it('MACKEREL_APIBASE with a password in it refuses, and never prints the password', async () => {
    world = await startWorld(configYaml());
    const url = new URL(world.env.MACKEREL_APIBASE!);
    url.username = 'admin';
    url.password = 'hunter2-SECRET';
    const run = await runBin(['replace', '--config', world.configPath, '--role', 'web'], { ...world.env, MACKEREL_APIBASE: url.href });
    expect(run.stderr).toContain(`error: MACKEREL_APIBASE carries credentials (user:password@ before ${url.host})`);
    expect(`${run.stdout}${run.stderr}`).not.toContain('hunter2');
    await expectRefused(world, run);
    expect(await toolRequests(world)).toEqual([]);
  });
});

describe('config values out of range', () => {
  it('perAz: 10000 with maxInstances: 20: plan and replace refuse, naming both numbers', async () => {
    world = await startWorld(configYaml());
    await writeConfig(world, configYaml({ web: '        maxInstances: 20' }).replace(/perAz: 1\n/, 'perAz: 10000\n'));
    for (const command of ['plan', 'replace']) {
      const run = await world.cli(command, '--config', world.configPath, '--role', 'web');
      expect(run.stderr).toContain(
        'environments.staging.roles.web.perAz: 10000 per AZ in 2 subnets is 20000 new instances, more than maxInstances (20); lower perAz or raise maxInstances',
      );
      await expectRefused(world, run);
    }
    expect(await toolRequests(world)).toEqual([]);
  });

  it('a timeout no timer can hold refuses, naming the field', async () => {
    world = await startWorld(configYaml());
    await writeConfig(world, configYaml().replace('unhealthy: 1s }', 'unhealthy: 1s, total: 1000h }'));
    const run = await replaceWeb();
    expect(run.stderr).toContain('environments.staging.roles.web.timeouts.total: expected a duration of at most 24h, got "1000h"');
    await expectRefused(world, run);
  });

  it('a pollInterval not shorter than a phase timeout refuses, naming both values', async () => {
    world = await startWorld(configYaml());
    await writeConfig(world, configYaml().replace('pollInterval: 50ms', 'pollInterval: 2s'));
    const run = await replaceWeb();
    expect(run.stderr).toContain(
      'pollInterval: 2s is not shorter than environments.staging.roles.web.timeouts.unhealthy (1s); every wait must poll before its deadline',
    );
    await expectRefused(world, run);
  });
});

describe('files that could hang or flood the tool', () => {
  it('--config naming a FIFO refuses at once instead of waiting for a writer', async () => {
    world = await startWorld(configYaml());
    const fifo = join(world.dir, 'fifo.yml');
    await new Promise((resolve) => execFile('mkfifo', [fifo], resolve));
    const run = await runBin(['replace', '--config', fifo, '--role', 'web'], world.env, 10_000);
    expect(run.stderr).toContain(`error: ${fifo}: ${fifo} is a FIFO (named pipe); expected a regular file`);
    await expectRefused(world, run);
  });

  it('userDataFile: /dev/zero refuses by its kind, without reading it', async () => {
    world = await startWorld(configYaml());
    await writeConfig(world, configYaml().replace('user_data/boot.sh', '/dev/zero'));
    const run = await runBin(['replace', '--config', world.configPath, '--role', 'web'], world.env, 10_000);
    expect(run.stderr).toContain('environments.staging.roles.web.userDataFile: /dev/zero is a character device; expected a regular file');
    await expectRefused(world, run);
  });

  it('a YAML alias bomb is a config error (exit 2), not an internal error', async () => {
    world = await startWorld(configYaml());
    const names = 'abcdefghi';
    const lines = [`${names[0]}: &${names[0]} [lol, lol, lol, lol, lol, lol, lol, lol, lol]`];
    for (let i = 1; i < names.length; i++)
      lines.push(
        `${names[i]}: &${names[i]} [${Array(9)
          .fill(`*${names[i - 1]}`)
          .join(', ')}]`,
      );
    await writeConfig(world, `${lines.join('\n')}\n`);
    const run = await replaceWeb();
    expect(run.stderr).toContain('anchors and aliases expand to more than 100 copies');
    await expectRefused(world, run);
  });

  it('a duplicate key names the key', async () => {
    world = await startWorld(configYaml());
    await writeConfig(world, configYaml().replace('instanceType: t3.small\n', 'instanceType: t3.small\n        instanceType: t3.large\n'));
    const run = await replaceWeb();
    expect(run.stderr).toMatch(/line \d+, column \d+: the key "instanceType" is given twice in one mapping/);
    await expectRefused(world, run);
  });
});

describe('the journal folder is checked before anything changes', () => {
  it.each<[string, (dir: string) => Promise<string>, RegExp]>([
    [
      'a file',
      async (dir) => {
        await writeFile(join(dir, 'journal-file'), '');
        return join(dir, 'journal-file');
      },
      /is a regular file, not a folder/,
    ],
    ['a folder under /proc', async () => '/proc/mackerel-replacer/deploys', /ENOENT/],
    [
      'an unwritable folder',
      async (dir) => {
        // Root writes anywhere a mode forbids; /sys refuses even root.
        if (process.getuid?.() === 0) return '/sys';
        await mkdir(join(dir, 'read-only'));
        await chmod(join(dir, 'read-only'), 0o500);
        return join(dir, 'read-only');
      },
      /EACCES|EPERM/,
    ],
  ])('replace with --journal-dir %s refuses, naming it', async (_, make, reason) => {
    world = await startWorld(configYaml());
    const dir = await make(world.dir);
    const run = await runBin(['replace', '--config', world.configPath, '--role', 'web', '--journal-dir', dir], world.env, 15_000);
    expect(run.stderr).toContain(`error: the journal folder ${dir} cannot hold deploy records: `);
    expect(run.stderr).toMatch(reason);
    await expectRefused(world, run);
  });

  it('rollback and resume of a crashed deploy refuse the same way', async () => {
    world = await startWorld(configYaml());
    const crashed = await world.spawnUntil(/verify \.\.\./, 'SIGKILL', 'replace', '--config', world.configPath, '--role', 'web');
    const id = deployIdOf(crashed.stdout);
    const since = (await world.requests()).length;
    for (const command of ['rollback', 'resume']) {
      const args = [command, id, '--config', world.configPath, '--env', 'staging', '--role', 'web', '--journal-dir', '/proc/mr/deploys'];
      const run = await runBin(args, world.env, 15_000);
      expect(run.stderr).toContain('error: the journal folder /proc/mr/deploys cannot hold deploy records: ENOENT');
      await expectRefused(world, run, since);
    }
  });
});

describe('supervisors', () => {
  /** Starts the CLI in its own process group and signals the group twice within 2s, as `timeout` and CI agents do. */
  const signalGroupTwice = (when: RegExp, signal: NodeJS.Signals, args: string[]) =>
    new Promise<Run>((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], {
        env: { PATH: process.env.PATH ?? '', NODE_NO_WARNINGS: '1', ...world.env },
        detached: true,
      });
      let stdout = '';
      let stderr = '';
      let signalled = false;
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (!signalled && child.pid && when.test(stdout)) {
          signalled = true;
          const group = -child.pid;
          process.kill(group, signal);
          // Apart enough that the kernel does not merge them into one pending signal.
          setTimeout(() => process.kill(group, signal), 200);
        }
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });

  it('SIGTERM to the process group twice in a row during verify is one signal: it rolls back cleanly and exits 143', async () => {
    world = await startWorld(configYaml());
    const before = await world.state();
    await world.inject({ type: 'agent-silent', count: 1 });
    const run = await signalGroupTwice(/verify \.\.\./, 'SIGTERM', ['replace', '--config', world.configPath, '--role', 'web']);
    const launched = roleInstances(await world.state(), 'web').filter(
      (i) => i.tags['mackerel-replacer:deploy-id'] === deployIdOf(run.stdout),
    );
    expect(launched.length).toBeGreaterThan(0);
    expect(launched.filter((i) => i.state !== 'terminated' && i.state !== 'shutting-down')).toEqual([]);
    await expectUntouched(world, 'web', before);
    expect(run.code, run.stderr).toBe(143);
    expect(run.stderr).toMatch(/rolled back deploy \S+: interrupted by SIGTERM/);
    expect(run.stderr).toContain('SIGTERM again within 2s: taken as the same signal');
  });
});

describe('printed commands can be pasted as they stand', () => {
  /** Runs a printed command line in a shell, with `mackerel-replacer` on PATH and no journal folder in the environment. */
  const paste = async (line: string): Promise<Run> => {
    const bin = join(world.dir, 'bin');
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, 'mackerel-replacer'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`, { mode: 0o755 });
    const { MACKEREL_REPLACER_JOURNAL_DIR: _, ...env } = world.env;
    return new Promise((resolve) => {
      execFile(
        'sh',
        ['-c', line],
        { env: { ...env, NODE_NO_WARNINGS: '1', PATH: `${bin}:${process.env.PATH}` }, cwd: bin, timeout: 30_000 },
        (error, stdout, stderr) => {
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
        },
      );
    });
  };
  const flags = () => `--config ${world.configPath} --env staging --role web --journal-dir ${world.env.MACKEREL_REPLACER_JOURNAL_DIR}`;

  it('the fix line of an incomplete deploy (exit 4) carries config, env, role and journal folder, and finishes it', async () => {
    world = await startWorld(configYaml());
    await world.inject({ type: 'api-error', api: 'elbv2', action: 'DeregisterTargets', status: 400, code: 'InvalidTarget', count: 1 });
    const run = await replaceWeb();
    expect(run.code, run.stderr).toBe(4);
    const id = deployIdOf(run.stderr);
    const fix = run.stderr.split('\n').find((line) => line.includes(`mackerel-replacer resume ${id}`))!;
    expect(fix.trim()).toBe(`mackerel-replacer resume ${id} ${flags()}`);
    const pasted = await paste(fix.trim());
    expect(pasted.code, pasted.stderr).toBe(0);
    expect(live(await world.state(), 'web').running.every((i) => i.tags['mackerel-replacer:deploy-id'] === id)).toBe(true);
  });

  it('the resume command printed on an interrupt has no placeholder, and finishes the deploy', async () => {
    world = await startWorld(configYaml());
    const run = await world.spawnUntil(/deregistered the old targets/, 'SIGINT', 'replace', '--config', world.configPath, '--role', 'web');
    expect(run.code).toBe(130);
    const id = deployIdOf(run.stdout);
    expect(run.stderr).not.toContain('<file>');
    expect(run.stderr).toContain(`  finish it with: mackerel-replacer resume ${id} ${flags()}`);
    const pasted = await paste(`mackerel-replacer resume ${id} ${flags()}`);
    expect(pasted.code, pasted.stderr).toBe(0);
  });

  it('status says "stopped (runner gone)" for a deploy whose runner died on this machine', async () => {
    world = await startWorld(configYaml());
    const crashed = await world.spawnUntil(/verify \.\.\./, 'SIGKILL', 'replace', '--config', world.configPath, '--role', 'web');
    const id = deployIdOf(crashed.stdout);
    const status = await world.cli('status', '--config', world.configPath);
    expect(status.stdout).toMatch(new RegExp(`${id}  staging/web  stopped \\(runner gone\\) at (verify|register|launch)`));
  });
});
