// The account's limits as EC2 and Service Quotas enforce them: what a launch names must exist, and
// the vCPU quota, a subnet's free addresses and the types offered per AZ refuse a launch past them.
import {
  DescribeImagesCommand,
  DescribeInstanceTypeOfferingsCommand,
  DescribeInstanceTypesCommand,
  DescribeSubnetsCommand,
  RunInstancesCommand,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { GetServiceQuotaCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { describe, expect, it } from 'vitest';
import { editWorld, eachTestSandbox, type SandboxUnderTest, sandboxState } from './helpers.js';

let made: SandboxUnderTest;
eachTestSandbox((fresh) => {
  made = fresh;
});

const launch = async (overrides: Partial<RunInstancesCommandInput> = {}) => {
  const { Images } = await made.ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['shop-web-2026-11-01'] }] }));
  return made.ec2.send(
    new RunInstancesCommand({
      ImageId: Images![0]!.ImageId!,
      InstanceType: 't3.small',
      MinCount: 1,
      MaxCount: 1,
      SubnetId: 'subnet-0aaa',
      SecurityGroupIds: ['sg-0web'],
      ...overrides,
    }),
  );
};

const refusal = (sent: Promise<unknown>) =>
  sent.then(
    () => undefined,
    (error: Error) => ({ name: error.name, message: error.message }),
  );

const quotas = (accessKeyId = 'sandbox') =>
  new ServiceQuotasClient({
    endpoint: made.sandbox.url,
    region: 'ap-northeast-1',
    credentials: { accessKeyId, secretAccessKey: 'test' },
    maxAttempts: 1,
  });

describe('what a launch names must exist', () => {
  it('refuses an unknown security group, key pair or instance profile with EC2 codes, DryRun too', async () => {
    const seeded = (await sandboxState(made.sandbox)).instances.length;
    expect(await refusal(launch({ SecurityGroupIds: ['sg-0nope'], DryRun: true }))).toEqual({
      name: 'InvalidGroup.NotFound',
      message: "The security group 'sg-0nope' does not exist in VPC 'vpc-0sandbox'",
    });
    expect(await refusal(launch({ KeyName: 'nope' }))).toEqual({
      name: 'InvalidKeyPair.NotFound',
      message: "The key pair 'nope' does not exist",
    });
    expect(await refusal(launch({ IamInstanceProfile: { Name: 'nope' } }))).toMatchObject({
      name: 'InvalidParameterValue',
      message: expect.stringContaining('Invalid IAM Instance Profile name'),
    });
    expect((await sandboxState(made.sandbox)).instances).toHaveLength(seeded);
  });
});

describe('the account limits', () => {
  it('Service Quotas answers the vCPU quota on the same port; over it RunInstances fails with VcpuLimitExceeded', async () => {
    const client = quotas();
    const { Quota } = await client.send(new GetServiceQuotaCommand({ ServiceCode: 'ec2', QuotaCode: 'L-1216C47A' }));
    expect(Quota).toMatchObject({ QuotaCode: 'L-1216C47A', Value: 5120 });
    // The seeded fleet: 4 x t3.small, 2 vCPUs each.
    await editWorld(made.sandbox, [{ op: 'vcpu-quota', limit: 10 }]);
    expect((await client.send(new GetServiceQuotaCommand({ ServiceCode: 'ec2', QuotaCode: 'L-1216C47A' }))).Quota?.Value).toBe(10);
    expect(await refusal(launch({ MinCount: 2, MaxCount: 2 }))).toMatchObject({ name: 'VcpuLimitExceeded' });
    expect((await launch()).Instances).toHaveLength(1);
    await editWorld(made.sandbox, [{ op: 'deny', action: 'GetServiceQuota' }]);
    expect(await refusal(client.send(new GetServiceQuotaCommand({ ServiceCode: 'ec2', QuotaCode: 'L-1216C47A' })))).toMatchObject({
      name: 'AccessDeniedException',
    });
    client.destroy();
  });

  it('Service Quotas refuses an access key id of no account of the sandbox', async () => {
    const stranger = quotas('AKIASTRANGER');
    expect(await refusal(stranger.send(new GetServiceQuotaCommand({ ServiceCode: 'ec2', QuotaCode: 'L-1216C47A' })))).toMatchObject({
      name: 'UnrecognizedClientException',
    });
    stranger.destroy();
  });

  it('a subnet shows its free addresses and refuses a launch past them with InsufficientFreeAddressesInSubnet', async () => {
    await editWorld(made.sandbox, [{ op: 'subnet-free-addresses', id: 'subnet-0aaa', count: 1 }]);
    const free = async () =>
      (await made.ec2.send(new DescribeSubnetsCommand({ SubnetIds: ['subnet-0aaa'] }))).Subnets![0]!.AvailableIpAddressCount;
    expect(await free()).toBe(1);
    expect(await refusal(launch({ MinCount: 2, MaxCount: 2 }))).toMatchObject({ name: 'InsufficientFreeAddressesInSubnet' });
    expect((await launch()).Instances).toHaveLength(1);
    expect(await free()).toBe(0);
  });

  it('answers vCPUs and offerings per AZ; a type not offered fails with Unsupported', async () => {
    const { InstanceTypes } = await made.ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['t3.small', 'c7g.4xlarge'] }));
    expect(InstanceTypes!.map((info) => [info.InstanceType, info.VCpuInfo?.DefaultVCpus])).toEqual([
      ['t3.small', 2],
      ['c7g.4xlarge', 16],
    ]);
    await editWorld(made.sandbox, [{ op: 'instance-type-offerings', az: 'ap-northeast-1a', types: ['m5.large'] }]);
    const { InstanceTypeOfferings } = await made.ec2.send(
      new DescribeInstanceTypeOfferingsCommand({
        LocationType: 'availability-zone',
        Filters: [{ Name: 'instance-type', Values: ['t3.small', 'm5.large'] }],
      }),
    );
    expect(InstanceTypeOfferings!.map((offering) => `${offering.Location} ${offering.InstanceType}`).sort()).toEqual([
      'ap-northeast-1a m5.large',
      'ap-northeast-1c m5.large',
      'ap-northeast-1c t3.small',
    ]);
    expect(await refusal(launch())).toMatchObject({ name: 'Unsupported' });
    expect((await launch({ InstanceType: 'm5.large' })).Instances).toHaveLength(1);
    expect((await sandboxState(made.sandbox)).instances.filter((instance) => instance.state === 'pending')).toHaveLength(1);
  });
});
