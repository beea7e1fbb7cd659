import { ApiError, UsageError } from '../rollout/errors.js';
import { redactEnvSecrets } from './redact.js';
import type { Write } from './render.js';

export interface Io {
  readonly out: Write;
  readonly err: Write;
  readonly env: NodeJS.ProcessEnv;
  /** Aborted with reason 'SIGINT' or 'SIGTERM' on the first signal. */
  readonly signal: AbortSignal;
  /** Learns the deploy id as soon as it exists, so a second signal can name it. */
  readonly onDeploy?: (deployId: string) => void;
}

/** Exit codes, as the README documents them. */
export const EXIT = {
  ok: 0,
  bug: 1,
  refused: 2,
  rolledBack: 3,
  incomplete: 4,
} as const;

export const interruptCode = (signal: AbortSignal): number => (signal.reason === 'SIGTERM' ? 143 : 130);

/** Prints an error thrown before anything changed and returns its exit code. */
export const reportError = (error: unknown, io: Io): number => {
  if (io.signal.aborted) {
    io.err(`interrupted by ${String(io.signal.reason)} before anything was changed`);
    return interruptCode(io.signal);
  }
  if (error instanceof UsageError || error instanceof ApiError) {
    io.err(`error: ${error.message}`);
    if (error.hint) io.err(`hint: ${error.hint}`);
    io.err('nothing was changed');
    return EXIT.refused;
  }
  // A bug's message may quote anything, a secret included.
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  io.err(`internal error (a bug, please report it): ${redactEnvSecrets(detail, io.env)}`);
  return EXIT.bug;
};
