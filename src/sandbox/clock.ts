import { setTimeout as delay } from 'node:timers/promises';

/** The sandbox's scaled clock. */
export interface SimClock {
  /** Whole simulated milliseconds since the sandbox started, so instants add up exactly. */
  now(): number;
  /** Simulated wall-clock time (epoch ms) of a simulated instant, for timestamps in API answers. */
  epoch(simMs: number): number;
  /** Sleeps `simMs` simulated milliseconds (`simMs × timeScale` real ones). */
  sleep(simMs: number, signal: AbortSignal): Promise<void>;
}

/** `timeScale` is real ms per simulated ms: 0.01 makes one simulated second last 10 ms. */
export const createSimClock = (timeScale: number): SimClock => {
  if (!(timeScale > 0)) throw new RangeError(`timeScale must be a positive number, got ${timeScale}`);
  const startReal = performance.now();
  const startEpoch = Date.now();
  return {
    now: () => Math.floor((performance.now() - startReal) / timeScale),
    epoch: (simMs) => startEpoch + simMs,
    sleep: (simMs, signal) => delay(simMs * timeScale, undefined, { signal }),
  };
};
