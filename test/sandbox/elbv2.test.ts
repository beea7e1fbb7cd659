import { DescribeImagesCommand, type EC2Client, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DeregisterTargetsCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.js';
import {
  eachTestSandbox,
  ec2Of,
  editWorld,
  elbOf,
  eventLog,
  injectFaults,
  sandboxState,
  startTestSandbox,
  testSeed,
  until,
  untilRunning,
  WEB_TG,
} from './helpers.js';

describe('the sandbox ELBv2 API', () => {
  let sandbox: Sandbox;
  let ec2: EC2Client;
  let elb: ElasticLoadBalancingV2Client;
  let image: string;
  beforeAll(async () => {
    sandbox = await startTestSandbox();
    ec2 = ec2Of(sandbox);
    elb = elbOf(sandbox);
    const { Images } = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['shop-web-2026-11-01'] }] }));
    image = Images![0]!.ImageId!;
  });
  afterAll(async () => {
    ec2.destroy();
    elb.destroy();
    await sandbox.close();
  });

  const launchPending = async () => {
    const { Instances } = await ec2.send(
      new RunInstancesCommand({ ImageId: image, InstanceType: 't3.small', MinCount: 1, MaxCount: 1, SubnetId: 'subnet-0aaa' }),
    );
    return Instances![0]!.InstanceId!;
  };
  const launch = async () => {
    const id = await launchPending();
    await untilRunning(ec2, id);
    return id;
  };

  const healthOf = async (id: string) => {
    const { TargetHealthDescriptions } = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: WEB_TG, Targets: [{ Id: id }] }));
    return TargetHealthDescriptions?.[0]?.TargetHealth;
  };

  const reaches = (id: string, state: string) =>
    until(async () => ((await healthOf(id))?.State === state ? true : undefined), `${id} ${state}`);

  it('refuses to register a pending instance with InvalidTarget', async () => {
    await injectFaults(sandbox, [{ type: 'never-boot', count: 1 }]);
    const id = await launchPending();
    await expect(elb.send(new RegisterTargetsCommand({ TargetGroupArn: WEB_TG, Targets: [{ Id: id, Port: 80 }] }))).rejects.toMatchObject({
      name: 'InvalidTargetException',
      message: expect.stringContaining('not in a running state'),
      $metadata: { httpStatusCode: 400 },
    });
    expect(await healthOf(id)).toMatchObject({ State: 'unused', Reason: 'Target.NotRegistered' });
  });

  it('takes a new target from initial to healthy after two checks once its instance runs', async () => {
    const id = await launch();
    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: WEB_TG, Targets: [{ Id: id, Port: 80 }] }));
    await reaches(id, 'healthy');
    const { TargetHealthDescriptions } = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: WEB_TG }));
    expect(TargetHealthDescriptions?.map((d) => d.Target?.Id)).toContain(id);
    const events = (await eventLog(sandbox)).filter((e) => 'instanceId' in e && e.instanceId === id);
    const at = (type: string) => events.find((e) => e.type === type)!.t;
    expect(events.map((e) => e.type).filter((t) => t.startsWith('target.'))).toEqual(['target.registered', 'target.healthy']);
    expect(at('target.healthy') - Math.max(at('target.registered'), at('instance.running'))).toBe(10_000);
  });

  it('makes targets under a health-fail fault unhealthy', async () => {
    await injectFaults(sandbox, [{ type: 'health-fail', count: 1 }]);
    const failing = await launch();
    const fine = await launch();
    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: WEB_TG, Targets: [{ Id: failing }, { Id: fine }] }));
    await reaches(failing, 'unhealthy');
    expect(await healthOf(failing)).toMatchObject({ Reason: 'Target.FailedHealthChecks' });
    await reaches(fine, 'healthy');
  });

  it('reports the target of a terminated instance as unused, and refuses to register it', async () => {
    const id = await launch();
    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: WEB_TG, Targets: [{ Id: id }] }));
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(await healthOf(id)).toMatchObject({ State: 'unused', Reason: 'Target.InvalidState' });
    await expect(elb.send(new RegisterTargetsCommand({ TargetGroupArn: WEB_TG, Targets: [{ Id: id }] }))).rejects.toMatchObject({
      name: 'InvalidTargetException',
    });
  });

  it('answers an unknown target group with TargetGroupNotFound', async () => {
    const arn = `${WEB_TG.slice(0, -4)}ffff`;
    await expect(elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [arn] }))).rejects.toMatchObject({
      name: 'TargetGroupNotFoundException',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }))).rejects.toMatchObject({
      name: 'TargetGroupNotFoundException',
    });
  });
});

describe('draining', () => {
  // A slower clock, so the 30 s drain lasts long enough (600 ms) to be seen between two requests.
  it('drains a deregistered target for the deregistration delay, then forgets it', async () => {
    const sandbox = await startSandbox({ seed: testSeed, timeScale: 0.02, apiKey: 'test-key' });
    const elb = elbOf(sandbox);
    try {
      const id = (await sandboxState(sandbox)).targetGroups.find((g) => g.arn === WEB_TG)!.targets[0]!.id;
      const health = async () =>
        (await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: WEB_TG, Targets: [{ Id: id }] }))).TargetHealthDescriptions?.[0]
          ?.TargetHealth;
      await elb.send(new DeregisterTargetsCommand({ TargetGroupArn: WEB_TG, Targets: [{ Id: id }] }));
      expect(await health()).toMatchObject({ State: 'draining', Reason: 'Target.DeregistrationInProgress' });
      await until(async () => ((await health())?.State === 'unused' ? true : undefined), 'drained', 1000);
      expect(await health()).toMatchObject({ Reason: 'Target.NotRegistered' });
      const { TargetHealthDescriptions } = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: WEB_TG }));
      expect(TargetHealthDescriptions?.map((d) => d.Target?.Id)).not.toContain(id);
      const events = await eventLog(sandbox);
      expect(events.map((e) => e.type)).toEqual(['target.deregistered', 'target.removed']);
      expect(events[1]!.t - events[0]!.t).toBe(30_000);
    } finally {
      elb.destroy();
      await sandbox.close();
    }
  });
});

describe('the capacity record', () => {
  it('remembers the fewest healthy targets a group ever had', async () => {
    const sandbox = await startTestSandbox();
    const elb = elbOf(sandbox);
    try {
      const groupState = async () => (await sandboxState(sandbox)).targetGroups.find((g) => g.arn === WEB_TG)!;
      expect(await groupState()).toMatchObject({ healthy: 2, minHealthy: 2 });
      const old = (await groupState()).targets[0]!;
      await elb.send(new DeregisterTargetsCommand({ TargetGroupArn: WEB_TG, Targets: [{ Id: old.id }] }));
      await until(async () => ((await groupState()).targets.length === 1 ? true : undefined), 'drained');
      await elb.send(new RegisterTargetsCommand({ TargetGroupArn: WEB_TG, Targets: [{ Id: old.id }] }));
      await until(async () => ((await groupState()).healthy === 2 ? true : undefined), 'back to two healthy');
      expect((await groupState()).minHealthy).toBe(1);
      const events = (await eventLog(sandbox)).map((e) => e.type);
      expect(events).toEqual(['target.deregistered', 'target.removed', 'target.registered', 'target.healthy']);
    } finally {
      elb.destroy();
      await sandbox.close();
    }
  });
});

describe('load balancers and quotas', () => {
  let sandbox: Sandbox;
  let ec2: EC2Client;
  let elb: ElasticLoadBalancingV2Client;
  eachTestSandbox((made) => {
    ({ sandbox, ec2, elb } = made);
  });

  const launch = async (SubnetId = 'subnet-0aaa') => {
    const { Instances } = await ec2.send(new RunInstancesCommand({ ImageId: 'ami-0pinnedworker', MinCount: 1, MaxCount: 1, SubnetId }));
    const id = Instances![0]!.InstanceId!;
    await untilRunning(ec2, id);
    return id;
  };
  const register = (...ids: string[]) =>
    elb.send(new RegisterTargetsCommand({ TargetGroupArn: WEB_TG, Targets: ids.map((Id) => ({ Id })) }));
  const health = async () => {
    const { TargetHealthDescriptions } = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: WEB_TG }));
    return Object.fromEntries(TargetHealthDescriptions!.map((d) => [d.Target!.Id!, d.TargetHealth!]));
  };
  const seeded = async () => (await sandboxState(sandbox)).targetGroups.find((g) => g.arn === WEB_TG)!.targets.map((t) => t.id);
  const notInUse = { State: 'unused', Reason: 'Target.NotInUse' };

  it('describes the seeded application load balancer through the SDK, the group attached to it', async () => {
    const { LoadBalancers } = await elb.send(new DescribeLoadBalancersCommand({}));
    expect(LoadBalancers).toEqual([
      expect.objectContaining({
        LoadBalancerArn: expect.stringMatching(/^arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:loadbalancer\/app\/shop-web\//),
        LoadBalancerName: 'shop-web',
        Type: 'application',
        Scheme: 'internet-facing',
        VpcId: 'vpc-0sandbox',
        State: { Code: 'active' },
        AvailabilityZones: [
          { ZoneName: 'ap-northeast-1a', SubnetId: 'subnet-0aaa' },
          { ZoneName: 'ap-northeast-1c', SubnetId: 'subnet-0ccc' },
        ],
      }),
    ]);
    const arn = LoadBalancers![0]!.LoadBalancerArn!;
    const { TargetGroups } = await elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [WEB_TG] }));
    expect(TargetGroups![0]!.LoadBalancerArns).toEqual([arn]);
    const byArn = await elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [arn] }));
    const byName = await elb.send(new DescribeLoadBalancersCommand({ Names: ['shop-web'] }));
    expect([byArn, byName].map((answer) => answer.LoadBalancers?.map((lb) => lb.LoadBalancerArn))).toEqual([[arn], [arn]]);
    await expect(elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [`${arn.slice(0, -4)}ffff`] }))).rejects.toMatchObject({
      name: 'LoadBalancerNotFoundException',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('never checks the targets of a group attached to no load balancer: unused, Target.NotInUse', async () => {
    const old = await seeded();
    expect(await editWorld(sandbox, [{ op: 'target-group', arn: WEB_TG, loadBalancer: null }])).toMatchObject({ status: 200 });
    const { TargetGroups } = await elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [WEB_TG] }));
    expect(TargetGroups![0]!.LoadBalancerArns).toEqual([]);
    const id = await launch();
    await register(id);
    // 100 real ms are 50 simulated seconds: five health check intervals.
    await sleep(100);
    expect(await health()).toEqual({
      [old[0]!]: expect.objectContaining(notInUse),
      [old[1]!]: expect.objectContaining(notInUse),
      [id]: expect.objectContaining(notInUse),
    });
    expect((await eventLog(sandbox)).filter((e) => e.type === 'target.healthy')).toEqual([]);
  });

  it('keeps a target in an AZ no load balancer enables unused, and checks it once the AZ is enabled', async () => {
    const [inA, inC] = await seeded();
    await editWorld(sandbox, [{ op: 'load-balancer-az', az: 'ap-northeast-1c', enabled: false }]);
    const { LoadBalancers } = await elb.send(new DescribeLoadBalancersCommand({}));
    expect(LoadBalancers![0]!.AvailabilityZones?.map((az) => az.ZoneName)).toEqual(['ap-northeast-1a']);
    const fresh = await launch('subnet-0ccc');
    await register(fresh);
    await sleep(100);
    expect(await health()).toEqual({
      [inA!]: expect.objectContaining({ State: 'healthy' }),
      [inC!]: expect.objectContaining(notInUse),
      [fresh]: expect.objectContaining(notInUse),
    });
    await editWorld(sandbox, [{ op: 'load-balancer-az', az: 'ap-northeast-1c', enabled: true }]);
    await until(async () => (Object.values(await health()).every((h) => h.State === 'healthy') ? true : undefined), 'all healthy again');
    const events = (await eventLog(sandbox)).filter((e) => 'instanceId' in e && e.instanceId === fresh && e.type.startsWith('target.'));
    expect(events.map((e) => e.type)).toEqual(['target.unused', 'target.registered', 'target.healthy']);
    expect(events[2]!.t - events[1]!.t).toBe(10_000);
  });

  it('refuses RegisterTargets over the targets-per-group quota with TooManyTargets, registering none', async () => {
    await editWorld(sandbox, [{ op: 'targets-per-group', limit: 3 }]);
    const [a, b] = [await launch(), await launch()];
    await expect(register(a, b)).rejects.toMatchObject({
      name: 'TooManyTargetsException',
      message: "You've reached the limit on the number of targets registered to a target group.",
      $metadata: { httpStatusCode: 400 },
    });
    expect(await seeded()).toHaveLength(2);
    await register(a);
    await register(a, ...(await seeded()).slice(0, 2));
    expect(await seeded()).toHaveLength(3);
  });

  it("drains for the group's own deregistration delay", async () => {
    await editWorld(sandbox, [{ op: 'target-group', arn: WEB_TG, deregistrationDelaySeconds: 60 }]);
    const { Attributes } = await elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: WEB_TG }));
    expect(Attributes).toContainEqual({ Key: 'deregistration_delay.timeout_seconds', Value: '60' });
    const [id] = await seeded();
    await elb.send(new DeregisterTargetsCommand({ TargetGroupArn: WEB_TG, Targets: [{ Id: id! }] }));
    const events = await until(async () => {
      const log = (await eventLog(sandbox)).filter((e) => e.type.startsWith('target.'));
      return log.some((e) => e.type === 'target.removed') ? log : undefined;
    }, 'drained');
    expect(events.map((e) => e.type)).toEqual(['target.deregistered', 'target.removed']);
    expect(events[1]!.t - events[0]!.t).toBe(60_000);
  });
});
