import type { Deps } from './context.js';
import { isTransient, message } from './errors.js';

/** The pauses before each repeat of a recovery's reads, beyond the SDK's and the Mackerel client's own retries. */
const PAUSES_MS = [5_000, 15_000, 30_000];

/**
 * Runs `work` again while it fails for a reason that may heal (throttling, a 5xx, a dropped
 * connection), saying so: a recovery must not give up on a deploy in flight where a deploy would
 * have waited.
 */
export const retryTransient = async <T>(deps: Pick<Deps, 'clock' | 'emit'>, signal: AbortSignal, work: () => Promise<T>): Promise<T> => {
  for (const pause of PAUSES_MS) {
    try {
      return await work();
    } catch (error) {
      if (!isTransient(error) || signal.aborted) throw error;
      deps.emit({ type: 'warning', message: `${message(error)}; trying again in ${pause / 1000}s` });
    }
    await deps.clock.sleep(pause, signal);
  }
  return work();
};
