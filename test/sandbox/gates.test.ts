// The sandbox's metrics and alerts: the agents post on the world's timeline, the API answers as
// strictly as Mackerel documents it, and world edits stage a silent agent or an open alert.
import { type EC2Client, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { postDelayOf } from '../../src/sandbox/agent-metrics.js';
import type { SimHost } from '../../src/sandbox/world.js';
import { eachTestSandbox, editWorld, eventLog, injectFaults, mackerel, requestLog, sandboxState, until } from './helpers.js';
import type { Sandbox } from '../../src/sandbox/server.js';

interface Latest {
  tsdbLatest: Record<string, Record<string, { time: number; value: number } | null>>;
}
interface AlertPage {
  alerts: { id: string; status: string; hostId: string; closedAt?: number }[];
  nextId?: string;
}

describe('metrics and alerts in the sandbox', () => {
  let sandbox: Sandbox;
  let ec2: EC2Client;
  eachTestSandbox((made) => {
    ({ sandbox, ec2 } = made);
  });

  const json = async <T>(path: string) => (await mackerel(sandbox, 'GET', path)).json as unknown as T;
  const latest = async (hostIds: readonly string[], name = 'loadavg5') =>
    (await json<Latest>(`/api/v0/tsdb/latest?${hostIds.map((id) => `hostId=${id}`).join('&')}&name=${name}`)).tsdbLatest;
  const seededHosts = async () => (await sandboxState(sandbox)).hosts;
  const launch = async () => {
    const { Instances } = await ec2.send(
      new RunInstancesCommand({ ImageId: 'ami-0pinnedworker', MinCount: 1, MaxCount: 1, SubnetId: 'subnet-0aaa' }),
    );
    return Instances![0]!.InstanceId!;
  };
  const hostOf = (instanceId: string) =>
    until(
      async () => (await seededHosts()).find((host: SimHost) => host.customIdentifier === `${instanceId}.ec2.amazonaws.com`),
      `a host for ${instanceId}`,
    );
  const postsOf = async (hostId: string) => {
    const value = (await latest([hostId]))[hostId]?.loadavg5;
    return value ?? undefined;
  };

  it('an agent posts loadavg1/5/15 at once when it starts, then once a simulated minute at its own second, and stops with its instance', async () => {
    const id = await launch();
    const host = await hostOf(id);
    await until(() => postsOf(host.id), 'the first value');
    const all = (await json<Latest>(`/api/v0/tsdb/latest?hostId=${host.id}&name=loadavg1&name=loadavg5&name=loadavg15`)).tsdbLatest[
      host.id
    ]!;
    expect(Object.keys(all)).toEqual(['loadavg1', 'loadavg5', 'loadavg15']);
    expect(new Set(Object.values(all).map((value) => value?.time)).size).toBe(1);
    const postAfter = async (time: number) =>
      until(async () => {
        const value = await postsOf(host.id);
        return value && value.time > time ? value : undefined;
      }, 'a later post');
    const second = await postAfter(all.loadavg5!.time);
    const third = await postAfter(second.time);
    expect((third.time - second.time) % 60).toBe(0);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    const stoppedAt = (await postsOf(host.id))!.time;
    // Over three simulated minutes (2 ms a simulated second): no later value.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await postsOf(host.id))!.time).toBeLessThanOrEqual(stoppedAt + 60);
  });

  it('answers a metric never posted as null, refuses an unknown host with 404 and a request without name with 400', async () => {
    await injectFaults(sandbox, [{ type: 'metrics-silent', count: 1 }]);
    const silent = await hostOf(await launch());
    const loud = await hostOf(await launch());
    await until(() => postsOf(loud.id), 'the loud host to post');
    expect((await latest([silent.id, loud.id]))[silent.id]).toEqual({ loadavg5: null });
    expect(await mackerel(sandbox, 'GET', `/api/v0/tsdb/latest?hostId=${loud.id}&hostId=nosuchhost&name=loadavg5`)).toMatchObject({
      status: 404,
    });
    expect(await mackerel(sandbox, 'GET', `/api/v0/tsdb/latest?hostId=${loud.id}`)).toMatchObject({ status: 400 });
    expect(await editWorld(sandbox, [{ op: 'agent-metrics', hostId: silent.id, posting: true }])).toMatchObject({ status: 200 });
    await until(() => postsOf(silent.id), 'the resumed agent to post');
  });

  it('a host retired while its instance runs does not stop the other agents posting', async () => {
    // Two agents that post at the same instant, in one request.
    const hosts = await seededHosts();
    const retired = hosts.find((host) => hosts.some((h) => h.id !== host.id && postDelayOf(h.id) === postDelayOf(host.id)));
    const other = hosts.find((host) => host.id !== retired?.id && postDelayOf(host.id) === postDelayOf(retired?.id ?? ''));
    expect(other).toBeDefined();
    await mackerel(sandbox, 'POST', `/api/v0/hosts/${retired!.id}/retire`, {});
    const before = await until(() => postsOf(other!.id), 'a seeded host to post');
    const later = await until(async () => {
      const value = await postsOf(other!.id);
      return value && value.time > before.time ? value : undefined;
    }, 'the next post of the other host');
    expect(later.time).toBeGreaterThan(before.time);
    expect(await mackerel(sandbox, 'POST', '/api/v0/tsdb', [{ hostId: retired!.id, name: 'loadavg5', time: 1, value: 1 }])).toMatchObject({
      status: 404,
    });
  });

  it('agent-metrics stops the posts of a host by its id, and needs exactly one of hostId and instanceId', async () => {
    const [host] = await seededHosts();
    await until(() => postsOf(host!.id), 'a seeded host to post');
    expect(await editWorld(sandbox, [{ op: 'agent-metrics', hostId: host!.id, posting: false }])).toMatchObject({ status: 200 });
    const muted = (await postsOf(host!.id))!;
    // Over three simulated minutes: at most a post already in flight.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await postsOf(host!.id))!.time).toBeLessThanOrEqual(muted.time + 60);
    expect(await editWorld(sandbox, [{ op: 'agent-metrics', posting: false }])).toMatchObject({ status: 400 });
    expect(await editWorld(sandbox, [{ op: 'agent-metrics', hostId: 'nosuchhost', posting: false }])).toMatchObject({ status: 400 });
  });

  it('lists open alerts newest first, pages older ones with nextId, refuses a limit over 100, and closes a retired host’s', async () => {
    const [a, b] = await seededHosts();
    const open = Array.from({ length: 5 }, (_, i) => ({ op: 'open-alert', hostId: i % 2 === 0 ? a!.id : b!.id, status: 'CRITICAL' }));
    expect(await editWorld(sandbox, open)).toMatchObject({ status: 200 });
    const firstPage = await json<AlertPage>('/api/v0/alerts?limit=2');
    expect(firstPage.alerts).toHaveLength(2);
    const rest = await json<AlertPage>(`/api/v0/alerts?limit=2&nextId=${firstPage.nextId}`);
    const last = await json<AlertPage>(`/api/v0/alerts?limit=2&nextId=${rest.nextId}`);
    expect(last.nextId).toBeUndefined();
    const ids = [...firstPage.alerts, ...rest.alerts, ...last.alerts].map((alert) => alert.id);
    expect(ids).toEqual([...ids].sort().reverse());
    expect(new Set(ids).size).toBe(5);
    expect(await mackerel(sandbox, 'GET', '/api/v0/alerts?limit=101')).toMatchObject({ status: 400 });

    await mackerel(sandbox, 'POST', `/api/v0/hosts/${a!.id}/retire`, {});
    const after = await json<AlertPage>('/api/v0/alerts');
    expect(after.alerts.map((alert) => alert.hostId)).toEqual([b!.id, b!.id]);
    const withClosed = await json<AlertPage>('/api/v0/alerts?withClosed=true');
    expect(withClosed.alerts.filter((alert) => alert.status === 'OK' && alert.closedAt !== undefined)).toHaveLength(3);
    expect(await editWorld(sandbox, [{ op: 'close-alert', hostId: b!.id }])).toMatchObject({ status: 200 });
    expect((await json<AlertPage>('/api/v0/alerts')).alerts).toEqual([]);
    expect((await eventLog(sandbox)).filter((e) => e.type === 'alert.closed')).toHaveLength(5);
  });

  it('opens an alert on the live host of an instance', async () => {
    const id = await launch();
    const host = await hostOf(id);
    expect(await editWorld(sandbox, [{ op: 'open-alert', instanceId: id, status: 'WARNING', type: 'check' }])).toMatchObject({
      status: 200,
    });
    expect((await json<AlertPage>('/api/v0/alerts')).alerts).toMatchObject([{ hostId: host.id, status: 'WARNING', type: 'check' }]);
    expect((await requestLog(sandbox)).some((r) => r.by === 'agent' && r.action === 'POST /api/v0/tsdb')).toBe(true);
  });
});
