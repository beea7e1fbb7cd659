import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  type EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { DescribeTargetHealthCommand, type ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/server.js';
import { activeFaults, eventLog, injectFaults, mackerel, requestLog, until, WEB_TG, eachTestSandbox } from './helpers.js';

describe('the sandbox control endpoint', () => {
  let sandbox: Sandbox;
  let ec2: EC2Client;
  let elb: ElasticLoadBalancingV2Client;
  eachTestSandbox((made) => {
    ({ sandbox, ec2, elb } = made);
  });

  const clientRequests = async () => (await requestLog(sandbox)).filter((r) => r.by === 'client');

  const launch = async () => {
    const { Images } = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['shop-web-2026-11-01'] }] }));
    const { Instances } = await ec2.send(
      new RunInstancesCommand({
        ImageId: Images![0]!.ImageId!,
        InstanceType: 't3.small',
        MinCount: 1,
        MaxCount: 1,
        SubnetId: 'subnet-0aaa',
      }),
    );
    return Instances![0]!.InstanceId!;
  };

  it('logs every API request and flags the mutating ones', async () => {
    const id = await launch();
    await ec2
      .send(new RunInstancesCommand({ ImageId: 'ami-0pinnedworker', MinCount: 1, MaxCount: 1, SubnetId: 'subnet-0aaa', DryRun: true }))
      .catch(() => undefined);
    await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: WEB_TG }));
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    await mackerel(sandbox, 'GET', '/api/v0/hosts');
    await mackerel(sandbox, 'POST', '/api/v0/hosts/nope/retire', {});
    expect((await clientRequests()).map(({ api, action, status, mutating }) => ({ api, action, status, mutating }))).toEqual([
      { api: 'ec2', action: 'DescribeImages', status: 200, mutating: false },
      { api: 'ec2', action: 'RunInstances', status: 200, mutating: true },
      { api: 'ec2', action: 'RunInstances', status: 412, mutating: false },
      { api: 'elbv2', action: 'DescribeTargetHealth', status: 200, mutating: false },
      { api: 'ec2', action: 'TerminateInstances', status: 200, mutating: true },
      { api: 'mackerel', action: 'GET /api/v0/hosts', status: 200, mutating: false },
      { api: 'mackerel', action: 'POST /api/v0/hosts/:id/retire', status: 404, mutating: true },
    ]);
  });

  it('keeps an event log of an instance life', async () => {
    const id = await launch();
    await until(async () => ((await eventLog(sandbox)).some((e) => e.type === 'host.registered') ? true : undefined), 'the agent');
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    const events = await until(async () => {
      const log = await eventLog(sandbox);
      return log.some((e) => e.type === 'instance.terminated') ? log : undefined;
    }, 'termination');
    expect(events.map((e) => e.type)).toEqual([
      'instance.launched',
      'instance.running',
      'host.registered',
      'instance.terminating',
      'instance.terminated',
    ]);
    const times = events.map((e) => e.t);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times[1]! - times[0]!).toBe(20_000);
  });

  it('fails Mackerel requests with 429 and Retry-After under an api-error fault, then recovers', async () => {
    await injectFaults(sandbox, [
      { type: 'api-error', api: 'mackerel', action: 'GET /api/v0/hosts', status: 429, count: 2, retryAfter: 3 },
    ]);
    for (let i = 0; i < 2; i++) {
      const throttled = await mackerel(sandbox, 'GET', '/api/v0/hosts');
      expect(throttled.status).toBe(429);
      expect(throttled.headers.get('retry-after')).toBe('3');
      expect(throttled.json).toEqual({ error: { message: expect.any(String) } });
    }
    expect((await mackerel(sandbox, 'GET', '/api/v0/hosts')).status).toBe(200);
    expect(await activeFaults(sandbox)).toEqual([]);
  });

  it('throttles AWS in the error shape each SDK recognizes', async () => {
    await injectFaults(sandbox, [
      { type: 'api-error', api: 'ec2', action: 'DescribeInstances', status: 503, count: 1 },
      { type: 'api-error', api: 'elbv2', status: 400, code: 'Throttling', count: 1 },
    ]);
    await expect(ec2.send(new DescribeInstancesCommand({}))).rejects.toMatchObject({
      name: 'RequestLimitExceeded',
      $metadata: { httpStatusCode: 503 },
    });
    await expect(elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: WEB_TG }))).rejects.toMatchObject({ name: 'Throttling' });
    await expect(ec2.send(new DescribeInstancesCommand({}))).resolves.toBeDefined();
  });

  it('drops a matching request without an answer, once', async () => {
    await injectFaults(sandbox, [{ type: 'drop', api: 'ec2', count: 1 }]);
    await expect(ec2.send(new DescribeInstancesCommand({}))).rejects.toMatchObject({ code: expect.stringMatching(/ECONNRESET|EPIPE/) });
    await expect(ec2.send(new DescribeInstancesCommand({}))).resolves.toBeDefined();
    expect((await clientRequests()).map((r) => r.status)).toEqual([0, 200]);
  });

  it('refuses a malformed fault list and names the problem', async () => {
    const response = await fetch(`${sandbox.url}/_sandbox/faults`, { method: 'POST', body: JSON.stringify([{ type: 'capacity' }]) });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toContain('az');
  });
});
