import { stopReason } from './deadlines.js';
import type { Emit, Phase } from './events.js';
import type { Clock } from './ports.js';

/** The result of one look at the world while waiting. */
export type Verdict =
  | { readonly kind: 'passed' }
  | {
      readonly kind: 'pending';
      readonly done: number;
      readonly total: number;
      readonly waitingFor: readonly string[];
      /** When the verdict will pass unless something changes (a stable period ending): the next look comes then at the latest. */
      readonly passesInMs?: number;
    }
  | { readonly kind: 'failed'; readonly reason: string };

export interface WaitOptions {
  readonly clock: Clock;
  /** The longest pause between two looks (`pollInterval`); see nextPause. */
  readonly interval: number;
  readonly timeout: number;
  readonly signal: AbortSignal;
  /** Names what is awaited, for the timeout message. */
  readonly what: string;
  /**
   * Reports each change in what is still awaited as a `waiting` event of this phase, and repeats it
   * while nothing changes, so a report comes at least every HEARTBEAT_MS of the clock.
   */
  readonly report?: { readonly emit: Emit; readonly phase: Phase };
}

/** The longest a stuck wait goes without a `waiting` event: a console shows what is awaited. */
export const HEARTBEAT_MS = 15_000;

/** Right after a change the next look comes this many times sooner than `interval`. */
const QUICK_FACTOR = 8;

/**
 * The pause before the next look: short when the last look saw something change (more changes
 * tend to follow a transition), doubling while nothing changes, never longer than `interval`.
 */
export const nextPause = (previous: number, changed: boolean, interval: number): number =>
  changed ? interval / QUICK_FACTOR : Math.min(previous * 2, interval);

/** Looks until the verdict passes; throws on a failed verdict, on the deadline, or on abort, saying which. */
export const waitFor = async (look: () => Promise<Verdict>, options: WaitOptions): Promise<void> => {
  try {
    await lookUntilPassed(look, options);
  } catch (error) {
    if (!options.signal.aborted) throw error;
    throw new Error(`${options.what}: ${stopReason(options.signal)}`, { cause: error });
  }
};

const lookUntilPassed = async (look: () => Promise<Verdict>, options: WaitOptions): Promise<void> => {
  const startedAt = options.clock.now();
  const deadline = startedAt + options.timeout;
  let lastPending: readonly string[] = [];
  let reportedAt = -Infinity;
  let last: Extract<Verdict, { kind: 'pending' }> | undefined;
  // How long the last look took: the next one is expected to take as long, so a report comes before it.
  let lookMs = 0;
  const say = (verdict: Extract<Verdict, { kind: 'pending' }>) => {
    const { report } = options;
    if (!report || verdict.waitingFor.length === 0) return;
    const { done, total, waitingFor: pending } = verdict;
    const now = options.clock.now();
    reportedAt = now;
    report.emit({
      type: 'waiting',
      phase: report.phase,
      what: options.what,
      done,
      total,
      pending,
      elapsedMs: now - startedAt,
      ...(Number.isFinite(options.timeout) && { timeoutMs: options.timeout }),
    });
  };
  let pauseMs = options.interval;
  // Sleeps in pieces, repeating the last report whenever the next look would come too late.
  const pause = async (ms: number) => {
    const until = options.clock.now() + ms;
    for (;;) {
      const now = options.clock.now();
      if (now >= until) return;
      const stuck = last !== undefined && last.waitingFor.length > 0 && options.report !== undefined;
      if (stuck && last && now >= reportedAt + HEARTBEAT_MS - lookMs) say(last);
      const nextReport = stuck ? reportedAt + HEARTBEAT_MS - lookMs : Infinity;
      await options.clock.sleep(Math.max(1, Math.min(until, nextReport) - now), options.signal);
    }
  };
  for (;;) {
    options.signal.throwIfAborted();
    const lookedAt = options.clock.now();
    const verdict = await look();
    // Capped, so a very slow look cannot make the reports come back to back.
    lookMs = Math.min(options.clock.now() - lookedAt, HEARTBEAT_MS / 2);
    if (verdict.kind === 'passed') return;
    if (verdict.kind === 'failed') throw new Error(`${options.what}: ${verdict.reason}`);
    const changed = last === undefined || !sameList(lastPending, verdict.waitingFor);
    last = verdict;
    pauseMs = nextPause(pauseMs, changed, options.interval);
    const stale = options.clock.now() - reportedAt + pauseMs + lookMs > HEARTBEAT_MS;
    if (changed || stale) say(verdict);
    lastPending = verdict.waitingFor;
    const now = options.clock.now();
    if (now >= deadline) {
      throw new Error(
        `${options.what}: gave up after ${Math.round(options.timeout / 1000)}s; still waiting for ${verdict.waitingFor.join(', ')}`,
      );
    }
    // The last look comes at the deadline itself.
    await pause(Math.min(pauseMs, deadline - now, verdict.passesInMs ?? Infinity));
  }
};

const sameList = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((item, index) => item === b[index]);
