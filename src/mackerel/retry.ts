// When a Mackerel call is worth repeating, and how long to wait before the next attempt.
import { setTimeout as sleep } from 'node:timers/promises';
import pRetry from 'p-retry';
import { CONNECTION_CODES } from '../rollout/errors.js';

export interface RetryPolicy {
  /** Attempts after the first. @default 5 */
  readonly retries: number;
  /** First exponential back-off step. @default 1000 */
  readonly minTimeoutMs: number;
  /** Cap on any single wait, a server's Retry-After included. @default 30000 */
  readonly maxTimeoutMs: number;
}

export interface RetryNotice {
  /** The attempt that just failed, counting from 1. */
  readonly attempt: number;
  readonly code: string;
  /** The server's Retry-After, capped; absent when p-retry's randomized exponential back-off applies. */
  readonly waitMs?: number;
}

/** One failed attempt; `code` is the HTTP status as a string or a connection error code. */
export class AttemptFailed extends Error {
  override readonly name = 'AttemptFailed';
  constructor(
    readonly code: string,
    readonly reason: string,
    /** Parsed from a 429's Retry-After header. */
    readonly retryAfterMs?: number,
  ) {
    super(`${code}: ${reason}`);
  }
}

export const isConnectionCode = (code: string): boolean => CONNECTION_CODES.has(code);

/** 429, 5xx and dropped or refused connections may heal; any other failure will not. */
export const isRetryable = (code: string): boolean => code === '429' || /^5\d\d$/.test(code) || isConnectionCode(code);

/** Retry-After is either delay-seconds or an HTTP date; anything else is ignored. */
export const parseRetryAfter = (header: string | undefined, now: number): number | undefined => {
  const value = header?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
};

const serverWait = (error: unknown, policy: RetryPolicy): number | undefined =>
  error instanceof AttemptFailed && error.code === '429' && error.retryAfterMs !== undefined
    ? Math.min(error.retryAfterMs, policy.maxTimeoutMs)
    : undefined;

const pause = async (ms: number, signal: AbortSignal): Promise<void> => {
  try {
    await sleep(ms, undefined, { signal });
  } catch (error) {
    signal.throwIfAborted();
    throw error;
  }
};

export interface RetryOptions {
  readonly policy: RetryPolicy;
  readonly signal: AbortSignal;
  readonly onRetry?: (notice: RetryNotice) => void;
}

/** Runs `attempt` until it succeeds, fails for good, runs out of retries, or `signal` aborts. */
export const withRetry = <T>(attempt: () => Promise<T>, { policy, signal, onRetry }: RetryOptions): Promise<T> =>
  pRetry(attempt, {
    retries: policy.retries,
    minTimeout: policy.minTimeoutMs,
    maxTimeout: policy.maxTimeoutMs,
    randomize: true,
    signal,
    // p-retry cannot take a per-attempt delay: for a server-given wait we sleep in shouldRetry
    // and keep p-retry from adding its own back-off; the attempt cap below still counts it.
    shouldConsumeRetry: ({ error }) => serverWait(error, policy) === undefined,
    shouldRetry: async ({ error, attemptNumber }) => {
      if (!(error instanceof AttemptFailed) || !isRetryable(error.code)) return false;
      if (attemptNumber > policy.retries) return false;
      const waitMs = serverWait(error, policy);
      onRetry?.({ attempt: attemptNumber, code: error.code, waitMs });
      if (waitMs !== undefined) await pause(waitMs, signal);
      return true;
    },
  });
