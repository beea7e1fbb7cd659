// Runs chaos tasks on worker threads at once: a sandbox run mostly waits (boots, drains, back-offs), so
// several at a time use the machine far better than one after another; a fakes run only computes. Each thread has its own
// process.env, which the AWS SDK reads its endpoint from, so each runs the CLI in-process against
// its own sandbox. This module is also the threads' code.
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker, parentPort, workerData } from 'node:worker_threads';
import { type ShardResult, type ShardTask, runShard } from './property.js';
import { type RunReport, runSchedule } from './run.js';
import type { Schedule } from './schedule.js';

export type Task = { readonly kind: 'shard'; readonly shard: ShardTask } | { readonly kind: 'schedule'; readonly schedule: Schedule };
export type Result<T extends Task> = T extends { kind: 'shard' } ? ShardResult : RunReport;

/** Threads for sandbox runs: each mostly waits in real time (boots, drains, back-offs), so several overlap well. */
export const SANDBOX_WORKERS = Math.min(8, availableParallelism() * 3);
/** Threads for runs against the fakes: they only compute. */
export const FAKES_WORKERS = availableParallelism();

// Threads run JavaScript: this module's build, whether it runs from source (vitest) or from dist/.
const here = import.meta.url;
const WORKER = fileURLToPath(here.endsWith('.ts') ? new URL('../../dist/scripts/chaos/pool.js', here) : here);
const MARK = 'mackerel-replacer chaos worker';

if (workerData === MARK) {
  const port = parentPort!;
  port.on('message', async (task: Task) => {
    try {
      port.postMessage({ value: task.kind === 'shard' ? await runShard(task.shard) : await runSchedule(task.schedule) });
    } catch (error) {
      port.postMessage({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    }
  });
}

const runOn = (worker: Worker, task: Task): Promise<ShardResult | RunReport> =>
  new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    worker.once('error', onError);
    worker.once('message', (message: { value?: ShardResult | RunReport; error?: string }) => {
      worker.off('error', onError);
      if (message.error !== undefined) reject(new Error(`chaos worker: ${message.error}`));
      else resolve(message.value!);
    });
    worker.postMessage(task);
  });

/** Runs every task, `workers` at a time, in the order given; results come back in the same order. */
export const runInWorkers = async <T extends Task>(tasks: readonly T[], workers: number): Promise<Result<T>[]> => {
  const results: Result<T>[] = new Array(tasks.length);
  let next = 0;
  const drain = async () => {
    // The SDK warns each thread that Node 20 support ends in 2027; once per child process is enough noise.
    const worker = new Worker(WORKER, { workerData: MARK, execArgv: ['--no-warnings'] });
    try {
      while (next < tasks.length) {
        const index = next++;
        results[index] = (await runOn(worker, tasks[index]!)) as Result<T>;
      }
    } finally {
      await worker.terminate();
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, tasks.length) }, drain));
  return results;
};
