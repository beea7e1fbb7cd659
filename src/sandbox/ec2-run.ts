import { checkReferences, checkRoom } from './capacity.js';
import { dryRunError, findInstances, isDryRun } from './ec2-describe.js';
import { blockDevicesParam, DEFAULT_METADATA, mergeBlockDevices, metadataParam, volumeOf, withRootDevice } from './ec2-launch-options.js';
import { checkTagCount, checkTags } from './ec2-tags.js';
import { reservationXml, stateXml } from './ec2-xml.js';
import { takeLaunchTokens } from './launch-bucket.js';
import { type LaunchSpec, launchInstances, terminateInstances } from './instances.js';
import { findTemplate, findVersion, type TemplateData } from './launch-templates.js';
import { intParam, leaf, listEl, listParam, QueryError, structListParam } from './query.js';
import { type ActionContext, canSee, type SimInstance, type World } from './world.js';

/**
 * The instance tags: the template's tag specifications merged with the request's (the request's
 * value wins for a key both give), every resource's checked against EC2's tag restrictions.
 */
const instanceTags = (params: URLSearchParams, template: TemplateData | undefined): Record<string, string> => {
  const byResource = new Map<string, Record<string, string>>(
    Object.entries(template?.tags ?? {}).map(([resource, tags]) => [resource, { ...tags }]),
  );
  for (const spec of structListParam(params, 'TagSpecification')) {
    const resource = spec.get('ResourceType') ?? '';
    const tags = structListParam(spec, 'Tag').map((tag) => [tag.get('Key') ?? '', tag.get('Value') ?? ''] as const);
    checkTags(tags);
    byResource.set(resource, { ...byResource.get(resource), ...Object.fromEntries(tags) });
  }
  for (const [resource, tags] of byResource) checkTagCount(`the ${resource}`, new Set(Object.keys(tags)));
  return byResource.get('instance') ?? {};
};

const launchCount = (params: URLSearchParams): number => {
  const min = intParam(params, 'MinCount');
  const max = intParam(params, 'MaxCount');
  if (min === undefined) throw new QueryError(400, 'MissingParameter', 'The request must contain the parameter MinCount');
  if (max === undefined) throw new QueryError(400, 'MissingParameter', 'The request must contain the parameter MaxCount');
  if (min < 1 || max < min)
    throw new QueryError(400, 'InvalidParameterValue', `MinCount (${min}) must be at least 1 and at most MaxCount (${max}).`);
  return max;
};

/** UserData, decoded. */
const decodeUserData = (userData: string | undefined): string | undefined => {
  if (userData === undefined) return undefined;
  if (userData.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(userData)) {
    throw new QueryError(400, 'InvalidParameterValue', 'Invalid BASE64 encoding of user data.');
  }
  return Buffer.from(userData, 'base64').toString('utf8');
};

/** `LaunchTemplate.*`: the version the launch uses, or nothing. */
const launchTemplateOf = (params: URLSearchParams, world: World) => {
  if (params.get('LaunchTemplate.LaunchTemplateId') === null && params.get('LaunchTemplate.LaunchTemplateName') === null) return undefined;
  const template = findTemplate(world, params, 'LaunchTemplate.');
  return { id: template.id, ...findVersion(template, params.get('LaunchTemplate.Version') ?? '$Default') };
};

/** A template whose network interfaces fix the network leaves the request none of its own, as EC2 requires. */
const networkOf = (params: URLSearchParams, template: TemplateData | undefined) => {
  const securityGroupIds = listParam(params, 'SecurityGroupId');
  const subnetId = params.get('SubnetId');
  const [primary] = template?.networkInterfaces ?? [];
  if (!primary) return { subnetId, securityGroupIds: securityGroupIds.length > 0 ? securityGroupIds : (template?.securityGroupIds ?? []) };
  if (subnetId !== null) {
    throw new QueryError(
      400,
      'InvalidParameterCombination',
      'Network interfaces and an instance-level subnet ID may not be specified on the same request',
    );
  }
  if (securityGroupIds.length > 0) {
    throw new QueryError(
      400,
      'InvalidParameterCombination',
      'Network interfaces and an instance-level security groups may not be specified on the same request',
    );
  }
  return { subnetId: primary.subnetId ?? null, securityGroupIds: primary.groups };
};

/** What the launch is: the request's parameters over its launch template's, validated as EC2 does. */
const launchSpec = (params: URLSearchParams, world: World): LaunchSpec => {
  const template = launchTemplateOf(params, world);
  const data = template?.data;
  const imageId = params.get('ImageId') ?? data?.imageId;
  if (!imageId) throw new QueryError(400, 'MissingParameter', 'The request must contain the parameter ImageId');
  if (!imageId.startsWith('ami-')) throw new QueryError(400, 'InvalidAMIID.Malformed', `Invalid id: "${imageId}" (expecting "ami-...")`);
  // An image of another account not shared with this one does not exist for it.
  const image = world.images.get(imageId);
  if (!image || !canSee(image, world.accountId))
    throw new QueryError(400, 'InvalidAMIID.NotFound', `The image id '[${imageId}]' does not exist`);
  const network = networkOf(params, data);
  if (!network.subnetId) throw new QueryError(400, 'MissingParameter', 'The request must contain the parameter SubnetId');
  const subnet = world.subnets.get(network.subnetId);
  if (!subnet) throw new QueryError(400, 'InvalidSubnetID.NotFound', `The subnet ID '${network.subnetId}' does not exist`);
  const userData = decodeUserData(params.get('UserData') ?? data?.userData);
  const keyName = params.get('KeyName') ?? data?.keyName;
  const profile =
    params.get('IamInstanceProfile.Name') ?? params.get('IamInstanceProfile.Arn')?.split('/').pop() ?? data?.iamInstanceProfile;
  const blockDevices = mergeBlockDevices(data?.blockDevices ?? [], blockDevicesParam(params, ''));
  for (const mapping of withRootDevice(blockDevices)) volumeOf(mapping, '');
  return {
    imageId,
    instanceType: params.get('InstanceType') ?? data?.instanceType ?? 'm1.small',
    subnet,
    count: launchCount(params),
    securityGroupIds: network.securityGroupIds,
    ...(keyName === undefined ? {} : { keyName }),
    ...(profile === undefined ? {} : { iamInstanceProfile: profile }),
    tags: instanceTags(params, data),
    ...(userData === undefined ? {} : { userData }),
    metadataOptions: { ...DEFAULT_METADATA, ...data?.metadataOptions, ...metadataParam(params, '') },
    blockDevices,
    ...(template && { launchTemplate: { id: template.id, version: template.number } }),
  };
};

// Two requests are "the same" for idempotency when every parameter but the token matches.
const fingerprint = (params: URLSearchParams): string =>
  JSON.stringify([...params].filter(([key]) => key !== 'ClientToken' && key !== 'DryRun').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

const alreadyLaunched = (world: World, params: URLSearchParams): SimInstance[] | undefined => {
  const token = params.get('ClientToken');
  const prior = token === null ? undefined : world.clientTokens.get(token);
  if (!prior) return undefined;
  if (prior.fingerprint !== fingerprint(params)) {
    throw new QueryError(400, 'IdempotentParameterMismatch', `The client token '${token}' was already used with different parameters.`);
  }
  return prior.instanceIds.map((id) => world.instances.get(id)!);
};

export const runInstances = (params: URLSearchParams, { world, now }: ActionContext): string => {
  const spec = launchSpec(params, world);
  // An organization policy decides on the launch as a whole, DryRun or not.
  if (world.settings.requireImdsv2 && spec.metadataOptions?.httpTokens !== 'required') {
    throw new QueryError(
      403,
      'UnauthorizedOperation',
      'You are not authorized to perform this operation. (an organization policy requires MetadataOptions.HttpTokens=required)',
    );
  }
  checkReferences(world, spec);
  if (isDryRun(params)) throw dryRunError();
  // Every accepted launch spends tokens, a ClientToken replay too: the harsher reading.
  const prior = alreadyLaunched(world, params);
  if (prior) {
    takeLaunchTokens(world, prior.length, now);
    return reservationXml(world, prior);
  }
  const az = spec.subnet.az;
  takeLaunchTokens(world, spec.count, now);
  checkRoom(world, spec, spec.count);
  if (world.faults.take((f) => f.type === 'capacity' && f.az === az && (f.instanceType ?? spec.instanceType) === spec.instanceType)) {
    throw new QueryError(
      500,
      'InsufficientInstanceCapacity',
      `We currently do not have sufficient ${spec.instanceType} capacity in the Availability Zone you requested (${az}). Our system will be working on provisioning additional capacity.`,
    );
  }
  const instances = launchInstances(world, spec, now);
  const token = params.get('ClientToken');
  if (token !== null) world.clientTokens.set(token, { fingerprint: fingerprint(params), instanceIds: instances.map((i) => i.id) });
  return reservationXml(world, instances);
};

/** All or nothing: one unknown id fails the call before anything is terminated. */
export const terminate = (params: URLSearchParams, { world, now }: ActionContext): string => {
  const ids = listParam(params, 'InstanceId');
  if (ids.length === 0) throw new QueryError(400, 'MissingParameter', 'The request must contain the parameter InstanceId');
  const instances = findInstances(world, ids);
  if (isDryRun(params)) throw dryRunError();
  const changes = terminateInstances(world, instances, now);
  return listEl(
    'instancesSet',
    'item',
    changes.map(
      (change) => leaf('instanceId', change.id) + stateXml('currentState', change.current) + stateXml('previousState', change.previous),
    ),
  );
};
