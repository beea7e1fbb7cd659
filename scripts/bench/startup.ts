// How long the CLI takes to answer when it has little to do, against `node -e 0`: `--help`, and the
// plan of a 3-instance role against a sandbox. Runs interleave, so a load change hits all three alike.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { cliEnv, writeBenchConfig } from './deploy.js';
import { startSandboxProcess } from './processes.js';

const BIN = fileURLToPath(new URL('../../src/cli/bin.js', import.meta.url));

export interface Startup {
  readonly runs: number;
  /** Median wall ms of each. */
  readonly nodeMs: number;
  readonly helpMs: number;
  readonly planMs: number;
  /** Median ÷ the median of `node -e 0`. */
  readonly helpRatio: number;
  readonly planRatio: number;
}

// The CLI runs through its shebang, as `npx mackerel-replacer` runs it.
const wallMs = async (command: string, args: readonly string[], env: Readonly<Record<string, string>>): Promise<number> => {
  const started = performance.now();
  const child = spawn(command, args, { env: { PATH: process.env.PATH ?? '', NODE_NO_WARNINGS: '1', ...env }, stdio: 'ignore' });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}`);
  return performance.now() - started;
};

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

export const benchStartup = async (runs: number): Promise<Startup> => {
  const { dir, file } = await writeBenchConfig('web', 1);
  const sandbox = await startSandboxProcess(file);
  const env = cliEnv(sandbox, dir);
  const times = { node: [] as number[], help: [] as number[], plan: [] as number[] };
  try {
    for (let run = 0; run < runs; run++) {
      times.node.push(await wallMs(process.execPath, ['-e', '0'], {}));
      times.help.push(await wallMs(BIN, ['--help'], {}));
      times.plan.push(await wallMs(BIN, ['plan', '--config', file, '--role', 'web'], env));
    }
  } finally {
    await sandbox.stop();
  }
  const nodeMs = median(times.node);
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    runs,
    nodeMs: Math.round(nodeMs),
    helpMs: Math.round(median(times.help)),
    planMs: Math.round(median(times.plan)),
    helpRatio: round(median(times.help) / nodeMs),
    planRatio: round(median(times.plan) / nodeMs),
  };
};
