// The Monitor's gate reads (tsdb/latest, alerts) against a scripted loopback Mackerel API.
import { afterEach, describe, expect, it } from 'vitest';
import { createMackerelClient } from '../../src/mackerel/client.js';
import { type FakeApi, type Recorded, type Reply, startApi } from './fake-api.js';

const call = { signal: new AbortController().signal };
const fastRetry = { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 5 };

let api: FakeApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

const clientFor = async (script: (request: Recorded, index: number) => Reply) => {
  api = await startApi(script);
  return { client: createMackerelClient({ apiKey: 'sk-SECRET', apiBase: api.url, retry: fastRetry }), api };
};

const hostIds = (count: number) => Array.from({ length: count }, (_, index) => `host${index}`);

describe('latestMetrics', () => {
  it('asks for 250 hosts in 3 requests of at most 100 ids with the metric name, and merges the answers', async () => {
    const { client, api } = await clientFor((request) => ({
      status: 200,
      body: {
        tsdbLatest: Object.fromEntries(request.query.getAll('hostId').map((id) => [id, { loadavg5: { time: 1_755_857_040, value: 0.5 } }])),
      },
    }));
    const latest = await client.latestMetrics(hostIds(250), 'loadavg5', call);
    expect(api.requests.map((r) => [r.method, r.path, r.query.getAll('hostId').length, r.query.getAll('name')])).toEqual([
      ['GET', '/api/v0/tsdb/latest', 100, ['loadavg5']],
      ['GET', '/api/v0/tsdb/latest', 100, ['loadavg5']],
      ['GET', '/api/v0/tsdb/latest', 50, ['loadavg5']],
    ]);
    expect(api.requests.flatMap((r) => r.query.getAll('hostId'))).toEqual(hostIds(250));
    expect(latest.size).toBe(250);
    expect(latest.get('host249')).toEqual({ time: 1_755_857_040_000, value: 0.5 });
  });

  it('reads a metric never posted as no value, whether the answer omits it or gives null, by host or by name', async () => {
    const tsdbLatest = {
      a: { loadavg5: { time: 10, value: 1 } },
      b: { loadavg5: null },
      c: {},
      d: null,
      e: { loadavg1: { time: 10, value: 1 } },
    };
    const { client } = await clientFor(() => ({ status: 200, body: { tsdbLatest } }));
    const latest = await client.latestMetrics(['a', 'b', 'c', 'd', 'e', 'f'], 'loadavg5', call);
    expect([...latest]).toEqual([['a', { time: 10_000, value: 1 }]]);
  });

  it('makes no request for no hosts', async () => {
    const { client, api } = await clientFor(() => ({ status: 200, body: { tsdbLatest: {} } }));
    expect((await client.latestMetrics([], 'loadavg5', call)).size).toBe(0);
    expect(api.requests).toHaveLength(0);
  });

  it('names the call, the cause and the hosts when Mackerel refuses it', async () => {
    const { client } = await clientFor(() => ({ status: 404, body: { error: { message: 'Host Not Found.' } } }));
    await expect(client.latestMetrics(['h1', 'h2'], 'loadavg5', call)).rejects.toMatchObject({
      message: 'Mackerel GET /api/v0/tsdb/latest failed: 404: Host Not Found.',
      hint: expect.stringContaining('h1, h2'),
    });
  });

  it('names the call and the field when the answer is not a tsdbLatest', async () => {
    const { client } = await clientFor(() => ({ status: 200, body: { tsdbLatest: { h1: { loadavg5: { time: 'now' } } } } }));
    await expect(client.latestMetrics(['h1'], 'loadavg5', call)).rejects.toMatchObject({
      code: 'BAD_RESPONSE',
      message: expect.stringMatching(
        /^Mackerel GET \/api\/v0\/tsdb\/latest failed: BAD_RESPONSE: unexpected response: tsdbLatest\.h1\.loadavg5\.time/,
      ),
    });
  });
});

const alert = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  status: 'CRITICAL',
  monitorId: `mon-${id}`,
  type: 'host',
  hostId: `host-${id}`,
  value: 9.5,
  openedAt: 1_755_857_000,
  ...extra,
});

describe('openAlerts', () => {
  it('follows nextId until it is absent, 100 a page, and keeps only the fields the gates read', async () => {
    const pages: Reply[] = [
      { status: 200, body: { alerts: [alert('a3'), alert('a2')], nextId: 'a2' } },
      { status: 200, body: { alerts: [alert('a1', { type: 'connectivity' })], nextId: 'a1' } },
      { status: 200, body: { alerts: [alert('a0', { type: 'service', hostId: undefined, message: 'm' })] } },
    ];
    const { client, api } = await clientFor((_, index) => pages[index]!);
    const alerts = await client.openAlerts(call);
    expect(api.requests.map((r) => [r.path, r.query.get('limit'), r.query.get('nextId'), r.query.get('withClosed')])).toEqual([
      ['/api/v0/alerts', '100', null, null],
      ['/api/v0/alerts', '100', 'a2', null],
      ['/api/v0/alerts', '100', 'a1', null],
    ]);
    expect(alerts.map((a) => a.id)).toEqual(['a3', 'a2', 'a1', 'a0']);
    expect(alerts[0]).toEqual({
      id: 'a3',
      status: 'CRITICAL',
      monitorId: 'mon-a3',
      type: 'host',
      hostId: 'host-a3',
      openedAt: 1_755_857_000_000,
    });
    expect(alerts[3]).toEqual({ id: 'a0', status: 'CRITICAL', monitorId: 'mon-a0', type: 'service', openedAt: 1_755_857_000_000 });
  });

  it('names the call that failed and why, on the page it failed', async () => {
    const { client, api } = await clientFor((_, index) =>
      index === 0
        ? { status: 200, body: { alerts: [alert('a1')], nextId: 'a1' } }
        : { status: 400, body: { error: { message: 'limit must be <= 100' } } },
    );
    await expect(client.openAlerts(call)).rejects.toMatchObject({
      code: '400',
      message: 'Mackerel GET /api/v0/alerts failed: 400: limit must be <= 100',
    });
    expect(api.requests).toHaveLength(2);
  });

  it('tells a key without Read permission from other refusals', async () => {
    const { client } = await clientFor(() => ({ status: 403, body: { error: { message: 'Forbidden' } } }));
    await expect(client.openAlerts(call)).rejects.toMatchObject({ code: '403', hint: expect.stringContaining('lacks Read permission') });
  });

  it('names the field when a page is not an alert list', async () => {
    const { client } = await clientFor(() => ({ status: 200, body: { alerts: [{ id: 'a1', status: 'BROKEN' }] } }));
    await expect(client.openAlerts(call)).rejects.toMatchObject({
      code: 'BAD_RESPONSE',
      reason: expect.stringContaining('alerts.0.status'),
    });
  });
});
