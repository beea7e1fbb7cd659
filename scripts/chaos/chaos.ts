// The whole chaos suite: the pinned runs, plus `runs` generated schedules split into shards with
// seeds seed, seed+1, …, all on worker threads. Most runs go to the in-memory fakes, a share to
// the sandbox (see schedule.ts).
import { type Figures, addReport, emptyFigures, mergeFigures } from './figures.js';
import { PINNED } from './pinned.js';
import { FAKES_WORKERS, SANDBOX_WORKERS, runInWorkers } from './pool.js';
import { type ShardResult, type ShardTask, describeRun, runShard } from './property.js';
import type { RunReport } from './run.js';
import type { Via } from './schedule.js';

/**
 * Schedules per shard. Many small shards let the pool even out the slow sandbox runs; the split
 * depends on `runs` alone, so `--runs N --seed S` always generates the same schedules.
 */
const SHARD_SIZE = 50;
const MIN_SHARDS = 8;

export const shardTasks = (runs: number, seed: number, shrink: boolean): ShardTask[] => {
  const count = Math.max(MIN_SHARDS, Math.ceil(runs / SHARD_SIZE));
  return Array.from({ length: count }, (_, k) => ({
    seed: seed + k,
    runs: Math.floor(runs / count) + (k < runs % count ? 1 : 0),
    shrink,
  })).filter((task) => task.runs > 0);
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
  // Two passes over the same shards. The sandbox runs first, alone: they run against real-time
  // deadlines, which runs against the fakes (pure computation) would starve on a small machine.
  const shards = shardTasks(options.runs, options.seed, options.shrink);
  const pins = (via: Via) => PINNED.flatMap((pin, index) => ((pin.schedule.via ?? 'sandbox') === via ? [{ pin, index }] : []));
  const pinned: RunReport[] = new Array(PINNED.length);
  const shardResults: ShardResult[] = [];
  for (const [via, workers] of [
    ['sandbox', SANDBOX_WORKERS],
    ['fakes', FAKES_WORKERS],
  ] as const) {
    const own = pins(via);
    const results = await runInWorkers(
      [
        ...own.map(({ pin }) => ({ kind: 'schedule' as const, schedule: pin.schedule })),
        ...shards.map((shard) => ({ kind: 'shard' as const, shard: { ...shard, only: via } })),
      ],
      workers,
    );
    own.forEach(({ index }, i) => {
      pinned[index] = results[i] as RunReport;
    });
    shardResults.push(...(results.slice(own.length) as ShardResult[]));
  }
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
