// How often a wait looks: quick right after a change, backing off while nothing changes, never
// slower than the interval, and a last look at the deadline.
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/rollout/ports.js';
import { type Verdict, nextPause, waitFor } from '../../src/rollout/wait.js';

const fakeClock = (): Clock => {
  let now = 0;
  return {
    now: () => now,
    sleep: async (ms, signal) => {
      signal.throwIfAborted();
      now += ms;
    },
    deadline: () => new AbortController().signal,
  };
};

/** Runs a wait whose look returns `verdictAt(t)`; the times of its looks. */
const looksOf = async (verdictAt: (t: number) => Verdict, timeout = 60_000) => {
  const clock = fakeClock();
  const at: number[] = [];
  const look = async () => {
    at.push(clock.now());
    return verdictAt(clock.now());
  };
  const signal = new AbortController().signal;
  const error = await waitFor(look, { clock, interval: 8_000, timeout, signal, what: 'x' }).catch((e: unknown) => e);
  return { at, error };
};

const pending = (...waitingFor: string[]): Verdict => ({ kind: 'pending', done: 0, total: 2, waitingFor });

describe('adaptive polling', () => {
  it('doubles the pause while nothing changes, up to the interval, and starts over after a change', () => {
    expect(nextPause(8_000, true, 8_000)).toBe(1_000);
    expect(nextPause(1_000, false, 8_000)).toBe(2_000);
    expect(nextPause(4_000, false, 8_000)).toBe(8_000);
    expect(nextPause(8_000, false, 8_000)).toBe(8_000);
  });

  it('looks at once, then quickly, backing off while the world stands still', async () => {
    const { at } = await looksOf((t) => (t >= 40_000 ? { kind: 'passed' } : pending('i-1')));
    expect(at.slice(0, 6)).toEqual([0, 1_000, 3_000, 7_000, 15_000, 23_000]);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    expect(Math.max(...gaps)).toBe(8_000);
  });

  it('looks again quickly after each change, so the next phase starts soon after its precondition holds', async () => {
    // i-1 arrives at 22 s, i-2 a moment later: the look after the first change catches the second.
    const { at } = await looksOf((t) => (t >= 23_500 ? { kind: 'passed' } : t >= 22_000 ? pending('i-2') : pending('i-1', 'i-2')));
    const changedAt = at.find((t) => t >= 22_000)!;
    expect(at.at(-1)! - changedAt).toBe(1_000);
  });

  it('looks again when a pending verdict says it will pass (a stable period ending), not a pause later', async () => {
    const { at } = await looksOf((t) =>
      t >= 10_000 ? { kind: 'passed' } : { ...pending('stable for 10s'), ...(t >= 7_000 && { passesInMs: 10_000 - t }) },
    );
    expect(at.at(-1)).toBe(10_000);
  });

  it('makes its last look at the deadline, not a pause before it', async () => {
    const { at, error } = await looksOf(() => pending('i-1'), 30_000);
    expect(at.at(-1)).toBe(30_000);
    expect(String(error)).toMatch(/gave up after 30s/);
  });
});
