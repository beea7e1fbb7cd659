// The whole chaos suite: the pinned runs, plus `runs` generated schedules split into shards with
// seeds seed, seed+1, …, all on worker threads.
import { type Figures, addReport, emptyFigures, mergeFigures } from './figures.js';
import { PINNED } from './pinned.js';
import { runInWorkers } from './pool.js';
import { type ShardResult, type ShardTask, describeRun, runShard } from './property.js';
import type { RunReport } from './run.js';

/** Fixed, so that `--runs N --seed S` always generates the same schedules. */
const SHARDS = 8;

export const shardTasks = (runs: number, seed: number, shrink: boolean): ShardTask[] =>
  Array.from({ length: SHARDS }, (_, k) => ({ seed: seed + k, runs: Math.floor(runs / SHARDS) + (k < runs % SHARDS ? 1 : 0), shrink })).filter(
    (task) => task.runs > 0,
  );

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
  // Long shards first, so the short pinned runs fill the gaps at the end.
  const shards = shardTasks(options.runs, options.seed, options.shrink);
  const results = await runInWorkers([
    ...shards.map((shard) => ({ kind: 'shard' as const, shard })),
    ...PINNED.map(({ schedule }) => ({ kind: 'schedule' as const, schedule })),
  ]);
  const shardResults = results.slice(0, shards.length) as ShardResult[];
  const pinned = results.slice(shards.length) as RunReport[];
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
