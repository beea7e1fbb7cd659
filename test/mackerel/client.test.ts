import { afterEach, describe, expect, it } from 'vitest';
import { createMackerelClient } from '../../src/mackerel/client.js';
import { UsageError } from '../../src/rollout/errors.js';
import { type FakeApi, ok, type Reply, startApi } from './fake-api.js';

const apiKey = 'sk-SECRET-123';
const call = { signal: new AbortController().signal };
const fastRetry = { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 5 };

let api: FakeApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

const clientFor = async (script: (index: number) => Reply) => {
  api = await startApi((_, index) => script(index));
  return { client: createMackerelClient({ apiKey, apiBase: api.url, retry: fastRetry }), api };
};

const ec2Host = (id: string, instanceId: string) => ({
  id,
  name: `ip-${id}`,
  status: 'working',
  isRetired: false,
  customIdentifier: `${instanceId}.ec2.amazonaws.com`,
  meta: { cloud: { provider: 'ec2', metadata: { 'instance-id': instanceId, 'instance-type': 't3.small' } } },
  roles: { shop: ['web'] },
});

const ids = (count: number) => Array.from({ length: count }, (_, index) => `host${index}`);

describe('hosts', () => {
  it('asks for the role in the service with every non-retired status, and sends the key and user agent', async () => {
    const { client, api } = await clientFor(() => ({ status: 200, body: { hosts: [] } }));
    await client.hosts('shop', 'web', call);
    expect(api.requests).toHaveLength(1);
    const [request] = api.requests;
    expect(request?.method).toBe('GET');
    expect(request?.path).toBe('/api/v0/hosts');
    expect(request?.query.get('service')).toBe('shop');
    expect(request?.query.getAll('role')).toEqual(['web']);
    expect(request?.query.getAll('status')).toEqual(['working', 'standby', 'maintenance', 'poweroff']);
    expect(request?.headers['x-api-key']).toBe(apiKey);
    expect(request?.headers['user-agent']).toBe('mackerel-replacer');
  });

  it('drops retired hosts and finds the instance id in EC2 metadata or the customIdentifier', async () => {
    const hosts = [
      ec2Host('a', 'i-0aaa'),
      { ...ec2Host('b', 'i-0bbb'), isRetired: true, retiredAt: 1755820800 },
      { id: 'c', name: 'agent-only', status: 'maintenance', isRetired: false, customIdentifier: 'i-0ccc.ec2.amazonaws.com', meta: {} },
      { id: 'd', name: 'on-prem', status: 'poweroff', isRetired: false, meta: {} },
      {
        id: 'e',
        name: 'gce',
        status: 'standby',
        isRetired: false,
        customIdentifier: '42.gce.cloud.google.com',
        meta: { cloud: { provider: 'gce', metadata: { 'instance-id': '42' } } },
      },
    ];
    const { client } = await clientFor(() => ({ status: 200, body: { hosts } }));
    expect(await client.hosts('shop', 'web', call)).toEqual([
      { id: 'a', name: 'ip-a', status: 'working', instanceId: 'i-0aaa', identifiedAs: 'i-0aaa', roles: ['shop:web'] },
      { id: 'c', name: 'agent-only', status: 'maintenance', instanceId: 'i-0ccc', identifiedAs: 'i-0ccc', roles: [] },
      { id: 'd', name: 'on-prem', status: 'poweroff', instanceId: undefined, identifiedAs: undefined, roles: [] },
      { id: 'e', name: 'gce', status: 'standby', instanceId: undefined, identifiedAs: undefined, roles: [] },
    ]);
  });

  it('tells the instance a host claims by metadata from the one its customIdentifier names (a baked id file)', async () => {
    const baked = { ...ec2Host('a', 'i-0new'), customIdentifier: 'i-0b0a1d.ec2.amazonaws.com' };
    const { client } = await clientFor(() => ({ status: 200, body: { hosts: [baked] } }));
    expect(await client.hosts('shop', 'web', call)).toMatchObject([{ id: 'a', instanceId: 'i-0new', identifiedAs: 'i-0b0a1d' }]);
  });

  it('reports a body that is not a host list as a bad response of the call', async () => {
    const { client } = await clientFor(() => ({ status: 200, body: { hosts: [{ id: 'a' }] } }));
    await expect(client.hosts('shop', 'web', call)).rejects.toMatchObject({
      name: 'ApiError',
      operation: 'GET /api/v0/hosts',
      code: 'BAD_RESPONSE',
    });
  });
});

describe('everyHost', () => {
  it("lists the organization's hosts in every status, whatever their roles, in one call", async () => {
    const { client, api } = await clientFor(() => ({
      status: 200,
      body: {
        hosts: [
          { ...ec2Host('a', 'i-0aaa'), roles: { shop: ['api'] } },
          { ...ec2Host('b', 'i-0bbb'), roles: {} },
        ],
      },
    }));
    expect((await client.everyHost(call)).map((host) => [host.id, host.roles])).toEqual([
      ['a', ['shop:api']],
      ['b', []],
    ]);
    expect(api.requests).toHaveLength(1);
    const [request] = api.requests;
    expect(request?.query.get('service')).toBeNull();
    expect(request?.query.get('customIdentifier')).toBeNull();
    expect(request?.query.getAll('status')).toEqual(['working', 'standby', 'maintenance', 'poweroff']);
  });
});

describe('hostOfInstance', () => {
  it('looks the host up by the customIdentifier the agent gives an EC2 instance, in every status', async () => {
    const { client, api } = await clientFor(() => ({
      status: 200,
      body: { hosts: [{ ...ec2Host('a', 'i-0aaa'), roles: { shop: ['api'] } }] },
    }));
    expect(await client.hostOfInstance('i-0aaa', call)).toMatchObject({ id: 'a', roles: ['shop:api'] });
    const [request] = api.requests;
    expect(request?.query.get('customIdentifier')).toBe('i-0aaa.ec2.amazonaws.com');
    expect(request?.query.get('service')).toBeNull();
    expect(request?.query.getAll('status')).toEqual(['working', 'standby', 'maintenance', 'poweroff']);
  });

  it('answers undefined when no host stands for the instance', async () => {
    const { client } = await clientFor(() => ({ status: 200, body: { hosts: [] } }));
    expect(await client.hostOfInstance('i-0aaa', call)).toBeUndefined();
  });
});

describe('bulk calls', () => {
  it('sets the status of 61 hosts in chunks of 30 as JSON', async () => {
    const { client, api } = await clientFor(() => ok);
    await client.setStatus(ids(61), 'maintenance', call);
    expect(api.requests.map((r) => [r.method, r.path])).toEqual(Array(3).fill(['POST', '/api/v0/hosts/bulk-update-statuses']));
    expect(api.requests.map((r) => (r.body as { ids: string[] }).ids.length)).toEqual([30, 30, 1]);
    expect(api.requests.flatMap((r) => (r.body as { ids: string[] }).ids)).toEqual(ids(61));
    expect(api.requests.every((r) => (r.body as { status: string }).status === 'maintenance')).toBe(true);
    expect(api.requests[0]?.headers['content-type']).toBe('application/json');
  });

  it('retires 61 hosts in chunks of 30', async () => {
    const { client, api } = await clientFor(() => ok);
    await client.retire(ids(61), call);
    expect(api.requests.map((r) => r.path)).toEqual(Array(3).fill('/api/v0/hosts/bulk-retire'));
    expect(api.requests.map((r) => r.body)).toEqual([{ ids: ids(30) }, { ids: ids(60).slice(30) }, { ids: ['host60'] }]);
  });

  it('makes no request for an empty id list', async () => {
    const { client, api } = await clientFor(() => ok);
    await client.setStatus([], 'working', call);
    await client.retire([], call);
    expect(api.requests).toHaveLength(0);
  });

  it('names the chunk of missing hosts on a 404', async () => {
    const { client } = await clientFor(() => ({ status: 404, body: { error: { message: 'Host Not Found.' } } }));
    await expect(client.retire(['h1', 'h2'], call)).rejects.toMatchObject({
      code: '404',
      reason: 'Host Not Found.',
      hint: expect.stringContaining('h1, h2'),
    });
  });
});

describe('annotate', () => {
  const annotation = {
    service: 'shop',
    roles: ['web'],
    title: 'replace web',
    description: 'ami-old -> ami-new',
    from: 1_755_856_800_500,
    to: 1_755_857_400_001,
  };

  it('converts epoch milliseconds to seconds, flooring from and ceiling to', async () => {
    const { client, api } = await clientFor(() => ({ status: 200, body: { id: '2UdH1QcZQaw' } }));
    await client.annotate(annotation, call);
    expect(api.requests[0]?.path).toBe('/api/v0/graph-annotations');
    expect(api.requests[0]?.body).toEqual({ ...annotation, from: 1_755_856_800, to: 1_755_857_401 });
  });

  it('keeps from <= to, cuts the title to 250 and the description to 1024 characters, and omits empty roles', async () => {
    const { client, api } = await clientFor(() => ({ status: 200, body: { id: 'x' } }));
    await client.annotate(
      { ...annotation, roles: [], title: 't'.repeat(300), description: 'd'.repeat(2000), from: 5_000, to: 1_000 },
      call,
    );
    expect(api.requests[0]?.body).toEqual({ service: 'shop', title: 't'.repeat(250), description: 'd'.repeat(1024), from: 5, to: 5 });
  });

  it('does not split a surrogate pair when cutting', async () => {
    const { client, api } = await clientFor(() => ({ status: 200, body: { id: 'x' } }));
    await client.annotate({ ...annotation, title: `${'t'.repeat(249)}🐟🐟` }, call);
    expect(api.requests[0]?.body).toMatchObject({ title: 't'.repeat(249) });
  });
});

it('refuses an API base that is not an http(s) URL', () => {
  expect(() => createMackerelClient({ apiKey, apiBase: 'api.mackerelio.com' })).toThrow(UsageError);
});
