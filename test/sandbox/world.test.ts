import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSubnetsCommand,
  type EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/server.js';
import { editWorld, eventLog, mackerel, requestLog, sandboxState, until, untilRunning, WEB_TG, eachTestSandbox } from './helpers.js';

describe('POST /_sandbox/world', () => {
  let sandbox: Sandbox;
  let ec2: EC2Client;
  let elb: ElasticLoadBalancingV2Client;
  eachTestSandbox((made) => {
    ({ sandbox, ec2, elb } = made);
  });

  const launch = async (subnet = 'subnet-0aaa') => {
    const TagSpecifications = [{ ResourceType: 'instance' as const, Tags: [{ Key: 'managed-by', Value: 'mackerel-replacer' }] }];
    const { Instances } = await ec2.send(
      new RunInstancesCommand({
        ImageId: 'ami-0pinnedworker',
        InstanceType: 't3.small',
        MinCount: 1,
        MaxCount: 1,
        SubnetId: subnet,
        TagSpecifications,
      }),
    );
    return Instances![0]!.InstanceId!;
  };

  const instance = async (id: string) =>
    (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!;

  it('moves a subnet to another VPC, and launches into it there', async () => {
    expect(await editWorld(sandbox, [{ op: 'subnet', id: 'subnet-0ccc', vpcId: 'vpc-0other' }])).toEqual({
      status: 200,
      json: { applied: 1 },
    });
    const { Subnets } = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: ['subnet-0aaa', 'subnet-0ccc'] }));
    expect(Subnets?.map((s) => s.VpcId)).toEqual(['vpc-0sandbox', 'vpc-0other']);
    expect((await instance(await launch('subnet-0ccc'))).VpcId).toBe('vpc-0other');
  });

  it('changes a target group VPC and target type, a field at a time', async () => {
    await editWorld(sandbox, [{ op: 'target-group', arn: WEB_TG, targetType: 'ip' }]);
    const group = async () => (await elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [WEB_TG] }))).TargetGroups![0]!;
    expect(await group()).toMatchObject({ TargetType: 'ip', VpcId: 'vpc-0sandbox' });
    await editWorld(sandbox, [{ op: 'target-group', arn: WEB_TG, vpcId: 'vpc-0other' }]);
    expect(await group()).toMatchObject({ TargetType: 'ip', VpcId: 'vpc-0other' });
  });

  it('sets an image state, which the state filter sees', async () => {
    await editWorld(sandbox, [{ op: 'image', id: 'ami-0pinnedworker', state: 'pending' }]);
    const { Images } = await ec2.send(new DescribeImagesCommand({ ImageIds: ['ami-0pinnedworker'] }));
    expect(Images?.[0]?.State).toBe('pending');
    const available = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'state', Values: ['available'] }] }));
    expect(available.Images?.map((i) => i.ImageId)).not.toContain('ami-0pinnedworker');
  });

  it('replaces the tags of an instance and moves it to another VPC', async () => {
    const id = await launch();
    await editWorld(sandbox, [
      { op: 'instance-tags', id, tags: { Name: 'stranger' } },
      { op: 'instance-vpc', id, vpcId: 'vpc-0other' },
    ]);
    expect(await instance(id)).toMatchObject({ Tags: [{ Key: 'Name', Value: 'stranger' }], VpcId: 'vpc-0other' });
    const { Reservations } = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'vpc-id', Values: ['vpc-0other'] }] }));
    expect(Reservations?.flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId)).toEqual([id]);
  });

  it('denies an EC2 Action to the tool, DryRun or not, with UnauthorizedOperation', async () => {
    await editWorld(sandbox, [{ op: 'deny', action: 'RunInstances' }]);
    const denied = {
      name: 'UnauthorizedOperation',
      message: 'You are not authorized to perform this operation.',
      $metadata: { httpStatusCode: 403 },
    };
    await expect(launch()).rejects.toMatchObject(denied);
    const dryRun = new RunInstancesCommand({
      ImageId: 'ami-0pinnedworker',
      MinCount: 1,
      MaxCount: 1,
      SubnetId: 'subnet-0aaa',
      DryRun: true,
    });
    await expect(ec2.send(dryRun)).rejects.toMatchObject(denied);
    await expect(ec2.send(new DescribeInstancesCommand({}))).resolves.toBeDefined();
    expect((await sandboxState(sandbox)).deniedActions).toEqual(['RunInstances']);
  });

  it('denies an ELBv2 Action with AccessDenied', async () => {
    await editWorld(sandbox, [{ op: 'deny', action: 'RegisterTargets' }]);
    const id = (await sandboxState(sandbox)).instances[0]!.id;
    await expect(elb.send(new RegisterTargetsCommand({ TargetGroupArn: WEB_TG, Targets: [{ Id: id }] }))).rejects.toMatchObject({
      name: 'AccessDenied',
      message: expect.stringContaining('elasticloadbalancing:RegisterTargets'),
      $metadata: { httpStatusCode: 403 },
    });
  });

  it('still lets the simulated agent see EC2 when the tool may not', async () => {
    await editWorld(sandbox, [{ op: 'deny', action: 'DescribeInstances' }]);
    const id = await launch();
    await expect(ec2.send(new DescribeInstancesCommand({}))).rejects.toMatchObject({ name: 'UnauthorizedOperation' });
    await until(async () => {
      const { json } = await mackerel(sandbox, 'GET', `/api/v0/hosts?customIdentifier=${id}.ec2.amazonaws.com`);
      return json.hosts?.[0];
    }, 'the agent to register the instance');
  });

  it('accepts a read-only Mackerel key for reads and refuses its writes with 403', async () => {
    await editWorld(sandbox, [{ op: 'read-only-key', key: 'ro-key' }]);
    const { status, json } = await mackerel(sandbox, 'GET', '/api/v0/hosts?service=shop', undefined, 'ro-key');
    expect(status).toBe(200);
    const host = json.hosts![0]!;
    for (const [method, path, body] of [
      ['POST', `/api/v0/hosts/${host.id}/status`, { status: 'maintenance' }],
      ['POST', '/api/v0/hosts/bulk-retire', { ids: [host.id] }],
      ['PUT', `/api/v0/hosts/${host.id}`, {}],
      ['DELETE', `/api/v0/graph-annotations/${host.id}`, undefined],
    ] as const) {
      expect(await mackerel(sandbox, method, path, body, 'ro-key')).toMatchObject({
        status: 403,
        json: { error: { message: 'Permission denied' } },
      });
    }
    expect((await mackerel(sandbox, 'GET', `/api/v0/hosts/${host.id}`)).json.host).toMatchObject({ status: 'working', isRetired: false });
    expect((await mackerel(sandbox, 'GET', '/api/v0/hosts', undefined, 'other-key')).status).toBe(401);
    expect((await mackerel(sandbox, 'POST', `/api/v0/hosts/${host.id}/status`, { status: 'standby' })).status).toBe(200);
  });

  it('has AWS end an instance during verify: terminated through shutting-down, its target unused', async () => {
    const id = await launch();
    await untilRunning(ec2, id);
    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: WEB_TG, Targets: [{ Id: id }] }));
    const health = async () =>
      (await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: WEB_TG, Targets: [{ Id: id }] }))).TargetHealthDescriptions?.[0]
        ?.TargetHealth;
    await until(async () => ((await health())?.State === 'healthy' ? true : undefined), 'healthy');
    await editWorld(sandbox, [{ op: 'terminate', id }]);
    expect(await health()).toMatchObject({ State: 'unused', Reason: 'Target.InvalidState' });
    await until(async () => ((await instance(id)).State?.Name === 'terminated' ? true : undefined), 'terminated');
    expect((await instance(id)).StateReason).toEqual({ Code: 'Server.InternalError', Message: 'Server.InternalError: Internal error' });
    const events = (await eventLog(sandbox)).filter((e) => e.type === 'world.edited' || ('instanceId' in e && e.instanceId === id));
    const edited = events.findIndex((e) => e.type === 'world.edited');
    expect(events.slice(edited)).toEqual([
      { t: expect.any(Number), type: 'world.edited', edit: { op: 'terminate', id } },
      expect.objectContaining({ type: 'instance.terminating' }),
      expect.objectContaining({ type: 'target.unused', targetGroupArn: WEB_TG }),
      expect.objectContaining({ type: 'instance.terminated' }),
    ]);
  });

  it('tells a tool-initiated termination from a lost instance by its state reason', async () => {
    const id = await launch();
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect((await instance(id)).StateReason).toEqual({
      Code: 'Client.UserInitiatedShutdown',
      Message: 'Client.UserInitiatedShutdown: User initiated shutdown',
    });
  });

  it('does not log its own requests as tool requests', async () => {
    await editWorld(sandbox, [{ op: 'deny', action: 'CreateTags' }]);
    await editWorld(sandbox, 'nope');
    expect((await requestLog(sandbox)).filter((r) => r.by === 'client')).toEqual([]);
  });

  it('refuses a bad list with 400 naming the problem, and applies none of it', async () => {
    const refused = async (body: unknown) => {
      const { status, json } = await editWorld(sandbox, body);
      expect(status).toBe(400);
      return json.error;
    };
    expect(await refused('{')).toMatch(/JSON array.*not JSON/);
    expect(await refused({ op: 'deny', action: 'RunInstances' })).toMatch(/expected array/i);
    expect(await refused([{ op: 'explode' }])).toContain('op');
    expect(await refused([{ op: 'subnet', id: 'subnet-0aaa' }])).toContain('vpcId');
    expect(await refused([{ op: 'deny', action: 'ec2:RunInstances' }])).toContain('Action name');
    const unknown = await refused([
      { op: 'image', id: 'ami-0pinnedworker', state: 'failed' },
      { op: 'terminate', id: 'i-0ffffffffffffffff' },
    ]);
    expect(unknown).toContain('edit 1 (terminate): no instance i-0ffffffffffffffff');
    const { Images } = await ec2.send(new DescribeImagesCommand({ ImageIds: ['ami-0pinnedworker'] }));
    expect(Images?.[0]?.State).toBe('available');
    expect((await eventLog(sandbox)).filter((e) => e.type === 'world.edited')).toEqual([]);
  });
});
