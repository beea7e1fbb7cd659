import { inspect } from 'node:util';
import { errors, MockAgent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createMackerelClient } from '../../src/mackerel/client.js';
import { type FakeApi, startApi } from './fake-api.js';

const apiKey = 'sk-SECRET-123';
const origin = 'https://api.mackerel.test';
const fast = { retries: 1, minTimeoutMs: 1, maxTimeoutMs: 5 };

const rejection = async (promise: Promise<unknown>): Promise<Error> => {
  const error = await promise.then(
    () => expect.fail('expected the call to fail'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
};

const expectNoKey = (error: Error) => {
  expect(error.message).not.toContain(apiKey);
  expect(error.stack).not.toContain(apiKey);
  expect(inspect(error, { depth: 10 })).not.toContain(apiKey);
};

describe('the API key never appears in an error', () => {
  let api: FakeApi | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  it('even when the API echoes it back in its message', async () => {
    api = await startApi(() => ({ status: 401, body: { error: { message: `API key ${apiKey} is invalid` } } }));
    const client = createMackerelClient({ apiKey, apiBase: api.url, retry: fast });
    const error = await rejection(client.hosts('shop', 'web', { signal: new AbortController().signal }));
    expect(error.message).toContain('401: API key [redacted] is invalid');
    expectNoKey(error);
  });

  const failingAgent = (error: Error) => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    agent
      .get(origin)
      .intercept({ path: () => true, method: () => true })
      .replyWithError(error)
      .persist();
    return agent;
  };

  it.each([
    ['a connection error', new errors.SocketError(`other side closed; x-api-key: ${apiKey}`), 'UND_ERR_SOCKET'],
    ['an unfamiliar undici error', new errors.InvalidArgumentError(`invalid x-api-key header ${apiKey}`), 'UND_ERR_INVALID_ARG'],
  ])('even when %s quotes it', async (_, undiciError, code) => {
    const agent = failingAgent(undiciError);
    const client = createMackerelClient({ apiKey, apiBase: origin, dispatcher: agent, retry: fast });
    const error = await rejection(client.retire(['h1'], { signal: new AbortController().signal }));
    expect(error).toMatchObject({ name: 'ApiError', code });
    expect(error.message).toContain('POST /api/v0/hosts/bulk-retire');
    expectNoKey(error);
    await agent.close();
  });
});
