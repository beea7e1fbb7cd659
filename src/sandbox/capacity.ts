// What the account has and may still launch, as EC2 enforces it: the On-Demand vCPU quota, each
// subnet's free addresses, the instance types offered per AZ, and the security groups, instance
// profiles and key pairs a launch names.
import { dryRunError, isDryRun } from './ec2-describe.js';
import { el, type Filter, filterParam, leaf, listEl, listParam, QueryError } from './query.js';
import { isStandardFamily } from '../shared/vcpu-quota.js';
import type { ActionContext, SimSubnet, World } from './world.js';

/** A subnet's /20 less the 5 addresses AWS reserves. */
const SUBNET_ADDRESSES = 4091;

const SIZE_VCPUS: Readonly<Record<string, number>> = { nano: 2, micro: 2, small: 2, medium: 2, large: 2, xlarge: 4 };

/** EC2's default vCPUs of a type, by its size (`8xlarge`: 32); undefined for a name EC2 would not know. */
export const vcpusOf = (instanceType: string): number | undefined => {
  const match = /^[a-z][a-z0-9-]*\.(?:(\d+)xlarge|(nano|micro|small|medium|large|xlarge))$/.exec(instanceType);
  if (!match) return undefined;
  return match[1] === undefined ? SIZE_VCPUS[match[2]!] : Number(match[1]) * 4;
};

const invalidTypes = (types: readonly string[]): QueryError =>
  new QueryError(400, 'InvalidInstanceType', `The following supplied instance types do not exist: [${types.join(', ')}]`);

/** The addresses a subnet still has: its instances that are not yet terminated hold one each. */
export const freeAddresses = (world: World, subnet: SimSubnet): number => {
  let held = subnet.otherAddresses;
  for (const instance of world.instances.values()) if (instance.subnetId === subnet.id && instance.state !== 'terminated') held++;
  return Math.max(0, SUBNET_ADDRESSES - held);
};

/** Sets what others hold in the subnet so that `count` addresses are free now. */
export const setFreeAddresses = (world: World, subnet: SimSubnet, count: number): void => {
  subnet.otherAddresses = 0;
  subnet.otherAddresses = Math.max(0, freeAddresses(world, subnet) - count);
};

const offeredIn = (world: World, az: string, instanceType: string): boolean =>
  vcpusOf(instanceType) !== undefined && (world.offerings.get(az)?.has(instanceType) ?? true);

const runningStandardVcpus = (world: World): number => {
  let vcpus = 0;
  for (const instance of world.instances.values()) {
    if ((instance.state === 'pending' || instance.state === 'running') && isStandardFamily(instance.instanceType))
      vcpus += vcpusOf(instance.instanceType) ?? 0;
  }
  return vcpus;
};

export interface LaunchNames {
  readonly instanceType: string;
  readonly subnet: SimSubnet;
  readonly securityGroupIds: readonly string[];
  readonly keyName?: string;
  readonly iamInstanceProfile?: string;
}

/** What EC2 validates of the request's references before a DryRun answers. */
export const checkReferences = (world: World, launch: LaunchNames): void => {
  if (vcpusOf(launch.instanceType) === undefined) {
    throw new QueryError(400, 'InvalidParameterValue', `Invalid value '${launch.instanceType}' for InstanceType.`);
  }
  const group = launch.securityGroupIds.find((id) => !world.securityGroups.has(id));
  if (group !== undefined) {
    throw new QueryError(400, 'InvalidGroup.NotFound', `The security group '${group}' does not exist in VPC '${launch.subnet.vpcId}'`);
  }
  if (launch.keyName !== undefined && !world.keyPairs.has(launch.keyName)) {
    throw new QueryError(400, 'InvalidKeyPair.NotFound', `The key pair '${launch.keyName}' does not exist`);
  }
  if (launch.iamInstanceProfile !== undefined && !world.instanceProfiles.has(launch.iamInstanceProfile)) {
    throw new QueryError(
      400,
      'InvalidParameterValue',
      `Value (${launch.iamInstanceProfile}) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name`,
    );
  }
};

/** What the account has room for, checked when the launch is real (after a DryRun would have answered). */
export const checkRoom = (world: World, launch: LaunchNames, count: number): void => {
  const { az } = launch.subnet;
  if (!offeredIn(world, az, launch.instanceType)) {
    throw new QueryError(
      400,
      'Unsupported',
      `Your requested instance type (${launch.instanceType}) is not supported in your requested Availability Zone (${az}). Please retry your request by not specifying an Availability Zone or choosing ${[...(world.offerings.get(az) ?? [])].join(', ')}.`,
    );
  }
  if (freeAddresses(world, launch.subnet) < count) {
    throw new QueryError(
      400,
      'InsufficientFreeAddressesInSubnet',
      `There are not enough free addresses in subnet '${launch.subnet.id}' to satisfy the requested number of instances.`,
    );
  }
  const asked = isStandardFamily(launch.instanceType) ? count * vcpusOf(launch.instanceType)! : 0;
  if (asked > 0 && runningStandardVcpus(world) + asked > world.settings.vcpuQuota) {
    throw new QueryError(
      400,
      'VcpuLimitExceeded',
      `You have requested more vCPU capacity than your current vCPU limit of ${world.settings.vcpuQuota} allows for the instance bucket that the specified instance type belongs to. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.`,
    );
  }
};

const filtered = <T>(items: readonly T[], filters: readonly Filter[], fields: Readonly<Record<string, (item: T) => string>>): T[] => {
  for (const { name } of filters) if (!fields[name]) throw new QueryError(400, 'InvalidParameterValue', `The filter '${name}' is invalid`);
  return items.filter((item) => filters.every(({ name, values }) => values.includes(fields[name]!(item))));
};

export const describeInstanceTypes = (params: URLSearchParams, _context: ActionContext): string => {
  if (isDryRun(params)) throw dryRunError();
  const types = listParam(params, 'InstanceType');
  if (types.length > 100) throw new QueryError(400, 'InvalidParameterValue', 'The maximum number of instance types is 100.');
  const unknown = types.filter((type) => vcpusOf(type) === undefined);
  if (unknown.length > 0) throw invalidTypes(unknown);
  return listEl(
    'instanceTypeSet',
    'item',
    types.map((type) => leaf('instanceType', type) + el('vCpuInfo', leaf('defaultVCpus', vcpusOf(type)))),
  );
};

export const describeInstanceTypeOfferings = (params: URLSearchParams, { world }: ActionContext): string => {
  if (isDryRun(params)) throw dryRunError();
  const locationType = params.get('LocationType') ?? 'region';
  if (locationType !== 'availability-zone') {
    throw new QueryError(400, 'InvalidParameterValue', 'The sandbox lists offerings by availability-zone only.');
  }
  const filters = filterParam(params);
  const asked = filters.find((filter) => filter.name === 'instance-type')?.values ?? [];
  const azs = [...new Set([...world.subnets.values()].map((subnet) => subnet.az))];
  const offerings = azs.flatMap((az) => asked.filter((type) => offeredIn(world, az, type)).map((type) => ({ type, az })));
  return listEl(
    'instanceTypeOfferingSet',
    'item',
    filtered(offerings, filters, { 'instance-type': (o) => o.type, location: (o) => o.az }).map(
      (o) => leaf('instanceType', o.type) + leaf('locationType', 'availability-zone') + leaf('location', o.az),
    ),
  );
};

export const describeSecurityGroups = (params: URLSearchParams, { world }: ActionContext): string => {
  if (isDryRun(params)) throw dryRunError();
  const ids = listParam(params, 'GroupId');
  const missing = ids.filter((id) => !world.securityGroups.has(id));
  if (missing.length > 0) throw new QueryError(400, 'InvalidGroup.NotFound', `The security group '${missing.join(', ')}' does not exist`);
  const candidates = ids.length > 0 ? ids : [...world.securityGroups.keys()];
  return listEl(
    'securityGroupInfo',
    'item',
    filtered(candidates, filterParam(params), { 'group-id': (id) => id }).map(
      (id) => leaf('ownerId', world.accountId) + leaf('groupId', id) + leaf('groupName', id) + leaf('vpcId', world.securityGroups.get(id)),
    ),
  );
};

export const describeKeyPairs = (params: URLSearchParams, { world }: ActionContext): string => {
  if (isDryRun(params)) throw dryRunError();
  const names = listParam(params, 'KeyName');
  const missing = names.filter((name) => !world.keyPairs.has(name));
  if (missing.length > 0) throw new QueryError(400, 'InvalidKeyPair.NotFound', `The key pair '${missing[0]}' does not exist`);
  const candidates = names.length > 0 ? names : [...world.keyPairs];
  return listEl(
    'keySet',
    'item',
    filtered(candidates, filterParam(params), { 'key-name': (name) => name }).map(
      (name, index) => leaf('keyPairId', `key-0${index.toString(16).padStart(16, '0')}`) + leaf('keyName', name),
    ),
  );
};
