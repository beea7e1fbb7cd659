// `npm run bench`: whole deploys through the real CLI, each in its own process against a sandbox
// in another, at growing fleet sizes, web and worker; and the CLI's startup against `node -e 0`.
// Prints a table and writes every figure as JSON (--out).
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_TIME_SCALE } from '../src/sandbox/server.js';
import { type Mode, POLL_INTERVAL_MS, STABLE_FOR_MS, SUBNETS } from './bench/config.js';
import { benchDeploy, type DeployResult } from './bench/deploy.js';
import { benchStartup } from './bench/startup.js';

const USAGE = 'usage: npm run bench -- [--sizes 3,150,500,2000,5000] [--modes web,worker] [--startup-runs 10] [--out bench-results.json]';

const fail = (message: string): never => {
  console.error(`bench: ${message}\n${USAGE}`);
  process.exit(2);
};

const listOf = <T>(flag: string, text: string, parse: (item: string) => T | undefined, allowed: string): T[] =>
  text.split(',').map((item) => parse(item.trim()) ?? fail(`--${flag} takes ${allowed}, got ${JSON.stringify(item)}`));

const positive = (item: string) => (/^[1-9]\d*$/.test(item) ? Number(item) : undefined);

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        sizes: { type: 'string', default: '3,150,500,2000,5000' },
        modes: { type: 'string', default: 'web,worker' },
        'startup-runs': { type: 'string', default: '10' },
        out: { type: 'string', default: 'bench-results.json' },
      },
    });
  } catch (error) {
    return fail((error as Error).message);
  }
})();
const sizes = listOf('sizes', values.sizes, positive, 'positive instance counts such as 3,150');
const modes = listOf(
  'modes',
  values.modes,
  (item) => (item === 'web' || item === 'worker' ? (item as Mode) : undefined),
  'web and/or worker',
);
const startupRuns = positive(values['startup-runs']) ?? fail(`--startup-runs takes a positive integer, got ${values['startup-runs']}`);

const seconds = (ms: number) => (ms / 1000).toFixed(2);
const row = (cells: readonly (string | number)[]) => `| ${cells.join(' | ')} |`;

const printRuns = (runs: readonly DeployResult[]) => {
  console.log(
    row([
      'mode',
      'instances',
      'exit',
      'wall s',
      'critical path s',
      'ratio',
      'API calls',
      'calls/poll cycle',
      'CLI CPU s',
      'CLI peak RSS MB',
      'sandbox CPU s',
    ]),
  );
  console.log(row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']));
  for (const run of runs) {
    console.log(
      row([
        run.mode,
        run.instances,
        run.exitCode,
        seconds(run.wallMs),
        seconds(run.criticalPath.totalMs),
        run.ratio.toFixed(2),
        run.calls.total,
        run.calls.perPollCycle.total.toFixed(2),
        run.cli.cpuSeconds.toFixed(2),
        run.cli.peakRssMb,
        run.sandbox.cpuSeconds.toFixed(2),
      ]),
    );
  }
  console.log('\nAPI calls by operation:');
  for (const run of runs) {
    const calls = Object.entries(run.calls.byOperation).map(([operation, n]) => `${operation} ${n}`);
    console.log(`  ${run.mode} ${run.instances}: ${calls.join(', ')}`);
  }
};

const machine = { node: process.version, cpus: cpus().length, loadAverage: loadavg().map((load) => Math.round(load * 100) / 100) };
console.log(
  `node ${machine.node}; ${machine.cpus} CPUs; load average ${machine.loadAverage.join(' ')}; sandbox clock ${1 / DEFAULT_TIME_SCALE}x; ` +
    `pollInterval ${POLL_INTERVAL_MS}ms; stableFor ${STABLE_FOR_MS}ms; ${SUBNETS.length} AZs; old fleet as large as the new`,
);
const runs: DeployResult[] = [];
for (const size of sizes) {
  for (const mode of modes) {
    const run = await benchDeploy(mode, size);
    runs.push(run);
    const raised = run.targetsPerGroup === undefined ? '' : `; targetsPerGroup raised to ${run.targetsPerGroup} (config and sandbox)`;
    console.log(`${mode} ${run.instances}: exit ${run.exitCode}, ${seconds(run.wallMs)}s${raised}${run.error ? `\n${run.error}` : ''}`);
    if (run.exitCode !== 0) process.exitCode = 1;
  }
}
const startup = await benchStartup(startupRuns);
console.log('');
printRuns(runs);
console.log(
  `\nstartup, median of ${startup.runs}: node -e 0 ${startup.nodeMs}ms; --help ${startup.helpMs}ms (${startup.helpRatio}x); ` +
    `plan of a 3-instance web role ${startup.planMs}ms (${startup.planRatio}x)`,
);
const out = resolve(values.out);
await writeFile(
  out,
  `${JSON.stringify({ machine, timeScale: DEFAULT_TIME_SCALE, pollIntervalMs: POLL_INTERVAL_MS, stableForMs: STABLE_FOR_MS, runs, startup }, null, 2)}\n`,
);
console.log(`\nwritten: ${out}`);
