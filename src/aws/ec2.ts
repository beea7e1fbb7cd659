import type {
  _InstanceType,
  DescribeInstancesCommandInput,
  EC2Client,
  Image as Ec2Image,
  Instance as Ec2Instance,
  Filter,
  LaunchTemplateVersion as Ec2TemplateVersion,
  RunInstancesCommandInput,
  Tag,
} from '@aws-sdk/client-ec2';
import { UsageError } from '../rollout/errors.js';
import type {
  Call,
  Fleet,
  Image,
  ImageSelector,
  Instance,
  InstanceState,
  LaunchRequest,
  LaunchTemplateChoice,
  LaunchTemplateVersion,
} from '../rollout/ports.js';
import { chunk } from '../shared/chunk.js';
import { callAws } from './errors.js';
import { ec2Sdk } from './sdk.js';

const {
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeSubnetsCommand,
  ModifyImageAttributeCommand,
  paginateDescribeImages,
  paginateDescribeInstances,
  RunInstancesCommand,
  TerminateInstancesCommand,
} = ec2Sdk;

const BATCH = 100;
/** DescribeInstances' largest page: a fleet found by filter costs a call per 1,000 instances, not per 100. */
const PAGE = 1000;
const NOT_TERMINATED = ['pending', 'running', 'stopping', 'stopped', 'shutting-down'];

const tagRecord = (tags: readonly Tag[] = []): Record<string, string> =>
  Object.fromEntries(tags.map((tag) => [tag.Key ?? '', tag.Value ?? '']));

const toInstance = (instance: Ec2Instance): Instance => ({
  id: instance.InstanceId ?? '',
  state: instance.State?.Name as InstanceState,
  az: instance.Placement?.AvailabilityZone ?? '',
  subnetId: instance.SubnetId ?? '',
  vpcId: instance.VpcId ?? '',
  imageId: instance.ImageId ?? '',
  launchedAt: instance.LaunchTime?.toISOString() ?? '',
  tags: tagRecord(instance.Tags),
});

const toImage = (image: Ec2Image): Image => ({
  id: image.ImageId ?? '',
  name: image.Name ?? '',
  state: image.State ?? '',
  createdAt: image.CreationDate ?? '',
});

// Newest first; equal dates fall back to the id so the pick never depends on the API's order.
const newest = (images: readonly Image[]): Image | undefined =>
  images.toSorted((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id))[0];

const imageById = async (ec2: EC2Client, id: string, call: Call): Promise<Image> => {
  const images = await callAws('EC2', 'DescribeImages', async () => {
    try {
      const out = await ec2.send(new DescribeImagesCommand({ ImageIds: [id] }), { abortSignal: call.signal });
      return (out.Images ?? []).map(toImage);
    } catch (error) {
      if (error instanceof Error && error.name === 'InvalidAMIID.NotFound') return [];
      throw error;
    }
  });
  const image = images[0];
  if (!image) throw new UsageError(`image ${id} does not exist or is not shared with this account`);
  if (image.state !== 'available') throw new UsageError(`image ${id} is ${image.state}, not available`);
  return image;
};

const imageByName = async (ec2: EC2Client, owners: readonly string[], name: string, call: Call): Promise<Image> => {
  const input = {
    Owners: [...owners],
    Filters: [
      { Name: 'name', Values: [name] },
      { Name: 'state', Values: ['available'] },
    ],
  };
  const images = await callAws('EC2', 'DescribeImages', async () => {
    const found: Image[] = [];
    for await (const page of paginateDescribeImages({ client: ec2 }, input, { abortSignal: call.signal })) {
      found.push(...(page.Images ?? []).map(toImage));
    }
    return found;
  });
  const image = newest(images);
  if (!image) {
    throw new UsageError(
      `no available image owned by ${owners.join(', ')} has a name matching "${name}"`,
      'check the AMI owners and name pattern, or name the image by id',
    );
  }
  return image;
};

const describeAll = (ec2: EC2Client, filters: Filter[], call: Call): Promise<Instance[]> =>
  callAws('EC2', 'DescribeInstances', async () => {
    const input: DescribeInstancesCommandInput = { Filters: filters, MaxResults: PAGE };
    const found: Instance[] = [];
    for await (const page of paginateDescribeInstances({ client: ec2 }, input, { abortSignal: call.signal })) {
      for (const reservation of page.Reservations ?? []) found.push(...(reservation.Instances ?? []).map(toInstance));
    }
    return found;
  });

const runInput = (request: LaunchRequest): RunInstancesCommandInput => {
  const tags = Object.entries(request.tags).map(([Key, Value]) => ({ Key, Value }));
  const { launchTemplate, metadataOptions, blockDevices } = request;
  return {
    ImageId: request.imageId,
    InstanceType: request.instanceType as _InstanceType,
    MinCount: request.count,
    MaxCount: request.count,
    SubnetId: request.subnetId,
    // None: the launch template's.
    SecurityGroupIds: request.securityGroupIds.length > 0 ? [...request.securityGroupIds] : undefined,
    LaunchTemplate: launchTemplate && { LaunchTemplateId: launchTemplate.id, Version: String(launchTemplate.version) },
    MetadataOptions: metadataOptions && {
      HttpTokens: metadataOptions.httpTokens,
      HttpPutResponseHopLimit: metadataOptions.httpPutResponseHopLimit,
      InstanceMetadataTags: metadataOptions.instanceMetadataTags,
    },
    BlockDeviceMappings: blockDevices?.map((device) => ({
      DeviceName: device.deviceName,
      Ebs: {
        VolumeSize: device.volumeSize,
        VolumeType: device.volumeType,
        Iops: device.iops,
        Throughput: device.throughput,
        Encrypted: device.encrypted,
        KmsKeyId: device.kmsKeyId,
        DeleteOnTermination: device.deleteOnTermination,
      },
    })),
    IamInstanceProfile: instanceProfile(request.iamInstanceProfile),
    KeyName: request.keyName,
    // The SDK sends UserData as given; EC2 expects base64.
    UserData: request.userData === undefined ? undefined : Buffer.from(request.userData, 'utf8').toString('base64'),
    TagSpecifications: [
      { ResourceType: 'instance', Tags: tags },
      { ResourceType: 'volume', Tags: tags },
    ],
    ClientToken: request.clientToken,
  };
};

const launch = async (ec2: EC2Client, request: LaunchRequest, call: Call): Promise<Instance[]> => {
  const command = new RunInstancesCommand(runInput(request));
  const where = `the Availability Zone of ${request.subnetId}`;
  const out = await callAws('EC2', 'RunInstances', () => ec2.send(command, { abortSignal: call.signal }), where);
  return (out.Instances ?? []).map(toInstance);
};

const TEMPLATE_MISSING = [
  'InvalidLaunchTemplateId.NotFound',
  'InvalidLaunchTemplateId.Malformed',
  'InvalidLaunchTemplateName.NotFoundException',
  'InvalidLaunchTemplateId.VersionNotFound',
];

/** What the network interfaces of a template's data fix, if anything. */
const fixedNetwork = (version: Ec2TemplateVersion): string | undefined => {
  const interfaces = version.LaunchTemplateData?.NetworkInterfaces ?? [];
  const fixed = [
    ...(interfaces.some((ni) => ni.SubnetId) ? ['a subnet'] : []),
    ...(interfaces.some((ni) => (ni.Groups ?? []).length > 0) ? ['security groups'] : []),
  ];
  return fixed.length > 0 ? fixed.join(' and ') : interfaces.length > 0 ? 'a network interface' : undefined;
};

const toTemplateVersion = (version: Ec2TemplateVersion): LaunchTemplateVersion => {
  const data = version.LaunchTemplateData ?? {};
  const network = fixedNetwork(version);
  return {
    id: version.LaunchTemplateId ?? '',
    name: version.LaunchTemplateName ?? '',
    version: version.VersionNumber ?? 0,
    ...(data.InstanceType && { instanceType: data.InstanceType }),
    ...((data.SecurityGroupIds ?? []).length > 0 && { securityGroupIds: data.SecurityGroupIds }),
    ...(data.KeyName && { keyName: data.KeyName }),
    tags: tagRecord((data.TagSpecifications ?? []).filter((spec) => spec.ResourceType === 'instance').flatMap((spec) => spec.Tags ?? [])),
    ...(network && { fixedNetwork: network }),
  };
};

const launchTemplate = async (ec2: EC2Client, choice: LaunchTemplateChoice, call: Call): Promise<LaunchTemplateVersion> => {
  const named = 'id' in choice ? `launch template ${choice.id}` : `launch template ${choice.name}`;
  const versions = await callAws('EC2', 'DescribeLaunchTemplateVersions', async () => {
    try {
      const out = await ec2.send(
        new DescribeLaunchTemplateVersionsCommand({
          ...('id' in choice ? { LaunchTemplateId: choice.id } : { LaunchTemplateName: choice.name }),
          Versions: [String(choice.version)],
        }),
        { abortSignal: call.signal },
      );
      return out.LaunchTemplateVersions ?? [];
    } catch (error) {
      if (error instanceof Error && TEMPLATE_MISSING.includes(error.name)) return [];
      throw error;
    }
  });
  const [version] = versions;
  if (!version) {
    throw new UsageError(
      `${named} version ${choice.version} does not exist in this account and region`,
      'check launchTemplate in the config (aws ec2 describe-launch-template-versions)',
    );
  }
  return toTemplateVersion(version);
};

/** Sends a DryRun call; EC2 answers "you would have been allowed" with the error DryRunOperation. */
const dryRun = (operation: string, send: () => Promise<unknown>): Promise<void> =>
  callAws('EC2', operation, async () => {
    try {
      await send();
    } catch (error) {
      if (error instanceof Error && error.name === 'DryRunOperation') return;
      throw error;
    }
  });

/** The EC2 side of a deploy, over a real SDK client. */
/** The config accepts an instance profile's name or its ARN; EC2 takes them in different fields. */
const instanceProfile = (profile: string | undefined) =>
  profile === undefined ? undefined : profile.startsWith('arn:') ? { Arn: profile } : { Name: profile };

export const createFleet = (ec2: EC2Client): Fleet => ({
  checkAccess: (call) =>
    dryRun('DescribeInstances', () => ec2.send(new DescribeInstancesCommand({ DryRun: true }), { abortSignal: call.signal })),

  // No ClientToken: a DryRun must not claim the token the real launch will use.
  mayLaunch: (request, call) =>
    dryRun('RunInstances', () =>
      ec2.send(new RunInstancesCommand({ ...runInput(request), ClientToken: undefined, DryRun: true }), { abortSignal: call.signal }),
    ),

  mayTerminate: async (ids, call) => {
    for (const ids100 of chunk(ids, BATCH)) {
      await dryRun('TerminateInstances', () =>
        ec2.send(new TerminateInstancesCommand({ InstanceIds: ids100, DryRun: true }), { abortSignal: call.signal }),
      );
    }
  },

  resolveImage: (selector: ImageSelector, call) =>
    'id' in selector ? imageById(ec2, selector.id, call) : imageByName(ec2, selector.owners, selector.name, call),

  shareImage: async (imageId, accountId, call) => {
    await callAws('EC2', 'ModifyImageAttribute', () =>
      ec2.send(new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Add: [{ UserId: accountId }] } }), {
        abortSignal: call.signal,
      }),
    );
  },

  // An `image-id` filter, unlike ImageIds, leaves deregistered images out instead of failing the whole call.
  images: (ids, call) =>
    ids.length === 0
      ? Promise.resolve([])
      : callAws('EC2', 'DescribeImages', async () => {
          const out = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'image-id', Values: [...ids] }] }), {
            abortSignal: call.signal,
          });
          return (out.Images ?? []).map(toImage);
        }),

  subnets: async (ids, call) => {
    if (ids.length === 0) return [];
    const out = await callAws('EC2', 'DescribeSubnets', () =>
      ec2.send(new DescribeSubnetsCommand({ SubnetIds: [...ids] }), { abortSignal: call.signal }),
    );
    return (out.Subnets ?? []).map((subnet) => ({
      id: subnet.SubnetId ?? '',
      az: subnet.AvailabilityZone ?? '',
      vpcId: subnet.VpcId ?? '',
    }));
  },

  launchTemplate: (choice, call) => launchTemplate(ec2, choice, call),

  launch: (request, call) => launch(ec2, request, call),

  // An `instance-id` filter, unlike InstanceIds, leaves unknown ids out instead of failing the whole call.
  describe: async (ids, call) => {
    const found: Instance[] = [];
    for (const ids100 of chunk(ids, BATCH)) {
      found.push(...(await describeAll(ec2, [{ Name: 'instance-id', Values: ids100 }], call)));
    }
    return found;
  },

  findByTag: (key, value, call, options) =>
    describeAll(
      ec2,
      [
        { Name: `tag:${key}`, Values: [value].flat() },
        {
          Name: 'instance-state-name',
          Values: options?.states ? [...options.states] : options?.withTerminated ? [...NOT_TERMINATED, 'terminated'] : NOT_TERMINATED,
        },
      ],
      call,
    ),

  terminate: async (ids, call) => {
    for (const ids100 of chunk(ids, BATCH)) {
      await callAws('EC2', 'TerminateInstances', () =>
        ec2.send(new TerminateInstancesCommand({ InstanceIds: ids100 }), { abortSignal: call.signal }),
      );
    }
  },
  tag: async (ids, tags, call) => {
    const Tags = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
    for (const ids100 of chunk(ids, BATCH)) {
      await callAws('EC2', 'CreateTags', () => ec2.send(new CreateTagsCommand({ Resources: ids100, Tags }), { abortSignal: call.signal }));
    }
  },

  // With a Value, DeleteTags removes the tag only where it has that value.
  untag: async (ids, tags, call) => {
    const Tags = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
    for (const ids100 of chunk(ids, BATCH)) {
      await callAws('EC2', 'DeleteTags', () => ec2.send(new DeleteTagsCommand({ Resources: ids100, Tags }), { abortSignal: call.signal }));
    }
  },
});
