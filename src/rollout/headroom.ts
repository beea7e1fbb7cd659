// The account's real room for the new fleet, checked before anything launches: the security
// groups and key pair it names, the instance types offered in each AZ, each subnet's free
// addresses and the On-Demand vCPU quota. Blue/green doubles a fleet for a while; these are the
// usual reasons a launch fails halfway, so each is refused here with the limit and the fix.
import { instanceTypesOf } from './capacity.js';
import type { Emit } from './events.js';
import { ApiError, UsageError } from './errors.js';
import type { AzLaunch } from './plan.js';
import type { Call, Capacity } from './ports.js';
import type { RoleSpec } from './spec.js';
import { STANDARD_VCPU_QUOTA, isStandardFamily } from '../shared/vcpu-quota.js';

type Deps = { readonly capacity: Capacity; readonly emit: Emit };

const sum = (values: readonly number[]): number => values.reduce((total, n) => total + n, 0);

/** Subnet id → the most new instances one wave launches there: the old ones a wave replaces free theirs before the next. */
const addressesNeeded = (waves: readonly (readonly AzLaunch[])[]): Map<string, number> => {
  const needed = new Map<string, number>();
  for (const launches of waves) {
    const inWave = new Map<string, number>();
    for (const launch of launches) inWave.set(launch.subnetId, (inWave.get(launch.subnetId) ?? 0) + launch.count);
    for (const [subnet, count] of inWave) needed.set(subnet, Math.max(needed.get(subnet) ?? 0, count));
  }
  return needed;
};

const TEMPLATE_S = " (the launch template's)";

/** The security groups and key pair the launch names: the role's, or else its launch template's. */
const references = (spec: RoleSpec) => {
  const template = spec.pinnedTemplate;
  const groupsFromTemplate = spec.securityGroupIds.length === 0 && template?.securityGroupIds !== undefined;
  const keyFromTemplate = spec.keyName === undefined && template?.keyName !== undefined;
  return {
    groups: groupsFromTemplate ? template!.securityGroupIds! : spec.securityGroupIds,
    groupsOf: groupsFromTemplate ? TEMPLATE_S : '',
    keyName: spec.keyName ?? template?.keyName,
    keyOf: keyFromTemplate ? TEMPLATE_S : '',
  };
};

const checkReferences = async (spec: RoleSpec, deps: Deps, call: Call): Promise<string | undefined> => {
  const { groups, groupsOf, keyName, keyOf } = references(spec);
  const [missing, keyFound] = await Promise.all([
    deps.capacity.missingSecurityGroups(groups, call),
    keyName === undefined ? true : deps.capacity.keyPairExists(keyName, call),
  ]);
  if (missing.length > 0) {
    throw new UsageError(
      `security groups not found in EC2: ${missing.join(', ')}${groupsOf} (RunInstances would fail with InvalidGroup.NotFound)`,
      `${groupsOf ? 'fix SecurityGroupIds in the launch template, or set securityGroupIds in the role' : 'fix securityGroupIds in the role'}: each must be a security group of the subnets' VPC`,
    );
  }
  if (!keyFound) {
    throw new UsageError(
      `key pair "${keyName}"${keyOf} not found in EC2 (RunInstances would fail with InvalidKeyPair.NotFound)`,
      `${keyOf ? 'fix KeyName in the launch template' : 'fix keyName in the role'}, or import the key pair into this region`,
    );
  }
  const named = [
    ...(groups.length > 0 ? [`security groups ${groups.join(', ')}${groupsOf}`] : []),
    ...(keyName === undefined ? [] : [`key pair ${keyName}${keyOf}`]),
  ];
  return named.length > 0 ? `${named.join(' and ')} exist` : undefined;
};

const checkOfferings = async (spec: RoleSpec, launches: readonly AzLaunch[], deps: Deps, call: Call): Promise<string> => {
  const types = instanceTypesOf(spec);
  const azs = [...new Set(launches.map((launch) => launch.az))];
  const offered = await deps.capacity.offered(types, azs, call);
  for (const az of azs) {
    const here = types.filter((type) => offered.get(az)?.has(type));
    const subnet = launches.find((launch) => launch.az === az)!.subnetId;
    if (here.length === 0) {
      throw new UsageError(
        `${types.length > 1 ? `none of the instance types ${types.join(', ')} is` : `instance type ${types[0]} is not`} offered in ${az}, where ${subnet} launches (RunInstances would fail with Unsupported)`,
        `use an instance type offered in ${az} (aws ec2 describe-instance-type-offerings --location-type availability-zone --filters Name=location,Values=${az}), or remove ${subnet} from subnets`,
      );
    }
    const skipped = types.filter((type) => !here.includes(type));
    if (skipped.length > 0) deps.emit({ type: 'warning', message: `${az}: ${skipped.join(', ')} not offered there; skipped` });
  }
  return `instance type${types.length > 1 ? 's' : ''} ${types.join(', ')} offered in ${azs.join(', ')}`;
};

const checkAddresses = async (waves: readonly (readonly AzLaunch[])[], deps: Deps, call: Call): Promise<string> => {
  const needed = addressesNeeded(waves);
  const free = await deps.capacity.freeAddresses([...needed.keys()], call);
  for (const [subnet, count] of needed) {
    const available = free.get(subnet) ?? 0;
    if (available < count) {
      throw new UsageError(
        `subnet ${subnet} has ${available} free addresses, and ${count} new instances launch there${waves.length > 1 ? ' in one wave' : ''} (RunInstances would fail with InsufficientFreeAddressesInSubnet)`,
        `free addresses in ${subnet}, or deploy in smaller waves (--batch) so the old instances free theirs first`,
      );
    }
  }
  return `free addresses: ${[...needed].map(([subnet, count]) => `${subnet} ${free.get(subnet)} for ${count}`).join(', ')}`;
};

/** The quota from `limits.vcpu` or Service Quotas; undefined, with a warning, when the key may not read it. */
const vcpuQuota = async (spec: RoleSpec, deps: Deps, call: Call): Promise<{ value: number; from: string } | undefined> => {
  if (spec.vcpuQuota !== undefined) return { value: spec.vcpuQuota, from: 'limits.vcpu' };
  try {
    return { value: await deps.capacity.vcpuQuota(call), from: `Service Quotas ${STANDARD_VCPU_QUOTA}` };
  } catch (error) {
    if (!(error instanceof ApiError && error.code === 'AccessDeniedException')) throw error;
    deps.emit({
      type: 'warning',
      message: `the vCPU quota was not checked: the AWS credentials may not read it (servicequotas:GetServiceQuota); grant that, or state the quota as limits.vcpu in the config`,
    });
    return undefined;
  }
};

const checkVcpus = async (spec: RoleSpec, waves: readonly (readonly AzLaunch[])[], deps: Deps, call: Call): Promise<string | undefined> => {
  const types = instanceTypesOf(spec);
  const standard = types.filter(isStandardFamily);
  const others = types.filter((type) => !isStandardFamily(type));
  if (others.length > 0) {
    deps.emit({
      type: 'warning',
      message: `the vCPU quota of ${others.join(', ')} was not checked: only the Standard family's (${STANDARD_VCPU_QUOTA}) is`,
    });
  }
  if (standard.length === 0) return undefined;
  const quota = await vcpuQuota(spec, deps, call);
  if (!quota) return undefined;
  const running = (await deps.capacity.runningTypes(call)).filter(isStandardFamily);
  const vcpus = await deps.capacity.vcpus([...new Set([...running, ...standard])], call);
  const used = sum(running.map((type) => vcpus.get(type) ?? 0));
  // Any type of the list may launch where the one before has no capacity: count the largest.
  const largest = standard.toSorted((a, b) => (vcpus.get(b) ?? 0) - (vcpus.get(a) ?? 0))[0]!;
  const each = vcpus.get(largest) ?? 0;
  const instances = Math.max(...waves.map((launches) => sum(launches.map((launch) => launch.count))));
  const adds = instances * each;
  const of = `${instances} x ${largest}, ${each} vCPUs each${waves.length > 1 ? ', in the largest wave' : ''}`;
  if (used + adds > quota.value) {
    throw new UsageError(
      `the On-Demand Standard vCPU quota is ${quota.value} (${quota.from}): ${used} vCPUs run now and the new fleet adds ${adds} (${of}), ${used + adds - quota.value} too many (RunInstances would fail with VcpuLimitExceeded)`,
      `request an increase of Service Quotas ec2 ${STANDARD_VCPU_QUOTA} to at least ${used + adds}, or deploy in smaller waves (--batch)`,
    );
  }
  return `the On-Demand Standard vCPU quota has room: ${used} running + ${adds} new (${of}) of ${quota.value} (${quota.from})`;
};

/** One line per check for the plan; throws UsageError naming the limit and the fix. `waves`: each wave's launches. */
export const checkHeadroom = async (spec: RoleSpec, waves: readonly (readonly AzLaunch[])[], deps: Deps, call: Call): Promise<string[]> => {
  const launches = waves.flat().filter((launch) => launch.count > 0);
  if (launches.length === 0) return [];
  const lines = [
    await checkReferences(spec, deps, call),
    await checkOfferings(spec, launches, deps, call),
    await checkAddresses(waves, deps, call),
    await checkVcpus(spec, waves, deps, call),
  ];
  return lines.filter((line) => line !== undefined);
};
