import {
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  type RunInstancesCommandInput,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  DeregisterTargetsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.js';
import {
  activeFaults,
  clearFaults,
  ec2Of,
  elbOf,
  eventLog,
  injectFaults,
  requestLog,
  sandboxState,
  startTestSandbox,
  testSeed,
  until,
  untilRunning,
  WEB_TG,
  eachTestSandbox,
} from './helpers.js';

describe('the chaos faults', () => {
  let sandbox: Sandbox;
  let ec2: EC2Client;
  let elb: ElasticLoadBalancingV2Client;
  eachTestSandbox((made) => {
    ({ sandbox, ec2, elb } = made);
  });

  const runInput = (overrides: Partial<RunInstancesCommandInput> = {}) =>
    new RunInstancesCommand({
      ImageId: 'ami-0pinnedworker',
      InstanceType: 't3.small',
      MinCount: 1,
      MaxCount: 1,
      SubnetId: 'subnet-0aaa',
      ...overrides,
    });
  const launch = async () => (await ec2.send(runInput())).Instances![0]!.InstanceId!;
  const register = async (id: string) => {
    await untilRunning(ec2, id);
    return elb.send(new RegisterTargetsCommand({ TargetGroupArn: WEB_TG, Targets: [{ Id: id }] }));
  };
  const eventsOf = async (id: string) => (await eventLog(sandbox)).filter((e) => 'instanceId' in e && e.instanceId === id);
  const clientRequests = async () => (await requestLog(sandbox)).filter((r) => r.by === 'client');
  const faultsConsumed = () => until(async () => ((await activeFaults(sandbox)).length === 0 ? true : undefined), 'the fault to be met');

  it('makes a health-flap target fall back to unhealthy twice, then stay healthy', async () => {
    await injectFaults(sandbox, [{ type: 'health-flap', count: 1 }]);
    const flapping = await launch();
    await register(flapping);
    const targetEvents = async (id: string) => (await eventsOf(id)).filter((e) => e.type.startsWith('target.'));
    const flaps = await until(async () => {
      const events = await targetEvents(flapping);
      return events.filter((e) => e.type === 'target.healthy').length === 3 ? events : undefined;
    }, 'three healthy verdicts');
    expect(flaps.map((e) => e.type)).toEqual([
      'target.registered',
      'target.healthy',
      'target.unhealthy',
      'target.healthy',
      'target.unhealthy',
      'target.healthy',
    ]);
    const gaps = flaps.slice(2).map((e, i) => e.t - flaps[i + 1]!.t);
    expect(gaps).toEqual([10_000, 10_000, 10_000, 10_000]);
    // A target registered after the last verdict turns healthy later than any further flap would
    // have come; the flapping one has not changed since, and the fault applied once.
    const later = await launch();
    await register(later);
    await until(async () => ((await targetEvents(later)).some((e) => e.type === 'target.healthy') ? true : undefined), 'the later target');
    expect(await targetEvents(flapping)).toEqual(flaps);
    expect((await targetEvents(later)).map((e) => e.type)).toEqual(['target.registered', 'target.healthy']);
  });

  it('drains targets deregistered under slow-drain for factor times the advertised delay', async () => {
    const drained = (id: string) =>
      until(async () => {
        const events = await eventsOf(id);
        return events.some((e) => e.type === 'target.removed') ? events.map((e) => e.t) : undefined;
      }, `${id} drained`);
    const [slow, normal] = (await sandboxState(sandbox)).targetGroups.find((g) => g.arn === WEB_TG)!.targets.map((t) => t.id);
    await injectFaults(sandbox, [{ type: 'slow-drain', factor: 3 }]);
    await elb.send(new DeregisterTargetsCommand({ TargetGroupArn: WEB_TG, Targets: [{ Id: slow! }] }));
    expect(await activeFaults(sandbox)).toEqual([{ type: 'slow-drain', factor: 3 }]);
    // Clearing the fault does not speed up a drain already under way, nor slow the next one.
    await clearFaults(sandbox);
    await elb.send(new DeregisterTargetsCommand({ TargetGroupArn: WEB_TG, Targets: [{ Id: normal! }] }));
    const [slowStart, slowEnd] = await drained(slow!);
    const [normalStart, normalEnd] = await drained(normal!);
    expect(slowEnd! - slowStart!).toBe(90_000);
    expect(normalEnd! - normalStart!).toBe(30_000);
    const { Attributes } = await elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: WEB_TG }));
    expect(Attributes).toContainEqual({ Key: 'deregistration_delay.timeout_seconds', Value: '30' });
  });

  it('processes a drop-after request, then leaves the client without an answer', async () => {
    await injectFaults(sandbox, [{ type: 'drop-after', api: 'ec2', action: 'RunInstances', count: 1 }]);
    const before = (await sandboxState(sandbox)).instances.length;
    await expect(ec2.send(runInput({ ClientToken: 'lost-answer' }))).rejects.toMatchObject({
      code: expect.stringMatching(/ECONNRESET|EPIPE/),
    });
    const launched = (await sandboxState(sandbox)).instances.slice(before);
    expect(launched).toHaveLength(1);
    const retried = await ec2.send(runInput({ ClientToken: 'lost-answer' }));
    expect(retried.Instances?.map((i) => i.InstanceId)).toEqual([launched[0]!.id]);
    expect((await sandboxState(sandbox)).instances).toHaveLength(before + 1);
    expect((await clientRequests()).map(({ action, status, fault, dropped }) => ({ action, status, fault, dropped }))).toEqual([
      { action: 'RunInstances', status: 200, fault: 'drop-after', dropped: true },
      { action: 'RunInstances', status: 200, fault: undefined, dropped: undefined },
    ]);
  });

  it('terminates under drop-after although the answer is lost', async () => {
    const id = await launch();
    await injectFaults(sandbox, [{ type: 'drop-after', api: 'ec2', action: 'TerminateInstances', count: 1 }]);
    await expect(ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }))).rejects.toBeDefined();
    expect((await eventsOf(id)).map((e) => e.type)).toContain('instance.terminating');
    expect((await clientRequests()).at(-1)).toMatchObject({ action: 'TerminateInstances', status: 200, dropped: true });
  });

  it('logs a dropped request as never processed', async () => {
    await injectFaults(sandbox, [{ type: 'drop', api: 'ec2', action: 'RunInstances', count: 1 }]);
    const before = (await sandboxState(sandbox)).instances.length;
    await expect(launch()).rejects.toBeDefined();
    expect((await sandboxState(sandbox)).instances).toHaveLength(before);
    expect(await clientRequests()).toEqual([expect.objectContaining({ action: 'RunInstances', status: 0, fault: 'drop', dropped: true })]);
  });

  it('never processes a request stalled for ever, and logs it when the client gives up', async () => {
    await injectFaults(sandbox, [{ type: 'stall', api: 'ec2', action: 'RunInstances', count: 1, ms: 0 }]);
    const before = (await sandboxState(sandbox)).instances.length;
    const giveUp = new AbortController();
    const hung = ec2.send(runInput(), { abortSignal: giveUp.signal });
    await faultsConsumed();
    expect(await clientRequests()).toEqual([]);
    giveUp.abort();
    await expect(hung).rejects.toMatchObject({ name: 'AbortError' });
    const record = await until(async () => (await clientRequests())[0], 'the stalled request in the log');
    expect(record).toMatchObject({ action: 'RunInstances', status: 0, fault: 'stall', dropped: true });
    expect((await sandboxState(sandbox)).instances).toHaveLength(before);
  });

  it('answers a stalled request after the stall, processed only then', async () => {
    // 100 real ms are 50 simulated seconds at the test time scale.
    await injectFaults(sandbox, [{ type: 'stall', api: 'mackerel', action: 'GET /api/v0/hosts', count: 1, ms: 100 }]);
    await ec2.send(new DescribeInstancesCommand({}));
    const response = await fetch(`${sandbox.url}/api/v0/hosts`, { headers: { 'X-Api-Key': 'test-key' } });
    expect(response.status).toBe(200);
    const [first, stalled] = await clientRequests();
    expect(stalled).toMatchObject({ api: 'mackerel', action: 'GET /api/v0/hosts', status: 200, fault: 'stall' });
    expect(stalled).not.toHaveProperty('dropped');
    // A timer may fire a millisecond or so early by the clock the sandbox reads.
    expect(stalled!.t - first!.t).toBeGreaterThanOrEqual(45_000);
  });
});

it('terminates die-while-booting instances at the end of their boot, and only as many as asked', async () => {
  const sandbox = await startTestSandbox();
  const ec2 = ec2Of(sandbox);
  const launch = async () =>
    (await ec2.send(new RunInstancesCommand({ ImageId: 'ami-0pinnedworker', MinCount: 1, MaxCount: 1, SubnetId: 'subnet-0aaa' })))
      .Instances![0]!.InstanceId!;
  const instance = async (id: string) =>
    (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!;
  try {
    await injectFaults(sandbox, [{ type: 'die-while-booting', count: 1 }]);
    const dying = await launch();
    const fine = await launch();
    await until(async () => ((await instance(dying)).State?.Name === 'terminated' ? true : undefined), 'the instance to die', 1000);
    expect((await instance(dying)).StateReason).toEqual({
      Code: 'Server.InternalError',
      Message: 'Server.InternalError: Internal error on launch',
    });
    const events = (await eventLog(sandbox)).filter((e) => 'instanceId' in e && e.instanceId === dying);
    expect(events.map((e) => e.type)).toEqual(['instance.launched', 'instance.terminated']);
    expect(events[1]!.t - events[0]!.t).toBe(20_000);
    await untilRunning(ec2, fine);
  } finally {
    ec2.destroy();
    await sandbox.close();
  }
});

// A slower clock: a flap's 10 s down lasts 200 ms, long enough to be seen between two polls.
it('reports a flapping target as unhealthy with a reason while it is down', async () => {
  const sandbox = await startSandbox({ seed: testSeed, timeScale: 0.02, apiKey: 'test-key' });
  const ec2 = ec2Of(sandbox);
  const elb = elbOf(sandbox);
  try {
    await injectFaults(sandbox, [{ type: 'health-flap', count: 1 }]);
    const { Instances } = await ec2.send(
      new RunInstancesCommand({ ImageId: 'ami-0pinnedworker', MinCount: 1, MaxCount: 1, SubnetId: 'subnet-0aaa' }),
    );
    const id = Instances![0]!.InstanceId!;
    await untilRunning(ec2, id);
    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: WEB_TG, Targets: [{ Id: id }] }));
    const down = await until(
      async () => {
        const { TargetHealthDescriptions } = await elb.send(
          new DescribeTargetHealthCommand({ TargetGroupArn: WEB_TG, Targets: [{ Id: id }] }),
        );
        const health = TargetHealthDescriptions?.[0]?.TargetHealth;
        return health?.State === 'unhealthy' ? health : undefined;
      },
      'a flap',
      1000,
    );
    expect(down).toMatchObject({ Reason: 'Target.Timeout', Description: 'Request timed out' });
  } finally {
    ec2.destroy();
    elb.destroy();
    await sandbox.close();
  }
});

it('closes promptly with a stalled request pending', async () => {
  const sandbox = await startTestSandbox();
  await injectFaults(sandbox, [{ type: 'stall', api: 'mackerel', count: 1, ms: 0 }]);
  const hung = fetch(`${sandbox.url}/api/v0/hosts`, { headers: { 'X-Api-Key': 'test-key' } });
  await until(async () => ((await activeFaults(sandbox)).length === 0 ? true : undefined), 'the stall to be met');
  await sandbox.close();
  await expect(hung).rejects.toThrow();
});

describe('throttling through api-error', () => {
  // One retry allowed, so the SDK's own retry on the throttling code is what gets through.
  const retrying = (sandbox: Sandbox) => ({
    endpoint: sandbox.url,
    region: 'ap-northeast-1',
    credentials: { accessKeyId: 'sandbox', secretAccessKey: 'test' },
    maxAttempts: 2,
  });

  it('throttles EC2 with 503 RequestLimitExceeded and ELBv2 with 400 Throttling, which the SDK retries', async () => {
    const sandbox = await startSandbox({ seed: testSeed, timeScale: 0.002, apiKey: 'test-key' });
    const ec2 = new EC2Client(retrying(sandbox));
    const elb = new ElasticLoadBalancingV2Client(retrying(sandbox));
    try {
      await injectFaults(sandbox, [
        { type: 'api-error', api: 'ec2', action: 'DescribeInstances', status: 503, code: 'RequestLimitExceeded', count: 1 },
        { type: 'api-error', api: 'elbv2', action: 'DescribeTargetHealth', status: 400, code: 'Throttling', count: 1 },
      ]);
      expect((await ec2.send(new DescribeInstancesCommand({}))).$metadata.attempts).toBe(2);
      expect((await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: WEB_TG }))).$metadata.attempts).toBe(2);
      const log = (await requestLog(sandbox)).filter((r) => r.by === 'client');
      expect(log.map(({ action, status, fault }) => ({ action, status, fault }))).toEqual([
        { action: 'DescribeInstances', status: 503, fault: 'api-error' },
        { action: 'DescribeInstances', status: 200, fault: undefined },
        { action: 'DescribeTargetHealth', status: 400, fault: 'api-error' },
        { action: 'DescribeTargetHealth', status: 200, fault: undefined },
      ]);
    } finally {
      ec2.destroy();
      elb.destroy();
      await sandbox.close();
    }
  });
});
