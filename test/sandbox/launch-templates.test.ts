import {
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  type EC2Client,
  ModifyLaunchTemplateCommand,
  type RequestLaunchTemplateData,
  RunInstancesCommand,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/server.js';
import { eachTestSandbox, editWorld, sandboxState } from './helpers.js';

describe('the sandbox EC2 launch templates, MetadataOptions and BlockDeviceMappings', () => {
  let sandbox: Sandbox;
  let ec2: EC2Client;
  eachTestSandbox((made) => {
    ({ sandbox, ec2 } = made);
  });

  const imageNamed = async (name: string) =>
    (await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: [name] }] }))).Images![0]!.ImageId!;

  const templateData = async (): Promise<RequestLaunchTemplateData> => ({
    ImageId: await imageNamed('shop-web-2026-10-01'),
    InstanceType: 'c7g.large',
    SecurityGroupIds: ['sg-0web'],
    TagSpecifications: [
      {
        ResourceType: 'instance',
        Tags: [
          { Key: 'team', Value: 'shop' },
          { Key: 'cost', Value: 'lt' },
        ],
      },
    ],
    MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 2 },
    BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 30, VolumeType: 'gp3', Encrypted: true } }],
  });

  const create = async (name = 'shop-web') =>
    (await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: name, LaunchTemplateData: await templateData() })))
      .LaunchTemplate!;

  const run = (input: Partial<RunInstancesCommandInput>) =>
    ec2.send(new RunInstancesCommand({ MinCount: 1, MaxCount: 1, SubnetId: 'subnet-0aaa', ...input }));

  const described = async (id: string) =>
    (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!;

  it('creates a template, adds versions that inherit their source, and moves the default', async () => {
    const template = await create();
    expect(template).toMatchObject({ LaunchTemplateName: 'shop-web', DefaultVersionNumber: 1, LatestVersionNumber: 1 });
    expect(template.LaunchTemplateId).toMatch(/^lt-0[0-9a-f]{16}$/);
    const { LaunchTemplateVersion } = await ec2.send(
      new CreateLaunchTemplateVersionCommand({
        LaunchTemplateId: template.LaunchTemplateId,
        SourceVersion: '1',
        LaunchTemplateData: { InstanceType: 't3.small' },
      }),
    );
    expect(LaunchTemplateVersion).toMatchObject({ VersionNumber: 2, DefaultVersion: false });
    expect(LaunchTemplateVersion!.LaunchTemplateData).toMatchObject({
      InstanceType: 't3.small',
      SecurityGroupIds: ['sg-0web'],
      MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 2 },
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 30, VolumeType: 'gp3', Encrypted: true } }],
      TagSpecifications: [
        {
          ResourceType: 'instance',
          Tags: [
            { Key: 'team', Value: 'shop' },
            { Key: 'cost', Value: 'lt' },
          ],
        },
      ],
    });
    const versions = async (...Versions: string[]) =>
      (await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateName: 'shop-web', Versions }))).LaunchTemplateVersions!.map(
        (version) => version.VersionNumber,
      );
    expect(await versions('$Latest', '$Default')).toEqual([2, 1]);
    await ec2.send(new ModifyLaunchTemplateCommand({ LaunchTemplateName: 'shop-web', DefaultVersion: '2' }));
    expect(await versions('$Default')).toEqual([2]);
    const { LaunchTemplates } = await ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [template.LaunchTemplateId!] }));
    expect(LaunchTemplates).toMatchObject([{ DefaultVersionNumber: 2, LatestVersionNumber: 2 }]);
  });

  it("answers EC2's error codes for a missing template or version, and a name in use", async () => {
    const template = await create();
    await expect(create()).rejects.toMatchObject({ name: 'InvalidLaunchTemplateName.AlreadyExistsException' });
    await expect(ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateNames: ['nope'] }))).rejects.toMatchObject({
      name: 'InvalidLaunchTemplateName.NotFoundException',
    });
    await expect(run({ LaunchTemplate: { LaunchTemplateName: 'nope' } })).rejects.toMatchObject({
      name: 'InvalidLaunchTemplateName.NotFoundException',
    });
    await expect(run({ LaunchTemplate: { LaunchTemplateId: 'lt-0ffffffffffffffff' } })).rejects.toMatchObject({
      name: 'InvalidLaunchTemplateId.NotFound',
    });
    await expect(run({ LaunchTemplate: { LaunchTemplateId: 'lt-bad' } })).rejects.toMatchObject({
      name: 'InvalidLaunchTemplateId.Malformed',
    });
    await expect(
      run({ LaunchTemplate: { LaunchTemplateId: template.LaunchTemplateId, Version: '7' }, DryRun: true }),
    ).rejects.toMatchObject({
      name: 'InvalidLaunchTemplateId.VersionNotFound',
    });
    await expect(
      ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: template.LaunchTemplateId, Versions: ['3'] })),
    ).rejects.toMatchObject({ name: 'InvalidLaunchTemplateId.VersionNotFound' });
  });

  it("launches the request's parameters over the template's, tags merged, and DescribeInstances shows the metadata options and volumes", async () => {
    const template = await create();
    const newest = await imageNamed('shop-web-2026-11-01');
    const { Instances } = await run({
      LaunchTemplate: { LaunchTemplateId: template.LaunchTemplateId, Version: '1' },
      ImageId: newest,
      TagSpecifications: [
        {
          ResourceType: 'instance',
          Tags: [
            { Key: 'cost', Value: 'tool' },
            { Key: 'deploy', Value: 'd1' },
          ],
        },
      ],
    });
    const instance = await described(Instances![0]!.InstanceId!);
    expect(instance).toMatchObject({ ImageId: newest, InstanceType: 'c7g.large', SecurityGroups: [{ GroupId: 'sg-0web' }] });
    expect(Object.fromEntries(instance.Tags!.map((tag) => [tag.Key, tag.Value]))).toEqual({ team: 'shop', cost: 'tool', deploy: 'd1' });
    expect(instance.MetadataOptions).toMatchObject({
      State: 'applied',
      HttpTokens: 'required',
      HttpPutResponseHopLimit: 2,
      HttpEndpoint: 'enabled',
    });
    expect(instance.RootDeviceName).toBe('/dev/xvda');
    expect(instance.BlockDeviceMappings).toMatchObject([
      { DeviceName: '/dev/xvda', Ebs: { Status: 'attached', DeleteOnTermination: true } },
    ]);
    const simulated = (await sandboxState(sandbox)).instances.find((i) => i.id === instance.InstanceId)!;
    expect(simulated.volumes).toMatchObject([{ deviceName: '/dev/xvda', volumeSize: 30, volumeType: 'gp3', encrypted: true, iops: 3000 }]);
    expect(simulated.launchTemplate).toEqual({ id: template.LaunchTemplateId, version: 1 });
  });

  it("gives a launch without options EC2's defaults: IMDSv1 allowed, hop limit 1, the image's 8 GiB root volume", async () => {
    const { Instances } = await run({ ImageId: await imageNamed('shop-web-2026-11-01'), InstanceType: 't3.small' });
    const instance = await described(Instances![0]!.InstanceId!);
    expect(instance.MetadataOptions).toMatchObject({ HttpTokens: 'optional', HttpPutResponseHopLimit: 1 });
    const simulated = (await sandboxState(sandbox)).instances.find((i) => i.id === instance.InstanceId)!;
    expect(simulated.volumes).toMatchObject([{ deviceName: '/dev/xvda', volumeSize: 8, volumeType: 'gp2', encrypted: false }]);
  });

  it('validates MetadataOptions and BlockDeviceMappings as EC2 does, before DryRun', async () => {
    const base = { ImageId: await imageNamed('shop-web-2026-11-01'), DryRun: true };
    const refused = (input: Partial<RunInstancesCommandInput>) => expect(run({ ...base, ...input })).rejects;
    await refused({ MetadataOptions: { HttpPutResponseHopLimit: 65 } }).toMatchObject({ name: 'InvalidParameterValue' });
    await refused({ BlockDeviceMappings: [{ DeviceName: '/dev/sdf', Ebs: { VolumeSize: 100, VolumeType: 'io1' } }] }).toMatchObject({
      name: 'InvalidParameterCombination',
    });
    await refused({
      BlockDeviceMappings: [{ DeviceName: '/dev/sdf', Ebs: { VolumeSize: 100, VolumeType: 'gp2', Throughput: 200 } }],
    }).toMatchObject({
      name: 'InvalidParameterCombination',
    });
    await refused({ BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { KmsKeyId: 'alias/ebs' } }] }).toMatchObject({
      name: 'InvalidParameterDependency',
    });
    await refused({ BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 4 } }] }).toMatchObject({
      name: 'InvalidBlockDeviceMapping',
    });
    await refused({ BlockDeviceMappings: [{ DeviceName: '/dev/sdf', Ebs: { VolumeType: 'gp3' } }] }).toMatchObject({
      name: 'MissingParameter',
    });
    await refused({}).toMatchObject({ name: 'DryRunOperation' });
  });

  it('refuses a launch without HttpTokens=required under require-imdsv2, DryRun or not, from the request or its template', async () => {
    expect((await editWorld(sandbox, [{ op: 'require-imdsv2', enabled: true }])).status).toBe(200);
    const ImageId = await imageNamed('shop-web-2026-11-01');
    await expect(run({ ImageId, DryRun: true })).rejects.toMatchObject({
      name: 'UnauthorizedOperation',
      $metadata: { httpStatusCode: 403 },
    });
    await expect(run({ ImageId, MetadataOptions: { HttpTokens: 'optional' } })).rejects.toMatchObject({ name: 'UnauthorizedOperation' });
    await expect(run({ ImageId, MetadataOptions: { HttpTokens: 'required' }, DryRun: true })).rejects.toMatchObject({
      name: 'DryRunOperation',
    });
    const template = await create();
    await expect(run({ LaunchTemplate: { LaunchTemplateId: template.LaunchTemplateId }, DryRun: true })).rejects.toMatchObject({
      name: 'DryRunOperation',
    });
    expect((await sandboxState(sandbox)).instances.filter((i) => i.imageId === ImageId)).toEqual([]);
  });

  it('refuses a subnet or security groups beside a template whose network interfaces fix them, as EC2 does', async () => {
    const data = {
      ...(await templateData()),
      SecurityGroupIds: undefined,
      NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: 'subnet-0ccc', Groups: ['sg-0web'] }],
    };
    const { LaunchTemplate } = await ec2.send(
      new CreateLaunchTemplateCommand({ LaunchTemplateName: 'fixed-net', LaunchTemplateData: data }),
    );
    const LaunchTemplateSpec = { LaunchTemplateId: LaunchTemplate!.LaunchTemplateId };
    await expect(run({ LaunchTemplate: LaunchTemplateSpec, DryRun: true })).rejects.toMatchObject({ name: 'InvalidParameterCombination' });
    const { Instances } = await ec2.send(new RunInstancesCommand({ MinCount: 1, MaxCount: 1, LaunchTemplate: LaunchTemplateSpec }));
    expect(Instances![0]).toMatchObject({ SubnetId: 'subnet-0ccc' });
  });
});
