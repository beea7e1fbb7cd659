// The processes the bench measures: the built CLI, and the sandbox served by the CLI's `sandbox`
// command in a process of its own, so each one's CPU is its own.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The bench runs from dist/scripts/bench/.
const BIN = fileURLToPath(new URL('../../src/cli/bin.js', import.meta.url));
const USAGE_AT_EXIT = fileURLToPath(new URL('./usage-at-exit.js', import.meta.url));
export const SANDBOX_API_KEY = 'sandbox';
/** Linux's USER_HZ: /proc counts CPU time in these ticks. */
const TICKS_PER_SECOND = 100;

export interface Finished {
  readonly code: number;
  readonly wallMs: number;
  readonly cpuSeconds: number;
  readonly peakRssMb: number;
  readonly stdout: string;
  readonly stderr: string;
}

const childEnv = (extra: Readonly<Record<string, string>>) => ({ PATH: process.env.PATH ?? '', NODE_NO_WARNINGS: '1', ...extra });

const collect = (child: ChildProcess) => {
  const out = { stdout: '', stderr: '' };
  child.stdout?.on('data', (chunk: Buffer) => {
    out.stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    out.stderr += chunk.toString('utf8');
  });
  return out;
};

/**
 * Runs the built CLI with `args` as `npx mackerel-replacer` does, through its shebang (and the Node
 * options there), to its end: exit code, wall time, and its own CPU seconds and peak RSS.
 */
export const runCli = async (args: readonly string[], env: Readonly<Record<string, string>>): Promise<Finished> => {
  const usageFile = join(await mkdtemp(join(tmpdir(), 'mr-bench-usage-')), 'usage.json');
  const started = performance.now();
  const child = spawn(BIN, args, { env: childEnv({ ...env, BENCH_USAGE_FILE: usageFile, NODE_OPTIONS: `--import=${USAGE_AT_EXIT}` }) });
  const output = collect(child);
  const [code] = (await once(child, 'exit')) as [number | null];
  const wallMs = performance.now() - started;
  const usage = await readFile(usageFile, 'utf8').catch(() => {
    throw new Error(
      `mackerel-replacer ${args.join(' ')} ended (code ${code}) without reporting its usage: it crashed or was killed\n${output.stderr.slice(-2000)}`,
    );
  });
  return { code: code ?? 1, wallMs, ...(JSON.parse(usage) as { cpuSeconds: number; peakRssMb: number }), ...output };
};

export interface SandboxProcess {
  readonly url: string;
  /** CPU seconds the process has used so far. */
  cpuSeconds(): Promise<number>;
  stop(): Promise<void>;
}

// utime and stime are the 14th and 15th fields; the command name before them may hold spaces.
const cpuSecondsOf = async (pid: number): Promise<number> => {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
};

/** `mackerel-replacer sandbox --config <config>` on a free port, once it says where it serves. */
export const startSandboxProcess = async (config: string): Promise<SandboxProcess> => {
  const child = spawn(process.execPath, [BIN, 'sandbox', '--config', config, '--port', '0', '--api-key', SANDBOX_API_KEY], {
    env: childEnv({}),
  });
  const output = collect(child);
  const exited = once(child, 'exit');
  const url = await new Promise<string>((resolve, reject) => {
    const look = () => {
      const found = /serving .* on (http:\/\/127\.0\.0\.1:\d+)/.exec(output.stdout);
      if (found) resolve(found[1]!);
    };
    child.stdout.on('data', look);
    exited.then(() => reject(new Error(`the sandbox exited before serving:\n${output.stderr}`)), reject);
  });
  return {
    url,
    cpuSeconds: () => cpuSecondsOf(child.pid!),
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
};
