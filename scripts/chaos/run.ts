// One chaos run, against the fakes (in memory, on a fake clock) or the sandbox (over HTTP, in
// scaled real time), as its schedule says; both are judged by the same invariants.
import type { CommandRun, Violation } from './evidence.js';
import { runOnFakes } from './fake-run.js';
import { runOnSandbox } from './sandbox-run.js';
import type { Schedule } from './schedule.js';

export interface RunReport {
  readonly schedule: Schedule;
  readonly deployId?: string;
  readonly status?: string;
  readonly commands: readonly CommandRun[];
  /** Requests that met an injected fault, by fault type. */
  readonly faultsMet: Readonly<Record<string, number>>;
  /** RunInstances calls that launched, whose answer was lost (drop-after). */
  readonly lostLaunches: number;
  readonly violations: readonly Violation[];
  /** Real milliseconds the run took. */
  readonly ms?: number;
}

export const runSchedule = async (schedule: Schedule): Promise<RunReport> => {
  const t0 = performance.now();
  const report = await (schedule.via === 'fakes' ? runOnFakes(schedule) : runOnSandbox(schedule));
  return { ...report, ms: performance.now() - t0 };
};
