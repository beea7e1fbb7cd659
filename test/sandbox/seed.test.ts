import { readFile } from 'node:fs/promises';
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSubnetsCommand,
  type EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { seedFromConfig } from '../../src/sandbox/seed.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.js';
import { cloudMetadata, ec2Of, elbOf, mackerel, startTestSandbox, TIME_SCALE, until, WEB_TG } from './helpers.js';

describe('a seeded sandbox', () => {
  let sandbox: Sandbox;
  let ec2: EC2Client;
  let elb: ElasticLoadBalancingV2Client;
  beforeAll(async () => {
    sandbox = await startTestSandbox();
    ec2 = ec2Of(sandbox);
    elb = elbOf(sandbox);
  });
  afterAll(async () => {
    ec2.destroy();
    elb.destroy();
    await sandbox.close();
  });

  it('offers an older and a newer image matching the role filter', async () => {
    const { Images } = await ec2.send(
      new DescribeImagesCommand({
        Owners: ['self'],
        Filters: [
          { Name: 'name', Values: ['shop-web-*'] },
          { Name: 'state', Values: ['available'] },
        ],
      }),
    );
    expect(Images?.map((i) => [i.Name, i.CreationDate, i.OwnerId, i.State]).sort()).toEqual([
      ['shop-web-2026-10-01', '2026-10-01T00:00:00.000Z', '123456789012', 'available'],
      ['shop-web-2026-11-01', '2026-11-01T00:00:00.000Z', '123456789012', 'available'],
    ]);
    const pinned = await ec2.send(new DescribeImagesCommand({ ImageIds: ['ami-0pinnedworker'] }));
    expect(pinned.Images?.map((i) => i.ImageId)).toEqual(['ami-0pinnedworker']);
  });

  it('puts the subnets in distinct AZs of one VPC', async () => {
    const { Subnets } = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: ['subnet-0aaa', 'subnet-0ccc'] }));
    expect(Subnets?.map((s) => [s.SubnetId, s.AvailabilityZone, s.VpcId])).toEqual([
      ['subnet-0aaa', 'ap-northeast-1a', 'vpc-0sandbox'],
      ['subnet-0ccc', 'ap-northeast-1c', 'vpc-0sandbox'],
    ]);
  });

  it('runs the old fleet from the older image, tagged for its role', async () => {
    const { Reservations } = await ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'tag:mackerel-replacer:role', Values: ['staging/web'] }] }),
    );
    const instances = Reservations?.flatMap((r) => r.Instances ?? []) ?? [];
    const { Images } = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['shop-web-2026-10-01'] }] }));
    expect(instances.map((i) => [i.State?.Name, i.Placement?.AvailabilityZone, i.ImageId, i.VpcId])).toEqual([
      ['running', 'ap-northeast-1a', Images?.[0]?.ImageId, 'vpc-0sandbox'],
      ['running', 'ap-northeast-1c', Images?.[0]?.ImageId, 'vpc-0sandbox'],
    ]);
    const tags = Object.fromEntries(instances[0]?.Tags?.map((t) => [t.Key, t.Value]) ?? []);
    expect(tags).toEqual({
      Name: 'staging-web',
      'mackerel-replacer:env': 'staging',
      'mackerel-replacer:role': 'staging/web',
      'managed-by': 'mackerel-replacer',
    });
  });

  it('registers the old fleet in Mackerel as working hosts of the role, with EC2 metadata', async () => {
    const { Reservations } = await ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'tag:mackerel-replacer:role', Values: ['staging/worker'] }] }),
    );
    const ids = Reservations?.flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId);
    const { json } = await mackerel(sandbox, 'GET', '/api/v0/hosts?service=shop&role=worker');
    expect(json.hosts).toHaveLength(2);
    expect(json.hosts?.map((h) => cloudMetadata(h)['instance-id']).sort()).toEqual(ids?.sort());
    const host = json.hosts![0]!;
    expect(host).toMatchObject({ status: 'working', isRetired: false, roles: { shop: ['worker'] } });
    expect(host.customIdentifier).toBe(`${cloudMetadata(host)['instance-id']}.ec2.amazonaws.com`);
    expect(Object.keys(cloudMetadata(host)).sort()).toEqual(
      [
        'instance-id',
        'instance-type',
        'placement/availability-zone',
        'security-groups',
        'ami-id',
        'hostname',
        'local-hostname',
        'public-hostname',
        'local-ipv4',
        'public-ipv4',
        'reservation-id',
      ].sort(),
    );
    expect(typeof host.createdAt).toBe('number');
    expect(host.createdAt).toBeLessThan(Date.now() / 1000);
  });

  it('serves the role target group with every old instance healthy', async () => {
    const { TargetGroups } = await elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [WEB_TG] }));
    expect(TargetGroups?.[0]).toMatchObject({ TargetGroupName: 'shop-web', VpcId: 'vpc-0sandbox', Port: 80, TargetType: 'instance' });
    const { Attributes } = await elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: WEB_TG }));
    expect(Attributes).toContainEqual({ Key: 'deregistration_delay.timeout_seconds', Value: '30' });
    const { TargetHealthDescriptions } = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: WEB_TG }));
    expect(TargetHealthDescriptions?.map((d) => d.TargetHealth?.State)).toEqual(['healthy', 'healthy']);
  });
});

describe('seeding from the example config', () => {
  it('builds the world examples/replacer.yml describes', async () => {
    const config = parse(await readFile(new URL('../../examples/replacer.yml', import.meta.url), 'utf8'));
    expect(seedFromConfig(config).environments.staging?.roles.worker).toEqual({
      ami: { owners: ['self'], name: 'reactio-worker-*' },
      instanceType: 't3.small',
      subnets: ['subnet-0aaa1111', 'subnet-0ccc3333'],
      securityGroupIds: ['sg-0123abcd'],
      targetGroups: [],
      perAz: 1,
    });
    const sandbox = await startSandbox({ config, timeScale: TIME_SCALE });
    const ec2 = ec2Of(sandbox);
    try {
      const { json } = await mackerel(sandbox, 'GET', '/api/v0/hosts?service=reactio-staging&role=web', undefined, 'sandbox');
      expect(json.hosts).toHaveLength(2);
      // The example's user data configures the agent and restarts it: the web role, working. From the
      // worker image, the role can only come from the user data (Mackerel keeps the image's role beside it).
      const UserData = (await readFile(new URL('../../examples/user_data/boot-web.sh', import.meta.url))).toString('base64');
      const { Images } = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['reactio-worker-*'] }] }));
      const { Instances } = await ec2.send(
        new RunInstancesCommand({ ImageId: Images![0]!.ImageId!, MinCount: 1, MaxCount: 1, SubnetId: 'subnet-0aaa1111', UserData }),
      );
      const customIdentifier = `${Instances![0]!.InstanceId}.ec2.amazonaws.com`;
      const host = await until(async () => {
        const found = (await mackerel(sandbox, 'GET', `/api/v0/hosts?customIdentifier=${customIdentifier}`, undefined, 'sandbox')).json
          .hosts?.[0];
        return found?.status === 'working' ? found : undefined;
      }, 'the host working');
      expect(host.roles['reactio-staging']).toEqual(['worker', 'web']);
    } finally {
      ec2.destroy();
      await sandbox.close();
    }
  });
});
