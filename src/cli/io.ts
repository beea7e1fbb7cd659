import { ApiError, JournalError, UsageError } from '../rollout/errors.js';
import { redactEnvSecrets } from './redact.js';
import type { Write } from './render.js';
import { STOP_SIGNALS } from './signals.js';

export interface Io {
  readonly out: Write;
  readonly err: Write;
  readonly env: NodeJS.ProcessEnv;
  /** Aborted with the signal's name (SIGINT, SIGTERM, SIGHUP) on the first one, or with BUG on an uncaught error. */
  readonly signal: AbortSignal;
  /**
   * Whether a person is at a terminal (stdin and stdout are TTYs): only then does `replace` ask
   * before acting. Absent: not interactive (Jenkins, pipes, tests).
   */
  readonly interactive?: boolean;
  /** Asks a person `question` and gives the line they answered; undefined at end of input. */
  readonly ask?: (question: string, signal: AbortSignal) => Promise<string | undefined>;
  /** Learns the commands that undo or finish the deploy as soon as it has an id, so a last signal can print them. */
  readonly onDeploy?: (recovery: { readonly rollback: string; readonly resume: string }) => void;
}

/** Exit codes, as the README documents them. */
export const EXIT = {
  ok: 0,
  bug: 1,
  refused: 2,
  rolledBack: 3,
  incomplete: 4,
} as const;

/** The abort reason of a run stopped by an uncaught error in the CLI layer: it stops as a signal would, then exits 1. */
export const BUG = 'an internal error';

export const interruptCode = (signal: AbortSignal): number =>
  signal.reason === BUG ? EXIT.bug : (STOP_SIGNALS[signal.reason as keyof typeof STOP_SIGNALS] ?? STOP_SIGNALS.SIGINT);

/** Cuts every word longer than 200 characters (a pasted blob as a flag, say) to its start and its length. */
export const shorten = (text: string): string => text.replace(/\S{201,}/g, (word) => `${word.slice(0, 80)}…(${word.length} characters)`);

const JOURNAL_HINT = 'free space in the journal folder or make it writable again, or pass --journal-dir a folder this user can write';

/** Prints an error thrown before anything changed and returns its exit code. */
export const reportError = (error: unknown, io: Io): number => {
  if (io.signal.aborted) {
    io.err(`interrupted by ${String(io.signal.reason)} before anything was changed`);
    return interruptCode(io.signal);
  }
  if (error instanceof UsageError || error instanceof ApiError || error instanceof JournalError) {
    io.err(shorten(`error: ${error.message}`));
    const hint = error instanceof JournalError ? JOURNAL_HINT : error.hint;
    if (hint) io.err(shorten(`hint: ${hint}`));
    io.err('nothing was changed');
    return EXIT.refused;
  }
  return reportBug(error, io);
};

/** Prints a bug, stack included, and returns its exit code. */
export const reportBug = (error: unknown, io: Pick<Io, 'err' | 'env'>): number => {
  // A bug's message may quote anything, a secret included.
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  io.err(`internal error (a bug, please report it): ${redactEnvSecrets(detail, io.env)}`);
  return EXIT.bug;
};
