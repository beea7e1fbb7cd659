import {
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  type EC2Client,
  RunInstancesCommand,
  type RunInstancesCommandInput,
  paginateDescribeInstances,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/server.js';
import { clearFaults, ec2Of, eventLog, injectFaults, sandboxState, startTestSandbox, until } from './helpers.js';

describe('the sandbox EC2 API', () => {
  let sandbox: Sandbox;
  let ec2: EC2Client;
  let newest: string;
  beforeAll(async () => {
    sandbox = await startTestSandbox();
    ec2 = ec2Of(sandbox);
    const { Images } = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['shop-web-2026-11-01'] }] }));
    newest = Images![0]!.ImageId!;
  });
  afterAll(async () => {
    ec2.destroy();
    await sandbox.close();
  });

  const launch = (overrides: Partial<RunInstancesCommandInput> = {}) =>
    ec2.send(
      new RunInstancesCommand({
        ImageId: newest,
        InstanceType: 't3.small',
        MinCount: 1,
        MaxCount: 1,
        SubnetId: 'subnet-0aaa',
        SecurityGroupIds: ['sg-0web'],
        UserData: Buffer.from('#!/bin/sh\n').toString('base64'),
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'deploy', Value: 'd1' }] }],
        ...overrides,
      }),
    );

  const stateOf = async (id: string) => {
    const { Reservations } = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    return Reservations?.[0]?.Instances?.[0]?.State?.Name;
  };

  it('launches pending instances that are running after the boot delay', async () => {
    const { Instances } = await launch({ ClientToken: 'boot-1' });
    const instance = Instances![0]!;
    expect(instance.State).toEqual({ Code: 0, Name: 'pending' });
    expect(instance.Placement?.AvailabilityZone).toBe('ap-northeast-1a');
    expect(instance.Tags).toEqual([{ Key: 'deploy', Value: 'd1' }]);
    await until(async () => ((await stateOf(instance.InstanceId!)) === 'running' ? true : undefined), 'running');
  });

  it('returns the same instances for a repeated ClientToken and refuses it with other parameters', async () => {
    const first = await launch({ ClientToken: 'idem-1', MinCount: 2, MaxCount: 2 });
    const again = await launch({ ClientToken: 'idem-1', MinCount: 2, MaxCount: 2 });
    expect(again.Instances?.map((i) => i.InstanceId)).toEqual(first.Instances?.map((i) => i.InstanceId));
    expect(again.ReservationId).toBe(first.ReservationId);
    await expect(launch({ ClientToken: 'idem-1', MinCount: 3, MaxCount: 3 })).rejects.toMatchObject({
      name: 'IdempotentParameterMismatch',
    });
  });

  it('answers DryRun with DryRunOperation and launches nothing', async () => {
    const before = (await sandboxState(sandbox)).instances.length;
    await expect(launch({ DryRun: true })).rejects.toMatchObject({ name: 'DryRunOperation', $metadata: { httpStatusCode: 412 } });
    await expect(ec2.send(new DescribeInstancesCommand({ DryRun: true }))).rejects.toMatchObject({ name: 'DryRunOperation' });
    expect((await sandboxState(sandbox)).instances).toHaveLength(before);
  });

  it('rejects user data that is not base64, as EC2 does', async () => {
    await expect(launch({ UserData: '#!/bin/sh' })).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });

  it('filters instances by tag, tag key, state and subnet', async () => {
    const { Instances } = await launch({
      SubnetId: 'subnet-0ccc',
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'filter-me', Value: 'yes' }] }],
    });
    const id = Instances![0]!.InstanceId!;
    const find = async (filters: { Name: string; Values: string[] }[]) => {
      const { Reservations } = await ec2.send(new DescribeInstancesCommand({ Filters: filters }));
      return Reservations?.flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId) ?? [];
    };
    expect(await find([{ Name: 'tag:filter-me', Values: ['yes'] }])).toEqual([id]);
    expect(
      await find([
        { Name: 'tag-key', Values: ['filter-me'] },
        { Name: 'subnet-id', Values: ['subnet-0ccc'] },
      ]),
    ).toEqual([id]);
    expect(await find([{ Name: 'tag:filter-me', Values: ['no'] }])).toEqual([]);
    expect(
      await find([
        { Name: 'instance-id', Values: [id] },
        { Name: 'instance-state-name', Values: ['pending', 'running'] },
      ]),
    ).toEqual([id]);
    await expect(find([{ Name: 'no-such-filter', Values: ['x'] }])).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });

  it('pages DescribeInstances with MaxResults and NextToken', async () => {
    const tags = [{ ResourceType: 'instance' as const, Tags: [{ Key: 'paged', Value: 'yes' }] }];
    const { Instances } = await launch({ MinCount: 7, MaxCount: 7, TagSpecifications: tags });
    const pages = [];
    for await (const page of paginateDescribeInstances(
      { client: ec2, pageSize: 5 },
      { Filters: [{ Name: 'tag:paged', Values: ['yes'] }] },
    )) {
      pages.push(page.Reservations?.flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId));
    }
    expect(pages).toEqual([Instances!.slice(0, 5).map((i) => i.InstanceId), Instances!.slice(5).map((i) => i.InstanceId)]);
    const none = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:paged', Values: ['no'] }] }));
    expect(none.Reservations).toEqual([]);
  });

  it('adds tags with CreateTags, all or nothing', async () => {
    const { Instances } = await launch();
    const id = Instances![0]!.InstanceId!;
    const tagged = async () => {
      const { Reservations } = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:stage', Values: ['verified'] }] }));
      return Reservations?.flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId) ?? [];
    };
    await expect(
      ec2.send(new CreateTagsCommand({ Resources: [id, 'i-0ffffffffffffffff'], Tags: [{ Key: 'stage', Value: 'verified' }] })),
    ).rejects.toMatchObject({ name: 'InvalidInstanceID.NotFound' });
    expect(await tagged()).toEqual([]);
    await ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'stage', Value: 'verified' }] }));
    expect(await tagged()).toEqual([id]);
  });

  const tagsOf = async (id: string) => {
    const { Reservations } = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    return Object.fromEntries(Reservations![0]!.Instances![0]!.Tags!.map((t) => [t.Key, t.Value]));
  };
  const numbered = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ Key: `k${from + i}`, Value: 'v' }));
  const instanceTags = (Tags: { Key: string; Value: string }[]) => ({ TagSpecifications: [{ ResourceType: 'instance' as const, Tags }] });

  it('refuses more than 50 tags on a resource at launch with TagLimitExceeded, before a DryRun answers', async () => {
    const before = (await sandboxState(sandbox)).instances.length;
    const limit = {
      name: 'TagLimitExceeded',
      message: expect.stringContaining('The maximum number of tags per resource is 50'),
      $metadata: { httpStatusCode: 400 },
    };
    await expect(launch(instanceTags(numbered(51)))).rejects.toMatchObject(limit);
    await expect(launch({ ...instanceTags(numbered(51)), DryRun: true })).rejects.toMatchObject(limit);
    const volumes = { TagSpecifications: [{ ResourceType: 'volume' as const, Tags: numbered(51) }] };
    await expect(launch(volumes)).rejects.toMatchObject({ name: 'TagLimitExceeded' });
    expect((await sandboxState(sandbox)).instances).toHaveLength(before);
    const { Instances } = await launch(instanceTags(numbered(50)));
    expect(Object.keys(await tagsOf(Instances![0]!.InstanceId!))).toHaveLength(50);
  });

  it('refuses a tag key over 128 characters, a value over 256 or an aws: key, naming it, at launch and in CreateTags', async () => {
    const { Instances } = await launch();
    const id = Instances![0]!.InstanceId!;
    for (const [tag, named] of [
      [{ Key: 'k'.repeat(129), Value: 'v' }, 'k'.repeat(129)],
      [{ Key: 'long', Value: 'v'.repeat(257) }, "'long'"],
      [{ Key: 'aws:cloudformation:stack-name', Value: 'v' }, 'aws:cloudformation:stack-name'],
    ] as const) {
      const invalid = { name: 'InvalidParameterValue', message: expect.stringContaining(named), $metadata: { httpStatusCode: 400 } };
      await expect(launch({ ...instanceTags([tag]), DryRun: true })).rejects.toMatchObject(invalid);
      await expect(ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [tag], DryRun: true }))).rejects.toMatchObject(invalid);
      await expect(ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'fine', Value: 'v' }, tag] }))).rejects.toMatchObject(
        invalid,
      );
    }
    await expect(launch(instanceTags([{ Key: 'k'.repeat(128), Value: 'v'.repeat(256) }]))).resolves.toBeDefined();
    expect(await tagsOf(id)).toEqual({ deploy: 'd1' });
  });

  it('refuses a CreateTags that would take an instance over 50 tags, on every instance or none', async () => {
    const { Instances } = await launch({ MinCount: 2, MaxCount: 2, ...instanceTags(numbered(49)) });
    const [a, b] = Instances!.map((i) => i.InstanceId!);
    await ec2.send(new CreateTagsCommand({ Resources: [b!], Tags: [{ Key: 'extra', Value: 'v' }] }));
    const twoMore = new CreateTagsCommand({
      Resources: [a!, b!],
      Tags: [
        { Key: 'k0', Value: 'changed' },
        { Key: 'new', Value: 'v' },
      ],
    });
    await expect(ec2.send(twoMore)).rejects.toMatchObject({ name: 'TagLimitExceeded', message: expect.stringContaining(b!) });
    expect((await tagsOf(a!)).k0).toBe('v');
    await ec2.send(
      new CreateTagsCommand({
        Resources: [a!],
        Tags: [
          { Key: 'k0', Value: 'changed' },
          { Key: 'new', Value: 'v' },
        ],
      }),
    );
    expect(await tagsOf(a!)).toMatchObject({ k0: 'changed', new: 'v' });
    expect(Object.keys(await tagsOf(a!))).toHaveLength(50);
  });

  it('deletes tags with DeleteTags: by key, by key and value, or all of them', async () => {
    const { Instances } = await launch(
      instanceTags([
        { Key: 'a', Value: '1' },
        { Key: 'b', Value: '2' },
        { Key: 'c', Value: '' },
        { Key: 'd', Value: '4' },
      ]),
    );
    const id = Instances![0]!.InstanceId!;
    await expect(ec2.send(new DeleteTagsCommand({ Resources: [id], Tags: [{ Key: 'a' }], DryRun: true }))).rejects.toMatchObject({
      name: 'DryRunOperation',
    });
    await expect(ec2.send(new DeleteTagsCommand({ Resources: [id], Tags: [{ Key: 'aws:x' }] }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
    });
    await expect(ec2.send(new DeleteTagsCommand({ Resources: [id, 'i-0ffffffffffffffff'], Tags: [{ Key: 'a' }] }))).rejects.toMatchObject({
      name: 'InvalidInstanceID.NotFound',
    });
    expect(await tagsOf(id)).toEqual({ a: '1', b: '2', c: '', d: '4' });
    const deleted = await ec2.send(
      new DeleteTagsCommand({ Resources: [id], Tags: [{ Key: 'a' }, { Key: 'b', Value: 'not 2' }, { Key: 'c', Value: '' }] }),
    );
    expect(deleted.$metadata.httpStatusCode).toBe(200);
    expect(await tagsOf(id)).toEqual({ b: '2', d: '4' });
    await ec2.send(new DeleteTagsCommand({ Resources: [id], Tags: [{ Key: 'b', Value: '2' }] }));
    expect(await tagsOf(id)).toEqual({ d: '4' });
    await ec2.send(new DeleteTagsCommand({ Resources: [id] }));
    const { Reservations } = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    expect(Reservations![0]!.Instances![0]!.Tags ?? []).toEqual([]);
    const untagged = (await eventLog(sandbox)).filter((e) => e.type === 'instance.untagged' && e.instanceId === id);
    expect(untagged).toHaveLength(3);
  });

  it('reports unknown instance ids as InvalidInstanceID.NotFound', async () => {
    await expect(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0ffffffffffffffff'] }))).rejects.toMatchObject({
      name: 'InvalidInstanceID.NotFound',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('terminates nothing when one id is unknown, and terminates through shutting-down otherwise', async () => {
    await injectFaults(sandbox, [{ type: 'never-boot', count: 1 }]);
    const { Instances } = await launch();
    const id = Instances![0]!.InstanceId!;
    await expect(ec2.send(new TerminateInstancesCommand({ InstanceIds: [id, 'i-0ffffffffffffffff'] }))).rejects.toMatchObject({
      name: 'InvalidInstanceID.NotFound',
    });
    expect(await stateOf(id)).toBe('pending');
    const { TerminatingInstances } = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(TerminatingInstances).toEqual([
      { InstanceId: id, CurrentState: { Code: 32, Name: 'shutting-down' }, PreviousState: { Code: 0, Name: 'pending' } },
    ]);
    await until(async () => ((await stateOf(id)) === 'terminated' ? true : undefined), 'terminated');
    const again = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(again.TerminatingInstances?.[0]?.CurrentState?.Name).toBe('terminated');
  });

  it('fails RunInstances in an AZ under a capacity fault until the fault is removed', async () => {
    await injectFaults(sandbox, [{ type: 'capacity', az: 'ap-northeast-1c' }]);
    await expect(launch({ SubnetId: 'subnet-0ccc' })).rejects.toMatchObject({
      name: 'InsufficientInstanceCapacity',
      $fault: 'server',
      $metadata: { httpStatusCode: 500 },
    });
    await expect(launch({ SubnetId: 'subnet-0aaa' })).resolves.toBeDefined();
    await expect(launch({ SubnetId: 'subnet-0ccc' })).rejects.toMatchObject({ name: 'InsufficientInstanceCapacity' });
    await clearFaults(sandbox);
    await expect(launch({ SubnetId: 'subnet-0ccc' })).resolves.toBeDefined();
  });

  it('a capacity fault of one instance type leaves the other types launching in that AZ', async () => {
    await injectFaults(sandbox, [{ type: 'capacity', az: 'ap-northeast-1c', instanceType: 'c7g.large' }]);
    await expect(launch({ SubnetId: 'subnet-0ccc', InstanceType: 'c7g.large' })).rejects.toMatchObject({
      name: 'InsufficientInstanceCapacity',
      message: expect.stringContaining('sufficient c7g.large capacity'),
    });
    await expect(launch({ SubnetId: 'subnet-0ccc', InstanceType: 'c6g.large' })).resolves.toBeDefined();
    await clearFaults(sandbox);
  });

  it('keeps never-boot instances pending', async () => {
    await injectFaults(sandbox, [{ type: 'never-boot', count: 1 }]);
    const stuck = (await launch()).Instances![0]!.InstanceId!;
    const booting = (await launch()).Instances![0]!.InstanceId!;
    await until(async () => ((await stateOf(booting)) === 'running' ? true : undefined), 'second instance running');
    expect(await stateOf(stuck)).toBe('pending');
  });
});
