import { DescribeImagesCommand, type EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/server.js';
import { cloudMetadata, ec2Of, injectFaults, mackerel, requestLog, sandboxState, startTestSandbox, until } from './helpers.js';

describe('the sandbox Mackerel API and agent', () => {
  let sandbox: Sandbox;
  let ec2: EC2Client;
  let image: string;
  beforeAll(async () => {
    sandbox = await startTestSandbox();
    ec2 = ec2Of(sandbox);
    const { Images } = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['shop-web-2026-11-01'] }] }));
    image = Images![0]!.ImageId!;
  });
  afterAll(async () => {
    ec2.destroy();
    await sandbox.close();
  });

  const launchWeb = async () => {
    const { Instances } = await ec2.send(
      new RunInstancesCommand({
        ImageId: image,
        InstanceType: 't3.small',
        MinCount: 1,
        MaxCount: 1,
        SubnetId: 'subnet-0ccc',
        SecurityGroupIds: ['sg-0web'],
      }),
    );
    return Instances![0]!;
  };

  const hostOf = async (instanceId: string) => {
    const { json } = await mackerel(sandbox, 'GET', `/api/v0/hosts?customIdentifier=${instanceId}.ec2.amazonaws.com`);
    return json.hosts?.[0];
  };

  it('refuses a wrong API key with 401 and the Mackerel error shape', async () => {
    const { status, json } = await mackerel(sandbox, 'GET', '/api/v0/hosts', undefined, 'wrong-key');
    expect(status).toBe(401);
    expect(json).toEqual({ error: { message: expect.any(String) } });
  });

  it('has the agent register a launched instance as a standby host of the role its image bakes in, with EC2 metadata', async () => {
    const instance = await launchWeb();
    const host = await until(() => hostOf(instance.InstanceId!), 'the agent to register the host');
    expect(host).toMatchObject({ status: 'standby', roles: { shop: ['web'] }, isRetired: false, name: instance.PrivateDnsName });
    expect(host.meta.cloud).toMatchObject({ provider: 'ec2' });
    expect(cloudMetadata(host)).toEqual(
      expect.objectContaining({
        'instance-id': instance.InstanceId,
        'instance-type': 't3.small',
        'placement/availability-zone': 'ap-northeast-1c',
        'ami-id': image,
        'local-ipv4': instance.PrivateIpAddress,
        'security-groups': 'sg-0web',
        'public-ipv4': '',
      }),
    );
    expect(host.meta['agent-version']).toMatch(/^\d+\.\d+\.\d+$/);
    const { json } = await mackerel(sandbox, 'GET', '/api/v0/hosts?service=shop&role=web');
    expect(json.hosts?.map((h) => h.id)).toContain(host.id);
  });

  it('leaves the hosts of the seeded fleet as the tool set them', async () => {
    const fresh = await startTestSandbox();
    try {
      const old = (await mackerel(fresh, 'GET', '/api/v0/hosts?service=shop&role=web')).json.hosts![0]!;
      await mackerel(fresh, 'POST', `/api/v0/hosts/${old.id}/status`, { status: 'maintenance' });
      // The seeded fleet's agents know their hosts from the id files they wrote when they registered them.
      const agentCalls = async () => (await requestLog(fresh)).filter((r) => r.by === 'agent');
      await until(async () => ((await agentCalls()).length > 0 ? true : undefined), 'the agents to read their hosts');
      // Time for a write that would follow (20 simulated s, twice the registration delay).
      await sleep(40);
      expect((await agentCalls()).filter((r) => r.mutating && r.action !== 'POST /api/v0/tsdb')).toEqual([]);
      expect((await mackerel(fresh, 'GET', `/api/v0/hosts/${old.id}`)).json.host?.status).toBe('maintenance');
      expect((await sandboxState(fresh)).hosts).toHaveLength(4);
    } finally {
      await fresh.close();
    }
  });

  it('never registers an instance whose agent is silent', async () => {
    await injectFaults(sandbox, [{ type: 'agent-silent', count: 1 }]);
    const silent = await launchWeb();
    const loud = await launchWeb();
    await until(() => hostOf(loud.InstanceId!), 'the second host');
    expect(await hostOf(silent.InstanceId!)).toBeUndefined();
  });

  it('changes statuses one by one and in bulk, and lists only the statuses asked for', async () => {
    const { json } = await mackerel(sandbox, 'GET', '/api/v0/hosts?service=shop&role=worker');
    const [a, b] = json.hosts!.map((h) => h.id);
    expect((await mackerel(sandbox, 'POST', `/api/v0/hosts/${a}/status`, { status: 'maintenance' })).json).toEqual({ success: true });
    expect((await mackerel(sandbox, 'GET', '/api/v0/hosts?service=shop&role=worker')).json.hosts?.map((h) => h.id)).toEqual([b]);
    const all = await mackerel(sandbox, 'GET', '/api/v0/hosts?service=shop&role=worker&status=maintenance&status=working');
    expect(all.json.hosts).toHaveLength(2);
    await mackerel(sandbox, 'POST', '/api/v0/hosts/bulk-update-statuses', { status: 'working', ids: [a, b] });
    expect((await mackerel(sandbox, 'GET', `/api/v0/hosts/${a}`)).json.host?.status).toBe('working');
    const tooMany = await mackerel(sandbox, 'POST', '/api/v0/hosts/bulk-update-statuses', { status: 'working', ids: Array(31).fill(a) });
    expect(tooMany.status).toBe(400);
    const bad = await mackerel(sandbox, 'POST', `/api/v0/hosts/${a}/status`, { status: 'sleeping' });
    expect(bad.status).toBe(400);
    expect((await mackerel(sandbox, 'POST', '/api/v0/hosts/nope/status', { status: 'working' })).status).toBe(404);
  });

  it('retires hosts in bulk, all or nothing, and stops listing them', async () => {
    const { json } = await mackerel(sandbox, 'GET', '/api/v0/hosts?service=shop&role=worker');
    const ids = json.hosts!.map((h) => h.id);
    const unknown = await mackerel(sandbox, 'POST', '/api/v0/hosts/bulk-retire', { ids: [...ids, 'nope'] });
    expect(unknown).toMatchObject({ status: 404, json: { error: { message: expect.any(String) } } });
    expect((await mackerel(sandbox, 'GET', '/api/v0/hosts?service=shop&role=worker')).json.hosts).toHaveLength(2);
    expect((await mackerel(sandbox, 'POST', '/api/v0/hosts/bulk-retire', { ids })).json).toEqual({ success: true });
    expect((await mackerel(sandbox, 'GET', '/api/v0/hosts?service=shop&role=worker')).json.hosts).toEqual([]);
    expect((await mackerel(sandbox, 'GET', `/api/v0/hosts/${ids[0]}`)).json.host).toMatchObject({
      isRetired: true,
      retiredAt: expect.any(Number),
    });
  });

  it('refuses any change to a retired host with 404, one by one or in bulk, changing nothing else', async () => {
    const fresh = await startTestSandbox();
    try {
      const [a, b] = (await mackerel(fresh, 'GET', '/api/v0/hosts?service=shop&role=worker')).json.hosts!.map((h) => h.id);
      expect((await mackerel(fresh, 'POST', `/api/v0/hosts/${a}/retire`, {})).json).toEqual({ success: true });
      const refused = { status: 404, json: { error: { message: expect.any(String) } } };
      expect(await mackerel(fresh, 'POST', `/api/v0/hosts/${a}/retire`, {})).toMatchObject(refused);
      expect(await mackerel(fresh, 'POST', `/api/v0/hosts/${a}/status`, { status: 'maintenance' })).toMatchObject(refused);
      expect(await mackerel(fresh, 'PUT', `/api/v0/hosts/${a}`, { name: 'again' })).toMatchObject(refused);
      expect(await mackerel(fresh, 'POST', '/api/v0/hosts/bulk-retire', { ids: [b, a] })).toMatchObject(refused);
      expect(await mackerel(fresh, 'POST', '/api/v0/hosts/bulk-update-statuses', { status: 'maintenance', ids: [b, a] })).toMatchObject(
        refused,
      );
      expect((await mackerel(fresh, 'POST', '/api/v0/hosts/bulk-retire', { ids: Array(31).fill(b) })).status).toBe(400);
      expect((await mackerel(fresh, 'GET', `/api/v0/hosts/${a}`)).json.host).toMatchObject({ isRetired: true, status: 'working' });
      expect((await mackerel(fresh, 'GET', `/api/v0/hosts/${b}`)).json.host).toMatchObject({ isRetired: false, status: 'working' });
      const all = await mackerel(fresh, 'GET', '/api/v0/hosts?status=working&status=standby&status=maintenance&status=poweroff');
      expect(all.json.hosts?.map((h) => h.id)).not.toContain(a);
    } finally {
      await fresh.close();
    }
  });

  it('updates a host with PUT: replaces its specs, adds roles, keeps the customIdentifier unless one is given', async () => {
    const host = (await mackerel(sandbox, 'GET', '/api/v0/hosts?service=shop&role=web')).json.hosts![0]!;
    const put = (body: unknown) => mackerel(sandbox, 'PUT', `/api/v0/hosts/${host.id}`, body);
    expect((await put({ name: 'renamed', meta: { note: 'x' }, roleFullnames: ['shop:api'] })).json).toEqual({ id: host.id });
    const read = async () => (await mackerel(sandbox, 'GET', `/api/v0/hosts/${host.id}`)).json.host!;
    expect(await read()).toMatchObject({
      name: 'renamed',
      meta: { note: 'x' },
      roles: { shop: ['web', 'api'] },
      customIdentifier: host.customIdentifier,
    });
    const byCustomIdentifier = async (customIdentifier: string) =>
      (await mackerel(sandbox, 'GET', `/api/v0/hosts?customIdentifier=${customIdentifier}`)).json.hosts!.map((h) => h.name);
    expect(await byCustomIdentifier(host.customIdentifier!)).toEqual(['renamed']);
    await put({ name: 'renamed', customIdentifier: 'elsewhere' });
    expect((await read()).customIdentifier).toBe('elsewhere');
    expect(await byCustomIdentifier('elsewhere')).toEqual(['renamed']);
    expect(await byCustomIdentifier(host.customIdentifier!)).toEqual([]);
    await put({ name: 'renamed', customIdentifier: null });
    expect(await read()).not.toHaveProperty('customIdentifier');
    expect(await byCustomIdentifier('elsewhere')).toEqual([]);
    expect((await put({ name: 'renamed', roleFullnames: ['no-colon'] })).status).toBe(400);
    expect((await mackerel(sandbox, 'PUT', '/api/v0/hosts/nope', { name: 'x' })).status).toBe(404);
  });

  it('creates graph annotations for known services and refuses unknown ones', async () => {
    const annotation = {
      title: 'replace web',
      description: 'ami old -> new',
      from: 1_800_000_000,
      to: 1_800_000_060,
      service: 'shop',
      roles: ['web'],
    };
    const created = await mackerel(sandbox, 'POST', '/api/v0/graph-annotations', annotation);
    expect(created.json).toEqual({ ...annotation, id: expect.any(String) });
    expect((await mackerel(sandbox, 'POST', '/api/v0/graph-annotations', { ...annotation, service: 'nope' })).status).toBe(404);
    expect((await mackerel(sandbox, 'POST', '/api/v0/graph-annotations', { ...annotation, from: annotation.to + 1 })).status).toBe(400);
  });
});
