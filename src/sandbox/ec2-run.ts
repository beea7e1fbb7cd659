import { checkReferences, checkRoom } from './account.js';
import { dryRunError, findInstances, isDryRun } from './ec2-describe.js';
import { checkTagCount, checkTags } from './ec2-tags.js';
import { reservationXml, stateXml } from './ec2-xml.js';
import { takeLaunchTokens } from './launch-bucket.js';
import { type LaunchSpec, launchInstances, terminateInstances } from './instances.js';
import { intParam, leaf, listEl, listParam, QueryError, requiredParam, structListParam } from './query.js';
import type { ActionContext, SimInstance, World } from './world.js';

/** The instance tags of the TagSpecifications, every resource's checked against EC2's tag restrictions. */
const instanceTags = (params: URLSearchParams): Record<string, string> => {
  const byResource = new Map<string, Record<string, string>>();
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
const userDataOf = (params: URLSearchParams): string | undefined => {
  const userData = params.get('UserData');
  if (userData === null) return undefined;
  if (userData.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(userData)) {
    throw new QueryError(400, 'InvalidParameterValue', 'Invalid BASE64 encoding of user data.');
  }
  return Buffer.from(userData, 'base64').toString('utf8');
};

const launchSpec = (params: URLSearchParams, world: World): LaunchSpec => {
  const imageId = requiredParam(params, 'ImageId');
  if (!imageId.startsWith('ami-')) throw new QueryError(400, 'InvalidAMIID.Malformed', `Invalid id: "${imageId}" (expecting "ami-...")`);
  if (!world.images.has(imageId)) throw new QueryError(400, 'InvalidAMIID.NotFound', `The image id '[${imageId}]' does not exist`);
  const subnetId = requiredParam(params, 'SubnetId');
  const subnet = world.subnets.get(subnetId);
  if (!subnet) throw new QueryError(400, 'InvalidSubnetID.NotFound', `The subnet ID '${subnetId}' does not exist`);
  const userData = userDataOf(params);
  const keyName = params.get('KeyName');
  const profile = params.get('IamInstanceProfile.Name') ?? params.get('IamInstanceProfile.Arn')?.split('/').pop();
  return {
    imageId,
    instanceType: params.get('InstanceType') ?? 'm1.small',
    subnet,
    count: launchCount(params),
    securityGroupIds: listParam(params, 'SecurityGroupId'),
    ...(keyName === null ? {} : { keyName }),
    ...(profile === undefined ? {} : { iamInstanceProfile: profile }),
    tags: instanceTags(params),
    ...(userData === undefined ? {} : { userData }),
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
