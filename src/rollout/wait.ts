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
  /**
   * Reports each change in what is still awaited as a `waiting` event of this phase, and repeats it
   * while nothing changes, so a report comes at least every HEARTBEAT_MS of the clock.
   */
  readonly report?: { readonly emit: Emit; readonly phase: Phase };
}

/** The longest a stuck wait goes without a `waiting` event: a console shows what is awaited. */
export const HEARTBEAT_MS = 15_000;

/** Looks until the verdict passes; throws on a failed verdict, on the deadline, or on abort. */
export const waitFor = async (look: () => Promise<Verdict>, options: WaitOptions): Promise<void> => {
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
  // Sleeps the interval in pieces, repeating the last report whenever the next look would come too late.
  const pause = async () => {
    const until = options.clock.now() + options.interval;
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
    last = verdict;
    const stale = options.clock.now() - reportedAt + options.interval + lookMs > HEARTBEAT_MS;
    if (!sameList(lastPending, verdict.waitingFor) || stale) say(verdict);
    lastPending = verdict.waitingFor;
    if (options.clock.now() + options.interval > deadline) {
      throw new Error(
        `${options.what}: gave up after ${Math.round(options.timeout / 1000)}s; still waiting for ${verdict.waitingFor.join(', ')}`,
      );
    }
    await pause();
  }
};

const sameList = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((item, index) => item === b[index]);
