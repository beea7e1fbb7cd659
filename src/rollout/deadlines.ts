// How long the steps that are not waits of their own may take. Each is a deadline on every call
// of the step; a step past it leaves what it could not do for a person (exit 4), never hangs.
import type { Clock } from './ports.js';

/** One step of the old fleet's retirement after verification: terminate, retire (cutover adds the drain timeout). */
export const STEP_MS = 5 * 60_000;
/** Marking the new instances done, and the graph annotation. */
export const MARK_MS = 60_000;
/** A rollback, which must not obey the interrupt that may have caused it. */
export const ROLLBACK_MS = 15 * 60_000;

/** The reason a named deadline aborts with. */
class DeadlineReached extends Error {
  override readonly name = 'DeadlineReached';
}

/** A deadline `ms` from now that names itself (`the rollback's 15m deadline`) in whatever it cuts short. */
export const namedDeadline = (clock: Clock, ms: number, name: string): AbortSignal => {
  const named = new AbortController();
  const timer = clock.deadline(ms);
  const reached = () => named.abort(new DeadlineReached(`${name} (${Math.round(ms / 1000)}s)`));
  if (timer.aborted) reached();
  else timer.addEventListener('abort', reached, { once: true });
  return named.signal;
};

/** Why an aborted signal stopped a wait: the operator's signal, or which deadline. */
export const stopReason = (signal: AbortSignal): string => {
  const { reason } = signal;
  if (typeof reason === 'string') return `interrupted by ${reason}`;
  if (reason instanceof DeadlineReached) return `stopped at ${reason.message}`;
  return 'stopped at its deadline';
};
