import { ApiError, UsageError } from './errors.js';
import { launchRequest } from './launch.js';
import { templateCheck } from './launch-template.js';
import type { Plan } from './plan.js';
import type {
  Balancer,
  Call,
  Fleet,
  Image,
  LaunchRequest,
  LaunchTemplateVersion,
  LoadBalancer,
  Monitor,
  Subnet,
  TargetGroup,
} from './ports.js';
import type { Snapshot } from './snapshot.js';
import type { RoleSpec } from './spec.js';
import { type LaunchFacts, TAG_LIMITS, instanceTags, tagLimitProblem } from './tags.js';
import { groupName } from './verdicts.js';

export interface Resolved {
  readonly image: Image;
  readonly subnets: readonly Subnet[];
  readonly targetGroups: readonly TargetGroup[];
  /** How long old or new targets may take to drain. */
  readonly drainMs: number;
  /** The checks that passed, by name, for the plan. */
  readonly checks: readonly string[];
  /** The role's launch template, its version resolved to a number: the deploy launches exactly it (pinTemplate). */
  readonly template?: LaunchTemplateVersion;
}

/** Added to the longest deregistration delay for the default drain timeout. */
export const DRAIN_MARGIN_MS = 60_000;

/** Everything that can be checked without changing anything. Throws UsageError on the first problem found. */
export const preflight = async (spec: RoleSpec, deps: { fleet: Fleet; balancer: Balancer }, call: Call): Promise<Resolved> => {
  await deps.fleet.checkAccess(call);
  const [image, subnets, targetGroups, template] = await Promise.all([
    deps.fleet.resolveImage(spec.ami, call),
    deps.fleet.subnets(spec.subnets, call),
    spec.targetGroups.length > 0 ? deps.balancer.targetGroups(spec.targetGroups, call) : Promise.resolve([]),
    spec.launchTemplate ? deps.fleet.launchTemplate(spec.launchTemplate, call) : undefined,
  ]);
  checkSubnets(spec, subnets);
  checkTargetGroups(subnets[0]!.vpcId, targetGroups);
  const balancerArns = [...new Set(targetGroups.flatMap((group) => group.loadBalancerArns))];
  checkBalancers(subnets, targetGroups, await deps.balancer.loadBalancers(balancerArns, call));
  const ordered = spec.subnets.map((id) => subnets.find((subnet) => subnet.id === id)!);
  const drainMs = drainTimeout(spec, targetGroups);
  const groups = targetGroups.map((group) => groupName(group.arn)).join(', ');
  const checks = [
    'AWS credentials and region (DryRun DescribeInstances)',
    'id' in spec.ami ? `image ${image.id} is available` : `image ${image.id} is the newest available match of "${spec.ami.name}"`,
    `subnets ${spec.subnets.join(', ')} exist, one per Availability Zone, in ${subnets[0]!.vpcId}`,
    ...(spec.launchTemplate && template ? [templateCheck(spec.launchTemplate, template)] : []),
    ...(targetGroups.length > 0
      ? [
          `target groups ${groups} exist, take instance targets, in ${subnets[0]!.vpcId}`,
          `a load balancer forwards to ${groups}, enabled in every subnet's Availability Zone`,
          `the drain timeout (${drainMs / 1000}s) covers the longest deregistration delay`,
        ]
      : []),
  ];
  return { image, subnets: ordered, targetGroups, drainMs, checks, ...(template && { template }) };
};

/**
 * The drain timeout: the configured one, which must cover every group's deregistration delay,
 * or else the longest delay plus a margin.
 */
export const drainTimeout = (spec: RoleSpec, groups: readonly TargetGroup[]): number => {
  const slowest = groups.toSorted((a, b) => b.deregistrationDelaySeconds - a.deregistrationDelaySeconds)[0];
  const delayMs = (slowest?.deregistrationDelaySeconds ?? 0) * 1000;
  const configured = spec.timeouts.drain;
  if (configured === undefined) return delayMs + DRAIN_MARGIN_MS;
  if (slowest && configured < delayMs) {
    throw new UsageError(
      `timeouts.drain (${configured / 1000}s) is shorter than the deregistration delay of target group ${groupName(slowest.arn)} (${slowest.deregistrationDelaySeconds}s): the old targets could never finish draining`,
      `raise timeouts.drain to at least ${slowest.deregistrationDelaySeconds}s, or leave it out to wait the delay plus ${DRAIN_MARGIN_MS / 1000}s`,
    );
  }
  return configured;
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
  options: { write: boolean } & Omit<LaunchFacts, 'deployId' | 'launches' | 'image'>,
): Promise<string[]> => {
  const tags = instanceTags(spec, { ...options, deployId: plan.deployId, launches: plan.launches, image: plan.image });
  const tagProblem = tagLimitProblem(tags);
  if (tagProblem) throw new UsageError(tagProblem, "remove tags from the role's `tags` in the config");
  const checks = [`the instance tags fit EC2's limits (${Object.keys(tags).length} of ${TAG_LIMITS.perResource})`];
  const [first] = plan.launches;
  if (first) {
    const request = launchRequest(spec, plan, first, tags);
    await deps.fleet.mayLaunch(request, call).catch((error: unknown) => {
      throw withImdsHint(error, request);
    });
    checks.push(`DryRun RunInstances in ${first.az}`);
  }
  const oldIds = snapshot.members.map((member) => member.instanceId);
  if (oldIds.length > 0) {
    await deps.fleet.mayTerminate(oldIds, call);
    checks.push(`DryRun TerminateInstances of the ${oldIds.length} old instances`);
  }
  const [probe] = snapshot.members;
  if (!options.write || !probe) return checks;
  try {
    await deps.monitor.setStatus([probe.hostId], probe.hostStatus, call);
    return [...checks, `the Mackerel API key may write (host ${probe.hostId} kept ${probe.hostStatus})`];
  } catch (error) {
    if (!(error instanceof ApiError && error.code === '403')) throw error;
    throw new UsageError(
      `the Mackerel API key may not write: keeping host ${probe.hostId} ${probe.hostStatus} was refused (${error.operation}: 403: ${error.reason})`,
      "use an API key with Write permission, from inside the organization's allowed IP range; the deploy would otherwise fail at cutover",
    );
  }
};

/** Many organizations refuse any launch that allows IMDSv1: say so where the launch does. */
const withImdsHint = (error: unknown, request: LaunchRequest): unknown =>
  error instanceof ApiError && error.code === 'UnauthorizedOperation' && request.metadataOptions?.httpTokens !== 'required'
    ? new ApiError(
        error.api,
        error.operation,
        error.code,
        error.reason,
        `${error.hint ?? 'check the IAM policy'}; if an organization policy requires IMDSv2, launch with metadataOptions httpTokens: required (the default without a launch template${request.launchTemplate ? ", or in the template's MetadataOptions" : ''})`,
      )
    : error;

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

export interface FullestGroup {
  readonly held: number;
  readonly quota: number;
  readonly group: string;
}

/**
 * The group with the most targets now, and the quota: old and new targets together must fit it
 * (1,000 targets by default), or RegisterTargets fails halfway through; planWaves sees to that.
 */
export const fullestGroup = async (spec: RoleSpec, balancer: Balancer, call: Call): Promise<FullestGroup | undefined> => {
  let fullest: { held: number; quota: number; group: string } | undefined;
  for (const arn of spec.targetGroups) {
    const held = (await balancer.health(arn, call)).length;
    if (!fullest || held > fullest.held) fullest = { held, quota: spec.targetsPerGroup, group: groupName(arn) };
  }
  return fullest;
};

/** The plan's line for the target quota: room for old and new targets at once, or the waves that fit. */
export const quotaCheck = (targets: FullestGroup, newCount: number, waves: number): string =>
  waves > 1
    ? `target group ${targets.group} holds ${targets.held} targets of ${targets.quota}: ${waves} waves fit it`
    : `target group ${targets.group} has room: ${targets.held} + ${newCount} targets of ${targets.quota}`;

/** Targets are used only where a load balancer forwards to their group and is enabled in their AZ. */
const checkBalancers = (subnets: readonly Subnet[], groups: readonly TargetGroup[], balancers: readonly LoadBalancer[]): void => {
  for (const group of groups) {
    if (group.loadBalancerArns.length === 0) {
      throw new UsageError(
        `target group ${groupName(group.arn)} is attached to no load balancer: its targets would stay unused (Target.NotInUse) and never become healthy`,
        'add the target group to a listener rule of the load balancer, or remove it from targetGroups',
      );
    }
    const enabled = new Set(balancers.filter((lb) => group.loadBalancerArns.includes(lb.arn)).flatMap((lb) => lb.azs));
    const outside = subnets.find((subnet) => !enabled.has(subnet.az));
    if (outside) {
      const names = balancers
        .filter((lb) => group.loadBalancerArns.includes(lb.arn))
        .map((lb) => lb.name)
        .join(', ');
      throw new UsageError(
        `the load balancer of target group ${groupName(group.arn)} (${names}) is not enabled in ${outside.az}, where ${outside.id} launches: targets there would stay unused (Target.NotInUse)`,
        `enable ${outside.az} on the load balancer, or remove ${outside.id} from subnets`,
      );
    }
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
