import { ApiError, UsageError } from './errors.js';
import { launchRequest, launchTags } from './launch.js';
import type { Plan } from './plan.js';
import type { Call, Fleet, Balancer, Image, Monitor, Subnet, TargetGroup } from './ports.js';
import type { Snapshot } from './snapshot.js';
import type { RoleSpec } from './spec.js';

export interface Resolved {
  readonly image: Image;
  readonly subnets: readonly Subnet[];
  readonly targetGroups: readonly TargetGroup[];
}

/** Everything that can be checked without changing anything. Throws UsageError on the first problem found. */
export const preflight = async (spec: RoleSpec, deps: { fleet: Fleet; balancer: Balancer }, call: Call): Promise<Resolved> => {
  await deps.fleet.checkAccess(call);
  const [image, subnets, targetGroups] = await Promise.all([
    deps.fleet.resolveImage(spec.ami, call),
    deps.fleet.subnets(spec.subnets, call),
    spec.targetGroups.length > 0 ? deps.balancer.targetGroups(spec.targetGroups, call) : Promise.resolve([]),
  ]);
  checkSubnets(spec, subnets);
  checkTargetGroups(subnets[0]!.vpcId, targetGroups);
  return { image, subnets: spec.subnets.map((id) => subnets.find((subnet) => subnet.id === id)!), targetGroups };
};

/**
 * Proves, changing nothing, that the deploy may do what it is about to: EC2 DryRuns of the first
 * AZ's launch and of terminating the snapshot, and (with `write`) a Mackerel write that sets one
 * old host's status to the status it already has. Throws on the first refusal.
 */
export const checkPermissions = async (
  spec: RoleSpec,
  plan: Plan,
  snapshot: Pick<Snapshot, 'members'>,
  deps: { fleet: Fleet; monitor: Monitor },
  call: Call,
  options: { write: boolean },
): Promise<void> => {
  const [first] = plan.launches;
  if (first) await deps.fleet.mayLaunch(launchRequest(spec, plan, first, launchTags(spec, plan.deployId)), call);
  const oldIds = snapshot.members.map((member) => member.instanceId);
  if (oldIds.length > 0) await deps.fleet.mayTerminate(oldIds, call);
  const [probe] = snapshot.members;
  if (!options.write || !probe) return;
  try {
    await deps.monitor.setStatus([probe.hostId], probe.hostStatus, call);
  } catch (error) {
    if (!(error instanceof ApiError && error.code === '403')) throw error;
    throw new UsageError(
      `the Mackerel API key may not write: keeping host ${probe.hostId} ${probe.hostStatus} was refused (${error.operation}: 403: ${error.reason})`,
      "use an API key with Write permission, from inside the organization's allowed IP range; the deploy would otherwise fail at cutover",
    );
  }
};

const checkSubnets = (spec: RoleSpec, subnets: readonly Subnet[]): void => {
  const missing = spec.subnets.filter((id) => !subnets.some((subnet) => subnet.id === id));
  if (missing.length > 0) throw new UsageError(`subnets not found in EC2: ${missing.join(', ')}`);
  const azs = subnets.map((subnet) => subnet.az);
  const shared = subnets.filter((subnet) => azs.indexOf(subnet.az) !== azs.lastIndexOf(subnet.az));
  if (shared.length > 0) {
    throw new UsageError(
      `subnets ${shared.map((subnet) => `${subnet.id} (${subnet.az})`).join(', ')} share an Availability Zone`,
      'configure one subnet per Availability Zone',
    );
  }
  const vpcs = new Set(subnets.map((subnet) => subnet.vpcId));
  if (vpcs.size > 1) {
    throw new UsageError(`the subnets span several VPCs (${[...vpcs].join(', ')})`, 'configure subnets of one VPC');
  }
};

const checkTargetGroups = (vpcId: string, groups: readonly TargetGroup[]): void => {
  for (const group of groups) {
    if (group.targetType !== 'instance') {
      throw new UsageError(`target group ${group.arn} has target type ${group.targetType}; only "instance" is supported`);
    }
    if (group.vpcId !== vpcId) {
      throw new UsageError(`target group ${group.arn} is in ${group.vpcId}, but the subnets are in ${vpcId}`);
    }
  }
};
