// The world changes only at instants it can predict (a boot finishes, a health check passes, a
// drain ends). They wait here and are applied, in time order, when a request arrives: so every
// answer reflects exactly the transitions that happened before it, with no timers to race.

export type Transition = (at: number) => void;

interface Entry {
  readonly at: number;
  readonly seq: number;
  readonly run: Transition;
}

export interface Timeline {
  schedule(at: number, run: Transition): void;
  /** Applies every transition due at or before `now`, including those scheduled while applying. */
  runUntil(now: number): void;
  /** When the earliest transition is due, if any. */
  nextAt(): number | undefined;
}

export const createTimeline = (): Timeline => {
  const queue: Entry[] = [];
  let seq = 0;
  const before = (a: Entry, b: Entry) => a.at < b.at || (a.at === b.at && a.seq < b.seq);
  return {
    schedule: (at, run) => {
      const entry = { at, seq: seq++, run };
      let lo = 0;
      let hi = queue.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (before(queue[mid]!, entry)) lo = mid + 1;
        else hi = mid;
      }
      queue.splice(lo, 0, entry);
    },
    runUntil: (now) => {
      while (queue.length > 0 && queue[0]!.at <= now) {
        const entry = queue.shift()!;
        entry.run(entry.at);
      }
    },
    nextAt: () => queue[0]?.at,
  };
};
