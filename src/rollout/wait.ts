import type { Emit, Phase } from './events.js';
import type { Clock } from './ports.js';

/** The result of one look at the world while waiting. */
export type Verdict =
  | { readonly kind: 'passed' }
  | { readonly kind: 'pending'; readonly done: number; readonly total: number; readonly waitingFor: readonly string[] }
  | { readonly kind: 'failed'; readonly reason: string };

export interface WaitOptions {
  readonly clock: Clock;
  readonly interval: number;
  readonly timeout: number;
  readonly signal: AbortSignal;
  /** Names what is awaited, for the timeout message. */
  readonly what: string;
  /** Reports each change in what is still awaited as a `waiting` event of this phase. */
  readonly report?: { readonly emit: Emit; readonly phase: Phase };
}

/** Looks until the verdict passes; throws on a failed verdict, on the deadline, or on abort. */
export const waitFor = async (look: () => Promise<Verdict>, options: WaitOptions): Promise<void> => {
  const deadline = options.clock.now() + options.timeout;
  let lastPending: readonly string[] = [];
  for (;;) {
    options.signal.throwIfAborted();
    const verdict = await look();
    if (verdict.kind === 'passed') return;
    if (verdict.kind === 'failed') throw new Error(`${options.what}: ${verdict.reason}`);
    const { report } = options;
    if (report && verdict.waitingFor.length > 0 && !sameList(lastPending, verdict.waitingFor)) {
      const { done, total, waitingFor: pending } = verdict;
      report.emit({ type: 'waiting', phase: report.phase, what: options.what, done, total, pending });
    }
    lastPending = verdict.waitingFor;
    if (options.clock.now() + options.interval > deadline) {
      throw new Error(
        `${options.what}: gave up after ${Math.round(options.timeout / 1000)}s; still waiting for ${verdict.waitingFor.join(', ')}`,
      );
    }
    await options.clock.sleep(options.interval, options.signal);
  }
};

const sameList = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((item, index) => item === b[index]);

