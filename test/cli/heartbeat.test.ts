// A stuck wait prints what it awaits at least every 15 s of the engine's clock (a fake one here),
// so a Jenkins console never goes quiet.
import { describe, expect, it } from 'vitest';
import { renderEvent } from '../../src/cli/render.js';
import type { DeployEvent } from '../../src/rollout/events.js';
import type { Clock } from '../../src/rollout/ports.js';
import { HEARTBEAT_MS, type Verdict, waitFor } from '../../src/rollout/wait.js';

/** A clock whose sleeps pass at once, moving its time on by what was slept (and `lookMs` per look). */
const fakeClock = () => {
  let now = 0;
  const clock: Clock & { advance(ms: number): void } = {
    now: () => now,
    sleep: async (ms, signal) => {
      signal.throwIfAborted();
      now += ms;
    },
    deadline: () => new AbortController().signal,
    advance: (ms) => {
      now += ms;
    },
  };
  return clock;
};

const stuckWait = async (interval: number, timeout: number, lookMs = 0) => {
  const clock = fakeClock();
  const lines: { at: number; line: string }[] = [];
  const look = async (): Promise<Verdict> => {
    clock.advance(lookMs);
    return { kind: 'pending', done: 3, total: 4, waitingFor: ['i-0abc in reactio-web (initial: Elb.InitialHealthChecking)'] };
  };
  const error = await waitFor(look, {
    clock,
    interval,
    timeout,
    signal: new AbortController().signal,
    what: 'healthy in the target groups',
    report: {
      emit: (event: DeployEvent) => {
        const line = renderEvent(event);
        if (line) lines.push({ at: clock.now(), line });
      },
      phase: 'verify',
    },
  }).catch((thrown: unknown) => thrown);
  return { lines, error, end: clock.now() };
};

const gaps = (at: readonly number[], end: number): number[] => [...at, end].map((t, i) => t - (i === 0 ? 0 : (at[i - 1] as number)));

describe('the waiting heartbeat', () => {
  it.each([
    ['a short poll interval (5s)', 5_000, 0],
    ['a poll interval longer than the heartbeat (40s)', 40_000, 0],
    ['slow looks (4s each, every 10s)', 10_000, 4_000],
    ['a 1s poll', 1_000, 0],
  ])('with %s a line comes at least every 15 s while the wait is stuck', async (_, interval, lookMs) => {
    const { lines, error, end } = await stuckWait(interval, 600_000, lookMs);
    expect(String(error)).toMatch(/gave up after 600s/);
    expect(lines.length).toBeGreaterThan(600_000 / HEARTBEAT_MS - 2);
    expect(
      Math.max(
        ...gaps(
          lines.map((l) => l.at),
          end,
        ),
      ),
    ).toBeLessThanOrEqual(HEARTBEAT_MS);
  });

  it('each line says what is awaited, how far it is, and how long of how long', async () => {
    const { lines } = await stuckWait(5_000, 60_000);
    expect(lines[0]?.line).toBe(
      'verify: 3/4 healthy in the target groups; waiting on i-0abc in reactio-web (initial: Elb.InitialHealthChecking), 0s of 1m',
    );
    const times = lines.map((l) => l.line.replace(/.*, /, ''));
    for (const time of times) expect(time).toMatch(/^\d+s of 1m$/);
    expect(Number.parseInt(times.at(-1)!, 10)).toBeGreaterThanOrEqual(45);
  });

  it('stays quiet between heartbeats when nothing changes', async () => {
    const { lines } = await stuckWait(1_000, 60_000);
    // 60 looks, but a line only every 15 s or so.
    expect(lines.length).toBeLessThanOrEqual(60_000 / (HEARTBEAT_MS - 1_000) + 1);
  });

  it('reports at once when what is awaited changes', async () => {
    const clock = fakeClock();
    const seen: string[][] = [];
    let looks = 0;
    await waitFor(
      async (): Promise<Verdict> => {
        looks += 1;
        if (looks === 4) return { kind: 'passed' };
        return { kind: 'pending', done: looks - 1, total: 3, waitingFor: ['a', 'b', 'c'].slice(looks - 1) };
      },
      {
        clock,
        interval: 1_000,
        timeout: 60_000,
        signal: new AbortController().signal,
        what: 'x',
        report: { emit: (event) => event.type === 'waiting' && seen.push([...event.pending]), phase: 'launch' },
      },
    );
    expect(seen).toEqual([['a', 'b', 'c'], ['b', 'c'], ['c']]);
  });
});

describe('the waiting heartbeat, slow looks', () => {
  it('a look slower than the heartbeat does not make reports come back to back', async () => {
    const { lines } = await stuckWaitSlow();
    expect(lines).toBeLessThan(20);
  });
});

const stuckWaitSlow = async () => {
  const clock = fakeClock();
  let lines = 0;
  await waitFor(
    async (): Promise<Verdict> => {
      clock.advance(20_000);
      return { kind: 'pending', done: 0, total: 1, waitingFor: ['i-0abc'] };
    },
    {
      clock,
      interval: 5_000,
      timeout: 200_000,
      signal: new AbortController().signal,
      what: 'x',
      report: {
        emit: () => {
          lines += 1;
        },
        phase: 'launch',
      },
    },
  ).catch(() => undefined);
  return { lines };
};
