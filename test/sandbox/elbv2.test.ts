import { DescribeImagesCommand, type EC2Client, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import {
  DeregisterTargetsCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.js';
import { ec2Of, elbOf, eventLog, injectFaults, sandboxState, startTestSandbox, testSeed, until, WEB_TG } from './helpers.js';

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

  const launch = async () => {
    const { Instances } = await ec2.send(
      new RunInstancesCommand({ ImageId: image, InstanceType: 't3.small', MinCount: 1, MaxCount: 1, SubnetId: 'subnet-0aaa' }),
    );
    return Instances![0]!.InstanceId!;
  };

  const healthOf = async (id: string) => {
    const { TargetHealthDescriptions } = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: WEB_TG, Targets: [{ Id: id }] }));
    return TargetHealthDescriptions?.[0]?.TargetHealth;
  };

  const reaches = (id: string, state: string) => until(async () => ((await healthOf(id))?.State === state ? true : undefined), `${id} ${state}`);

  it('keeps the target of a pending instance initial', async () => {
    await injectFaults(sandbox, [{ type: 'never-boot', count: 1 }]);
    const id = await launch();
    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: WEB_TG, Targets: [{ Id: id, Port: 80 }] }));
    expect(await healthOf(id)).toMatchObject({ State: 'initial', Reason: 'Elb.RegistrationInProgress' });
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
    await expect(elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }))).rejects.toMatchObject({ name: 'TargetGroupNotFoundException' });
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
