// Between a port method and the world: the requests an adapter sends, each of which may meet one
// of the sandbox's request faults, and the adapters' retries (the AWS SDK's 5 attempts with
// jittered back-off; the Mackerel client's 5 retries with exponential back-off and Retry-After).
// A port call fails only as the real adapter's would: after its retries, as the same ApiError.
import { REQUEST_TIMEOUT_MS } from '../../../src/aws/clients.js';
import { callAws } from '../../../src/aws/errors.js';
import { ApiError } from '../../../src/rollout/errors.js';
import type { Clock } from '../../../src/rollout/ports.js';
import { requestFaultFor } from '../../../src/sandbox/faults.js';
import type { FakeProcess } from './process.js';
import type { World } from './world.js';

export type Api = 'ec2' | 'elbv2' | 'mackerel';

/** What a service answers instead of a result: its error code (the SDK's error name) and HTTP status. */
export class ServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    /** Seconds, a Mackerel 429's Retry-After. */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = code;
  }
}

/** A connection that broke or timed out: no answer at all. */
class ConnectionError extends Error {
  constructor(readonly code: string) {
    super(code === 'ETIMEDOUT' ? 'the request timed out' : 'socket hang up');
  }
}

/** One process's way to the world: its clock and its life. */
export interface Conduit {
  readonly world: World;
  readonly process: FakeProcess;
  readonly clock: Clock;
}

const AWS_ATTEMPTS = 5;
const MACKEREL_ATTEMPTS = 6;
/** undici's headers timeout in the Mackerel client. */
const MACKEREL_TIMEOUT_MS = 30_000;
const THROTTLING = new Set(['RequestLimitExceeded', 'Throttling', 'ThrottlingException']);

const retryable = (api: Api, error: unknown): boolean => {
  if (error instanceof ConnectionError) return true;
  if (!(error instanceof ServiceError)) return false;
  if (api === 'mackerel') return error.status === 429 || error.status >= 500;
  return error.status >= 500 || THROTTLING.has(error.code);
};

const backoff = (world: World, api: Api, error: unknown, attempt: number): number => {
  if (api === 'mackerel') {
    if (error instanceof ServiceError && error.status === 429 && error.retryAfter !== undefined)
      return Math.min(error.retryAfter * 1000, 30_000);
    return Math.min(30_000, 1000 * 2 ** (attempt - 1) * (1 + world.random()));
  }
  const base = error instanceof ServiceError && THROTTLING.has(error.code) ? 500 : 100;
  return Math.floor(world.random() * Math.min(20_000, base * 2 ** (attempt - 1)));
};

const abortError = (): Error => Object.assign(new Error('Request aborted'), { name: 'AbortError' });

/** Waits `ms` on the process's clock; false when `signal` aborted first. */
const wait = (clock: Clock, ms: number, signal: AbortSignal): Promise<boolean> =>
  clock.sleep(ms, signal).then(
    () => true,
    () => false,
  );

/** One request: the fault it meets, if any, then the world's answer. */
const attemptOnce = async <T>(c: Conduit, api: Api, action: string, apply: () => T, signal: AbortSignal): Promise<T> => {
  const { world } = c;
  await c.process.pass();
  world.stats.requests++;
  const fault = requestFaultFor(world.faults, api, action);
  if (fault) world.stats.faultsMet[fault.type] = (world.stats.faultsMet[fault.type] ?? 0) + 1;
  if (fault?.type === 'api-error') {
    throw new ServiceError(fault.code ?? String(fault.status), `injected ${fault.status}`, fault.status, fault.retryAfter);
  }
  if (fault?.type === 'drop') throw new ConnectionError('ECONNRESET');
  if (fault?.type === 'stall') {
    const timeout = api === 'mackerel' ? MACKEREL_TIMEOUT_MS : REQUEST_TIMEOUT_MS;
    const answered = fault.ms > 0 && fault.ms < timeout;
    if (!(await wait(c.clock, answered ? fault.ms : timeout, signal))) throw abortError();
    // A request its client gave up on is never processed.
    if (!answered) throw new ConnectionError('ETIMEDOUT');
    await c.process.pass();
  }
  world.advance();
  if (fault?.type === 'drop-after') {
    try {
      apply();
      if (action === 'RunInstances') world.stats.lostLaunches++;
    } catch {
      // Its error is lost with the connection too.
    }
    throw new ConnectionError('ECONNRESET');
  }
  return apply();
};

const finalError = (api: Api, operation: string, error: unknown, attempts: number, where?: string): Promise<never> => {
  if (api !== 'mackerel') {
    const named = error instanceof ConnectionError ? Object.assign(new Error(error.message), { code: error.code }) : error;
    return callAws(api === 'ec2' ? 'EC2' : 'ELBv2', operation, () => Promise.reject(named), where);
  }
  if (!(error instanceof ServiceError || error instanceof ConnectionError)) return Promise.reject(error);
  const code = error instanceof ServiceError ? String(error.status) : error.code;
  const reason = attempts > 1 ? `${error.message} (after ${attempts} attempts)` : error.message;
  return Promise.reject(new ApiError('Mackerel', operation, code, reason));
};

/**
 * Sends one request of a port call, retrying as the adapter does. `apply` reads or changes the
 * world and returns the answer, or throws a ServiceError; anything else it throws passes through.
 */
export const send = async <T>(
  c: Conduit,
  api: Api,
  action: string,
  apply: () => T,
  signal: AbortSignal,
  options: { where?: string } = {},
): Promise<T> => {
  const attempts = api === 'mackerel' ? MACKEREL_ATTEMPTS : AWS_ATTEMPTS;
  for (let attempt = 1; ; attempt++) {
    if (signal.aborted) throw api === 'mackerel' ? signal.reason : abortError();
    try {
      return await attemptOnce(c, api, action, apply, signal);
    } catch (error) {
      if (!retryable(api, error) || attempt === attempts) return finalError(api, action, error, attempt, options.where);
      if (!(await wait(c.clock, backoff(c.world, api, error, attempt), signal))) throw api === 'mackerel' ? signal.reason : abortError();
      await c.process.pass();
    }
  }
};
