// The bench's own output, for the smallest fleet: every figure it promises is there and sane.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const BENCH = fileURLToPath(new URL('../../dist/scripts/bench.js', import.meta.url));

const runBench = (...args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [BENCH, ...args], { env: { PATH: process.env.PATH ?? '' } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });

const positive = expect.any(Number);

it('writes every figure of a 3-instance web and worker deploy, and of the startup', async () => {
  const out = join(await mkdtemp(join(tmpdir(), 'mr-bench-test-')), 'results.json');
  const { code, stdout } = await runBench('--sizes', '3', '--startup-runs', '1', '--out', out);
  expect(code).toBe(0);
  expect(stdout).toContain(`written: ${out}`);
  const results = JSON.parse(await readFile(out, 'utf8'));
  expect(results.runs.map((run: { mode: string; instances: number }) => [run.mode, run.instances])).toEqual([
    ['web', 3],
    ['worker', 3],
  ]);
  for (const run of results.runs) {
    expect(run).toMatchObject({
      exitCode: 0,
      wallMs: positive,
      criticalPath: {
        slowestInstanceMs: positive,
        readyMs: positive,
        stableForMs: positive,
        drainMs: positive,
        refillMs: 0,
        totalMs: positive,
      },
      ratio: positive,
      calls: { total: positive, pollCycles: positive, perPollCycle: { total: positive } },
      cli: { cpuSeconds: positive, peakRssMb: positive },
      sandbox: { cpuSeconds: positive },
    });
    expect(run.calls.byOperation.RunInstances).toBeGreaterThan(0);
    expect(run.calls.perPollCycle.byOperation.DescribeInstances).toBeGreaterThan(0);
  }
  const [web, worker] = results.runs;
  expect(web.calls.byOperation.DescribeTargetHealth).toBeGreaterThan(0);
  expect(worker.calls.byOperation.DescribeTargetHealth).toBeUndefined();
  // A worker has no health checks to stay stable through, nor targets to drain.
  expect(worker.criticalPath).toMatchObject({ stableForMs: 0, drainMs: 0 });
  expect(web.criticalPath.stableForMs).toBe(results.stableForMs);
  expect(results.startup).toMatchObject({
    runs: 1,
    nodeMs: positive,
    helpMs: positive,
    planMs: positive,
    helpRatio: positive,
    planRatio: positive,
  });
});

it('refuses a size that is not a positive count, naming the flag', async () => {
  const { code, stderr } = await runBench('--sizes', '3,abc');
  expect(code).toBe(2);
  expect(stderr).toContain('--sizes takes positive instance counts such as 3,150, got "abc"');
});
