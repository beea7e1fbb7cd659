// The chaos property: any generated schedule keeps every invariant. One shard is one fast-check
// run with its own seed, so a failure replays from that seed and fast-check's path alone.
import fc from 'fast-check';
import { type Figures, addReport, emptyFigures } from './figures.js';
import { type RunReport, runSchedule } from './run.js';
import { type Via, scheduleArb } from './schedule.js';

export interface ShardTask {
  readonly seed: number;
  readonly runs: number;
  /** fast-check's path of a counterexample: replays it (and shrinks from there). */
  readonly path?: string;
  /** Shrink a counterexample; off in CI, where every run costs a deploy. */
  readonly shrink: boolean;
  /** Runs only the schedules that go there (the others pass untried): the same shard, in two passes. */
  readonly only?: Via;
}

export interface ShardResult {
  readonly figures: Figures;
  /** fast-check's report of the counterexample and how to replay it. */
  readonly failure?: string;
}

/** A run that hangs longer than this fails: every wait of the tool has a deadline far below it. */
const RUN_TIMEOUT_MS = 120_000;

/** What went wrong in one run, with enough of its output to see why. */
export const describeRun = (report: RunReport): string =>
  [
    `deploy ${report.deployId ?? '(no id)'} ended ${report.status ?? 'refused'}; commands: ${report.commands
      .map((run) => `${run.command} -> ${run.killed ? 'killed' : run.code}`)
      .join(', ')}`,
    ...report.violations.map((v) => `  invariant ${v.invariant}: ${v.detail}`),
    ...report.commands.flatMap((run) => [
      `--- ${run.command} stdout`,
      run.stdout.trimEnd(),
      `--- ${run.command} stderr`,
      run.stderr.trimEnd(),
    ]),
  ].join('\n');

const replayHint = (seed: number, path: string) =>
  `run index ${path.split(':')[0]} of seed ${seed}; replay: npm run chaos -- --seed ${seed} --path "${path}"`;

export const runShard = async (task: ShardTask): Promise<ShardResult> => {
  const figures = emptyFigures();
  const property = fc.asyncProperty(scheduleArb, async (schedule) => {
    if (task.only !== undefined && (schedule.via ?? 'sandbox') !== task.only) return;
    const report = await runSchedule(schedule);
    addReport(figures, report);
    if (report.violations.length > 0) throw new Error(describeRun(report));
  });
  const details = await fc.check(property, {
    seed: task.seed,
    numRuns: task.runs,
    path: task.path,
    endOnFailure: !task.shrink,
    timeout: RUN_TIMEOUT_MS,
  });
  if (!details.failed) return { figures };
  const hint = details.counterexamplePath === null ? `seed ${details.seed}` : replayHint(details.seed, details.counterexamplePath);
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  return { figures, failure: `${hint}\n${fc.defaultReportMessage(details)}\n${error}` };
};
