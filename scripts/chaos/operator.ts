// What the person at the console runs next in a chaos run, from what ran so far and where the
// deploy stands: the recovery after a kill, the command an exit 4 names (once the faults are
// lifted and the hooks fixed), and what the schedule's options end with (finish, shrink, cutover,
// rollback). The sandbox and the fakes both follow it.
import type { CommandRun } from './evidence.js';
import type { Command, Schedule } from './schedule.js';

export interface Next {
  readonly command: Command;
  /** The faults to inject first (after a kill: the schedule's crash faults). */
  readonly inject?: boolean;
  /** Lift every fault and fix the failing hooks first. */
  readonly fix?: boolean;
  /** Delete the deploy's journal record first (if there): the command runs as on another machine. */
  readonly loseJournal?: boolean;
}

/** A chaos run ends after this many commands, whatever is left: the end state then tells what went wrong. */
const MAX_COMMANDS = 8;

/** What the operator does once the deploy keeps the old fleet or is held, in order. */
const windowSteps = (schedule: Schedule, status: string | undefined): Command[] => {
  if (status === 'kept' && schedule.keep) return schedule.keep === 'shrink' ? ['shrink', 'finish'] : [schedule.keep];
  // On another machine the operator does not know the deploy is held, and tries resume first (it must refuse).
  if (status === 'held' && schedule.hold) return schedule.journalLost ? ['resume', schedule.hold] : [schedule.hold];
  return [];
};

/**
 * A window step is done once it ran to its end; a killed rollback is run again (it is an undo),
 * a killed shrink is not (what it terminated is gone, and the finish after it ends the window).
 */
const ran = (commands: readonly CommandRun[], step: Command): boolean =>
  commands.some((run) => run.command === step && (!run.killed || step === 'shrink'));

/** `status`: the record's, or the last one seen before the journal lost it. */
export const nextCommand = (schedule: Schedule, commands: readonly CommandRun[], status: string | undefined): Next | undefined => {
  const last = commands.at(-1);
  if (!last || commands.length >= MAX_COMMANDS) return undefined;
  if (last.killed) return { command: schedule.crash!.recover, inject: true };
  // Refused while the other operator's command held the deploy, which has ended since: run it again.
  if (last.concurrent && last.code === 2 && /is being worked on by/.test(last.stderr)) return { command: last.command };
  if (last.command === 'rollback' && last.code === 2 && /can no longer be rolled back/.test(last.stderr)) return { command: 'resume' };
  // The first exit 4 only: after the fix a second one is the tool's to answer for.
  if (last.code === 4 && !commands.slice(0, -1).some((run) => run.code === 4)) {
    return { command: /mackerel-replacer resume \S+/.test(last.stderr) ? 'resume' : 'rollback', fix: true };
  }
  const step = windowSteps(schedule, status).find((candidate) => !ran(commands, candidate));
  if (step === undefined) return undefined;
  return { command: step, ...(schedule.journalLost && status === 'held' && { loseJournal: true }) };
};

/** The refusal of a resume on a deploy that waits for a person's decision (resume.ts); the window step follows it. */
export const refusedWindowResume = (run: CommandRun): boolean =>
  run.command === 'resume' &&
  run.code === 2 &&
  /keeps the old fleet: there is nothing to resume|is held before cutover: resume does not switch the traffic/.test(run.stderr);
