// The tallies a chaos run prints at the end.
import type { RunReport } from './run.js';
import { type Schedule, crashPointsOf, kindOf } from './schedule.js';

/** Fakes/sandbox × role × step boundary (the second wave's start and the blue/green options' among them) × resume/rollback. */
export const CRASH_CASES = 2 * (crashPointsOf('web', true).length + crashPointsOf('worker', true).length) * 2;

/** How `crashes` names a schedule's crash case. */
export const crashCase = (schedule: Schedule): string =>
  `${schedule.via ?? 'sandbox'} ${schedule.role} ${schedule.crash?.at} -> ${schedule.crash?.recover}`;

type Tally = Record<string, number>;

export interface Figures {
  schedules: number;
  /** Runs by where they ran: `fakes` or `sandbox`. */
  runs: Tally;
  /** Real milliseconds the runs took, by where they ran (runs overlap on the worker threads). */
  runMs: Tally;
  /** Fault entries injected, by kind. */
  faults: Tally;
  /** The same, of the runs against the sandbox only. */
  sandboxFaults: Tally;
  /** Requests that met a request fault, by fault type. */
  faultsMet: Tally;
  /** RunInstances calls that launched but whose answer was lost. */
  lostLaunches: number;
  /** `via role point -> recovery`: the CLI was killed there. */
  crashes: Tally;
  /** Crashes scheduled at a point the deploy never reached (it failed earlier). */
  crashesUnreached: number;
  /** `command exit code`. */
  exits: Tally;
  /** How the deploy ended: its record's final status, or `refused`. */
  outcomes: Tally;
  /** By invariant. */
  violations: Tally;
}

export const emptyFigures = (): Figures => ({
  schedules: 0,
  runs: {},
  runMs: {},
  faults: {},
  sandboxFaults: {},
  faultsMet: {},
  lostLaunches: 0,
  crashes: {},
  crashesUnreached: 0,
  exits: {},
  outcomes: {},
  violations: {},
});

const bump = (tally: Tally, key: string, by = 1) => {
  tally[key] = (tally[key] ?? 0) + by;
};

export const addReport = (figures: Figures, report: RunReport): void => {
  const { schedule } = report;
  const via = schedule.via ?? 'sandbox';
  figures.schedules += 1;
  bump(figures.runs, via);
  bump(figures.runMs, via, Math.round(report.ms ?? 0));
  for (const fault of [...schedule.faults, ...(schedule.crash?.faults ?? [])]) {
    bump(figures.faults, kindOf(fault));
    if (via === 'sandbox') bump(figures.sandboxFaults, kindOf(fault));
  }
  for (const [type, n] of Object.entries(report.faultsMet)) bump(figures.faultsMet, type, n);
  figures.lostLaunches += report.lostLaunches;
  if (schedule.crash) {
    if (report.commands.some((run) => run.killed)) bump(figures.crashes, crashCase(schedule));
    else figures.crashesUnreached += 1;
  }
  for (const run of report.commands) bump(figures.exits, `${run.command} ${run.killed ? 'killed' : run.code}`);
  bump(figures.outcomes, report.status ?? 'refused');
  for (const violation of report.violations) bump(figures.violations, violation.invariant);
};

export const mergeFigures = (into: Figures, from: Figures): void => {
  into.schedules += from.schedules;
  into.crashesUnreached += from.crashesUnreached;
  into.lostLaunches += from.lostLaunches;
  for (const key of ['runs', 'runMs', 'faults', 'sandboxFaults', 'faultsMet', 'crashes', 'exits', 'outcomes', 'violations'] as const) {
    for (const [name, n] of Object.entries(from[key])) bump(into[key], name, n);
  }
};

const total = (tally: Tally) => Object.values(tally).reduce((sum, n) => sum + n, 0);
const listed = (tally: Tally) =>
  Object.entries(tally)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, n]) => `${name} ${n}`)
    .join(', ') || 'none';

export const formatFigures = (figures: Figures, wallMs: number): string[] => [
  `schedules tried: ${figures.schedules} in ${(wallMs / 1000).toFixed(1)}s (${(figures.schedules / (wallMs / 1000)).toFixed(1)} per second): ${listed(figures.runs)}`,
  `  one run took on average: ${Object.entries(figures.runs)
    .map(([via, n]) => `${via} ${((figures.runMs[via] ?? 0) / n / 1000).toFixed(2)}s`)
    .join(', ')}`,
  `faults injected: ${total(figures.faults)} (${listed(figures.faults)})`,
  `  of which against the sandbox: ${total(figures.sandboxFaults)} (${listed(figures.sandboxFaults)})`,
  `requests that met a fault: ${total(figures.faultsMet)} (${listed(figures.faultsMet)}), of which RunInstances answers lost after launching: ${figures.lostLaunches}`,
  `crash points exercised: ${Object.keys(figures.crashes).length} of ${CRASH_CASES} (fakes/sandbox × role × step boundary × resume/rollback), ` +
    `${total(figures.crashes)} kills; ${figures.crashesUnreached} scheduled kills not reached (the deploy ended first)`,
  `  kills: ${listed(figures.crashes)}`,
  `exit codes: ${listed(figures.exits)}`,
  `outcomes: ${listed(figures.outcomes)}`,
  `invariant violations: ${total(figures.violations)}${total(figures.violations) > 0 ? ` (${listed(figures.violations)})` : ''}`,
];
