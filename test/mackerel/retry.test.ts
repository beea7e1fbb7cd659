import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createMackerelClient } from '../../src/mackerel/client.js';
import { parseRetryAfter, type RetryNotice, type RetryPolicy } from '../../src/mackerel/retry.js';
import { ApiError } from '../../src/rollout/errors.js';
import { type FakeApi, type Reply, startApi } from './fake-api.js';

const fast: RetryPolicy = { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 5 };
const hostList: Reply = { status: 200, body: { hosts: [] } };
const unavailable: Reply = { status: 503, body: { error: { message: 'Service Unavailable' } } };

let api: FakeApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

const setup = async (script: (index: number) => Reply, retry: RetryPolicy = fast, onRetry?: (n: RetryNotice) => void) => {
  api = await startApi((_, index) => script(index));
  const notices: RetryNotice[] = [];
  const client = createMackerelClient({
    apiKey: 'sk-SECRET-123',
    apiBase: api.url,
    retry,
    onRetry: (notice) => {
      notices.push(notice);
      onRetry?.(notice);
    },
  });
  return { client, api, notices };
};

const failure = (promise: Promise<unknown>): Promise<ApiError> =>
  promise.then(
    () => expect.fail('expected the call to fail'),
    (error: unknown) => {
      expect(error).toBeInstanceOf(ApiError);
      return error as ApiError;
    },
  );

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-08-22T10:00:00Z');
  it.each([
    ['1', 1000],
    ['0', 0],
    ['2.5', 2500],
    ['Sat, 22 Aug 2026 10:00:03 GMT', 3000],
    ['Sat, 22 Aug 2026 09:59:00 GMT', 0],
    ['soon', undefined],
    [undefined, undefined],
  ])('%s → %s ms', (header, ms) => {
    expect(parseRetryAfter(header, now)).toBe(ms);
  });
});

describe('retries', () => {
  it('waits exactly the Retry-After of a 429, then succeeds', async () => {
    const retryAfter: Reply = { status: 429, body: { error: { message: 'Too Many Requests' } }, headers: { 'retry-after': '1' } };
    const { client, api, notices } = await setup((i) => (i === 0 ? retryAfter : hostList), { ...fast, maxTimeoutMs: 30_000 });
    await expect(client.hosts('shop', 'web', { signal: new AbortController().signal })).resolves.toEqual([]);
    expect(api.requests).toHaveLength(2);
    expect(notices).toEqual([{ operation: 'GET /api/v0/hosts', attempt: 1, code: '429', waitMs: 1000 }]);
  });

  it('caps a Retry-After at the longest back-off', async () => {
    const retryAfter: Reply = { status: 429, headers: { 'retry-after': '120' } };
    const { client, notices } = await setup((i) => (i === 0 ? retryAfter : hostList));
    await client.hosts('shop', 'web', { signal: new AbortController().signal });
    expect(notices.map((n) => n.waitMs)).toEqual([5]);
  });

  it('backs off exponentially after a 429 without Retry-After and after a 503, then succeeds', async () => {
    const replies: Reply[] = [{ status: 429 }, unavailable, hostList];
    const { client, api, notices } = await setup((i) => replies[i] ?? hostList);
    await expect(client.hosts('shop', 'web', { signal: new AbortController().signal })).resolves.toEqual([]);
    expect(api.requests).toHaveLength(3);
    expect(notices.map(({ attempt, code, waitMs }) => ({ attempt, code, waitMs }))).toEqual([
      { attempt: 1, code: '429', waitMs: undefined },
      { attempt: 2, code: '503', waitMs: undefined },
    ]);
  });

  it('retries a dropped connection', async () => {
    const { client, api, notices } = await setup((i) => (i === 0 ? { drop: true } : hostList));
    await expect(client.hosts('shop', 'web', { signal: new AbortController().signal })).resolves.toEqual([]);
    expect(api.requests).toHaveLength(2);
    expect(notices.map((n) => n.code)).toEqual(['UND_ERR_SOCKET']);
  });

  it('gives up after the limit, naming the call and the attempts', async () => {
    const { client, api } = await setup(() => unavailable);
    const error = await failure(client.hosts('shop', 'web', { signal: new AbortController().signal }));
    expect(api.requests).toHaveLength(3);
    expect(error.code).toBe('503');
    expect(error.message).toBe('Mackerel GET /api/v0/hosts failed: 503: Service Unavailable (after 3 attempts)');
    expect(error.hint).toBe('Mackerel is throttling or failing; retry later');
  });

  it('counts waits the server asked for towards the limit', async () => {
    const { client, api } = await setup(() => ({ status: 429, headers: { 'retry-after': '0' } }));
    const error = await failure(client.retire(['h1'], { signal: new AbortController().signal }));
    expect(api.requests).toHaveLength(3);
    expect(error.message).toContain('POST /api/v0/hosts/bulk-retire');
    expect(error.message).toContain('after 3 attempts');
  });

  it('gives up on a refused connection with a hint about reaching Mackerel', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const client = createMackerelClient({ apiKey: 'k', apiBase: `http://127.0.0.1:${port}`, retry: fast });
    const error = await failure(client.hosts('shop', 'web', { signal: new AbortController().signal }));
    expect(error.code).toBe('ECONNREFUSED');
    expect(error.reason).toBe(`http://127.0.0.1:${port} refused the connection (after 3 attempts)`);
    expect(error.hint).toContain('MACKEREL_APIBASE');
  });
});

describe('client errors fail at once', () => {
  it.each([
    [400, { error: { message: 'title is too long' } }, 'title is too long', undefined],
    [401, { error: { message: 'Authentication failed' } }, 'Authentication failed', 'the API key was rejected: check MACKEREL_APIKEY'],
    [403, { error: 'Forbidden by IP restriction' }, 'Forbidden by IP restriction', 'Read permission'],
    [404, '<html>not found</html>', 'Not Found', 'service "shop" or its role "web" does not exist'],
  ])('%i', async (status, body, reason, hint) => {
    const { client, api, notices } = await setup(() => ({ status, body }));
    const error = await failure(client.hosts('shop', 'web', { signal: new AbortController().signal }));
    expect(api.requests).toHaveLength(1);
    expect(notices).toEqual([]);
    expect(error.code).toBe(String(status));
    expect(error.reason).toBe(reason);
    expect(error.message).toBe(`Mackerel GET /api/v0/hosts failed: ${status}: ${reason}`);
    if (hint === undefined) expect(error.hint).toBeUndefined();
    else expect(error.hint).toContain(hint);
  });
});

describe('abort', () => {
  const slow: RetryPolicy = { retries: 5, minTimeoutMs: 600_000, maxTimeoutMs: 600_000 };

  it('stops during the back-off wait', async () => {
    const controller = new AbortController();
    const reason = new Error('deploy aborted');
    const { client, api } = await setup(
      () => unavailable,
      slow,
      () => setImmediate(() => controller.abort(reason)),
    );
    await expect(client.hosts('shop', 'web', { signal: controller.signal })).rejects.toBe(reason);
    expect(api.requests).toHaveLength(1);
  });

  it('stops during a Retry-After wait', async () => {
    const controller = new AbortController();
    const reason = new Error('deploy aborted');
    const throttled: Reply = { status: 429, headers: { 'retry-after': '600' } };
    const { client, api } = await setup(
      () => throttled,
      slow,
      () => setImmediate(() => controller.abort(reason)),
    );
    await expect(client.retire(['h1'], { signal: controller.signal })).rejects.toBe(reason);
    expect(api.requests).toHaveLength(1);
  });

  it('stops a request in flight and does not retry it', async () => {
    const controller = new AbortController();
    const reason = new Error('deploy aborted');
    api = await startApi(() => {
      setImmediate(() => controller.abort(reason));
      return { hang: true };
    });
    const client = createMackerelClient({ apiKey: 'k', apiBase: api.url, retry: fast });
    await expect(client.hosts('shop', 'web', { signal: controller.signal })).rejects.toBe(reason);
    expect(api.requests).toHaveLength(1);
  });

  it('sends nothing when the signal is already aborted', async () => {
    const { client, api } = await setup(() => hostList);
    await expect(client.hosts('shop', 'web', { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(api.requests).toHaveLength(0);
  });
});
