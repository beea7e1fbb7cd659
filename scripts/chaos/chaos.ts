// The whole chaos suite: the pinned runs, plus `runs` generated schedules split into shards with
// seeds seed, seed+1, …, all on worker threads. Most runs go to the in-memory fakes, a share to
// the sandbox (see schedule.ts).
import { type Figures, addReport, emptyFigures, mergeFigures } from './figures.js';
import { PINNED } from './pinned.js';
import { runInWorkers } from './pool.js';
import { type ShardResult, type ShardTask, describeRun, runShard } from './property.js';
import type { RunReport } from './run.js';

/**
 * Schedules per shard. Many small shards let the pool even out the slow sandbox runs; the split
 * depends on `runs` alone, so `--runs N --seed S` always generates the same schedules.
 */
const SHARD_SIZE = 50;
const MIN_SHARDS = 8;

export const shardTasks = (runs: number, seed: number, shrink: boolean): ShardTask[] => {
  const count = Math.max(MIN_SHARDS, Math.ceil(runs / SHARD_SIZE));
  return Array.from({ length: count }, (_, k) => ({ seed: seed + k, runs: Math.floor(runs / count) + (k < runs % count ? 1 : 0), shrink })).filter(
    (task) => task.runs > 0,
  );
};

export interface ChaosOptions {
  readonly runs: number;
  readonly seed: number;
  readonly shrink: boolean;
  /** Replays this counterexample of `seed` only, on this thread. */
  readonly path?: string;
}

export interface ChaosResult {
  readonly figures: Figures;
  /** One report per PINNED entry, in its order. */
  readonly pinned: readonly RunReport[];
  readonly shards: readonly ShardResult[];
  /** Every failure, ready to print: the pinned runs' problems and the shards' counterexamples. */
  readonly failures: readonly string[];
}

export const runChaos = async (options: ChaosOptions): Promise<ChaosResult> => {
  if (options.path !== undefined) {
    const shard = await runShard({ seed: options.seed, runs: options.runs, path: options.path, shrink: options.shrink });
    return { figures: shard.figures, pinned: [], shards: [shard], failures: shard.failure ? [shard.failure] : [] };
  }
  // The pinned sandbox runs (a child process killed, each) first, the quick pinned fakes runs last, to fill the gaps.
  const shards = shardTasks(options.runs, options.seed, options.shrink);
  const order = PINNED.map((pin, index) => ({ pin, index }));
  const slow = order.filter(({ pin }) => pin.schedule.via !== 'fakes');
  const quick = order.filter(({ pin }) => pin.schedule.via === 'fakes');
  const results = await runInWorkers([
    ...slow.map(({ pin }) => ({ kind: 'schedule' as const, schedule: pin.schedule })),
    ...shards.map((shard) => ({ kind: 'shard' as const, shard })),
    ...quick.map(({ pin }) => ({ kind: 'schedule' as const, schedule: pin.schedule })),
  ]);
  const shardResults = results.slice(slow.length, slow.length + shards.length) as ShardResult[];
  const pinned: RunReport[] = new Array(PINNED.length);
  slow.forEach(({ index }, i) => {
    pinned[index] = results[i] as RunReport;
  });
  quick.forEach(({ index }, i) => {
    pinned[index] = results[slow.length + shards.length + i] as RunReport;
  });
  const figures = emptyFigures();
  for (const shard of shardResults) mergeFigures(figures, shard.figures);
  for (const report of pinned) addReport(figures, report);
  const failures = [
    ...PINNED.flatMap(({ name, problems }, i) => {
      const found = problems(pinned[i]!);
      return found.length === 0 ? [] : [`${name}:\n  ${found.join('\n  ')}\n${describeRun(pinned[i]!)}`];
    }),
    ...shardResults.flatMap((shard) => (shard.failure ? [shard.failure] : [])),
  ];
  return { figures, pinned, shards: shardResults, failures };
};
