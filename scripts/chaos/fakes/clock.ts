// A clock that never really waits. Time moves only when every task waits on the clock: `run`
// lets the event loop settle (no fake does real I/O, so one setImmediate turn runs every promise
// that can run), then fires the earliest timer, and repeats until the awaited work settles.
import type { Clock } from '../../../src/rollout/ports.js';

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly fire: () => void;
  /** Cleared when the timer is cancelled (its sleep aborted) or its owner died. */
  live: () => boolean;
}

export interface FakeClock extends Clock {
  /**
   * Runs until `work` settles, firing timers in time order whenever nothing else can run.
   * Throws when `work` waits on nothing the clock could ever fire (a deadlock).
   */
  run<T>(work: Promise<T>): Promise<T>;
  /** A view of this clock whose timers do nothing once `alive` turns false: the clock of a process that may die. */
  owned(alive: () => boolean): Clock;
  /** Timers fired so far. */
  readonly fired: number;
}

/** What Node's timers/promises reject with when their signal aborts. */
const abortError = (signal: AbortSignal): Error =>
  Object.assign(new Error('The operation was aborted', { cause: signal.reason }), { name: 'AbortError', code: 'ABORT_ERR' });

/** What AbortSignal.timeout aborts with. */
const timeoutReason = (): DOMException => new DOMException('The operation was aborted due to timeout', 'TimeoutError');

const idle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** `start` is epoch ms, so the engine's timestamps read as real dates. */
export const createFakeClock = (start = Date.parse('2026-11-23T06:36:00.000Z')): FakeClock => {
  let now = start;
  let seq = 0;
  let fired = 0;
  // Sorted by (at, seq): the engine keeps few timers at once, so insertion by binary search is enough.
  const timers: Timer[] = [];
  const add = (ms: number, fire: () => void, live: () => boolean): Timer => {
    const timer: Timer = { at: now + Math.max(0, ms), seq: seq++, fire, live };
    let lo = 0;
    let hi = timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const other = timers[mid]!;
      if (other.at < timer.at || (other.at === timer.at && other.seq < timer.seq)) lo = mid + 1;
      else hi = mid;
    }
    timers.splice(lo, 0, timer);
    return timer;
  };

  const view = (alive: () => boolean): Clock => ({
    now: () => now,
    sleep: (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        if (signal.aborted) {
          reject(abortError(signal));
          return;
        }
        let done = false;
        const onAbort = () => {
          done = true;
          reject(abortError(signal));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        add(
          ms,
          () => {
            done = true;
            signal.removeEventListener('abort', onAbort);
            resolve();
          },
          () => !done && alive(),
        );
      }),
    deadline: (ms) => {
      const controller = new AbortController();
      add(
        ms,
        () => controller.abort(timeoutReason()),
        () => !controller.signal.aborted && alive(),
      );
      return controller.signal;
    },
  });

  const run = async <T>(work: Promise<T>): Promise<T> => {
    let settled = false;
    const watched = work.finally(() => {
      settled = true;
    });
    watched.catch(() => undefined);
    for (;;) {
      await idle();
      if (settled) return watched;
      let timer = timers.shift();
      while (timer && !timer.live()) timer = timers.shift();
      if (!timer) throw new Error(`deadlock at +${now - start} ms: the work waits on nothing the fake clock can fire`);
      now = Math.max(now, timer.at);
      fired++;
      timer.fire();
    }
  };

  return {
    ...view(() => true),
    run,
    owned: view,
    get fired() {
      return fired;
    },
  };
};
