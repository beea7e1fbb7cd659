import { z } from 'zod';
import { setFreeAddresses } from './capacity.js';
import { bakeIdFile } from './agent-config.js';
import { terminateInstances } from './instances.js';
import { resetLaunchBucket } from './launch-bucket.js';
import { reconsiderTargets } from './targets.js';
import { closeAlertsOf, openAlert } from './alerts.js';
import { customIdentifierOf } from './host-payload.js';
import { ALERT_STATUSES, HOST_STATUSES, type SimHost, type StateReason, type World } from './world.js';

// Changes a test makes to the world, as it is, to stage what the tool must notice: a subnet or
// instance in the wrong VPC, an image not yet available, a missing permission, an instance AWS lost.

const instanceId = z.string().startsWith('i-');
const hostStatus = z.enum(HOST_STATUSES);

const hostOrInstance = { hostId: z.string().min(1).optional(), instanceId: instanceId.optional() };
const exactlyOne = [
  (edit: { hostId?: string; instanceId?: string }) => (edit.hostId === undefined) !== (edit.instanceId === undefined),
  'give exactly one of hostId and instanceId',
] as const;

const LOST: StateReason = { code: 'Server.InternalError', message: 'Server.InternalError: Internal error' };

export const worldEditSchema = z.discriminatedUnion('op', [
  /** Moves a subnet to another VPC. */
  z.object({ op: z.literal('subnet'), id: z.string().startsWith('subnet-'), vpcId: z.string().startsWith('vpc-') }),
  z.object({
    op: z.literal('target-group'),
    arn: z.string().min(1),
    vpcId: z.string().startsWith('vpc-').optional(),
    targetType: z.enum(['instance', 'ip', 'lambda', 'alb']).optional(),
    /** null: no load balancer forwards to it any more. */
    loadBalancer: z.null().optional(),
    deregistrationDelaySeconds: z.number().int().min(0).max(3600).optional(),
  }),
  /** Disables or enables an AZ on every load balancer, or on the one named. */
  z.object({ op: z.literal('load-balancer-az'), az: z.string().min(1), enabled: z.boolean(), arn: z.string().min(1).optional() }),
  /** The ELBv2 quota of targets per target group. */
  z.object({ op: z.literal('targets-per-group'), limit: z.number().int().positive() }),
  /** EC2's RunInstances resource bucket (defaults 1000 and 2/s); it starts full at the new limits. */
  z.object({ op: z.literal('launch-bucket'), burst: z.number().int().positive(), refillPerSecond: z.number().positive() }),
  /** The account's Running On-Demand Standard instances vCPU quota (what Service Quotas answers for L-1216C47A). */
  z.object({ op: z.literal('vcpu-quota'), limit: z.number().int().nonnegative() }),
  /** Others hold the subnet's addresses but `count`: DescribeSubnets shows it, a larger launch fails. */
  z.object({ op: z.literal('subnet-free-addresses'), id: z.string().startsWith('subnet-'), count: z.number().int().nonnegative() }),
  /** The AZ offers these instance types only. */
  z.object({ op: z.literal('instance-type-offerings'), az: z.string().min(1), types: z.array(z.string().min(1)) }),
  /** The Mackerel organization's default status of a new host. */
  z.object({ op: z.literal('default-host-status'), status: hostStatus }),
  /** An organization policy (SCP): RunInstances without MetadataOptions.HttpTokens=required gets 403 UnauthorizedOperation, DryRun or not. */
  z.object({ op: z.literal('require-imdsv2'), enabled: z.boolean() }),
  /** Changes the agent config baked into an image; `idFile: true` bakes in the id of a host registered by the instance it was built on. */
  z.object({
    op: z.literal('image-agent'),
    id: z.string().startsWith('ami-'),
    roles: z.array(z.string()).optional(),
    onStart: hostStatus.nullable().optional(),
    idFile: z.boolean().optional(),
    autoRetirement: z.boolean().optional(),
  }),
  /** A new `available` image, built like `like` (its owner and baked agent config), created after every other image unless `createdAt` says when. */
  z.object({
    op: z.literal('add-image'),
    name: z.string().min(3).max(128),
    like: z.string().startsWith('ami-'),
    createdAt: z.iso.datetime().optional(),
  }),
  z.object({
    op: z.literal('image'),
    id: z.string().startsWith('ami-'),
    state: z.enum(['pending', 'available', 'invalid', 'deregistered', 'transient', 'failed', 'error', 'disabled']),
  }),
  /** The tool's AWS credentials may no longer call this EC2 or ELBv2 Action. */
  z.object({ op: z.literal('deny'), action: z.string().regex(/^[A-Z][A-Za-z0-9]+$/, 'must be an API Action name such as RunInstances') }),
  /** This Mackerel API key is accepted for reads; every write gets 403. */
  z.object({ op: z.literal('read-only-key'), key: z.string().min(1) }),
  /** Replaces the instance's tags. */
  z.object({ op: z.literal('instance-tags'), id: instanceId, tags: z.record(z.string(), z.string()) }),
  z.object({ op: z.literal('instance-vpc'), id: instanceId, vpcId: z.string().startsWith('vpc-') }),
  /** AWS ends the instance (shutting-down, then terminated); its targets become unused. */
  z.object({ op: z.literal('terminate'), id: instanceId }),
  /** The agent of this instance or host stops (false) or resumes (true) posting metrics. */
  z.object({ op: z.literal('agent-metrics'), ...hostOrInstance, posting: z.boolean() }).refine(...exactlyOne),
  /** A monitor opens an alert on the host (or the live host of the instance). */
  z
    .object({
      op: z.literal('open-alert'),
      ...hostOrInstance,
      status: z.enum(ALERT_STATUSES),
      type: z.enum(['connectivity', 'host', 'check', 'anomalyDetection']).default('host'),
    })
    .refine(...exactlyOne),
  /** Closes every open alert of the host (or the live host of the instance). */
  z.object({ op: z.literal('close-alert'), ...hostOrInstance }).refine(...exactlyOne),
]);

export type WorldEdit = z.infer<typeof worldEditSchema>;

/** What an edit names that must exist, as `[kind, id, known]`. */
const references = (world: World, edit: WorldEdit): readonly (readonly [string, string, boolean])[] => {
  switch (edit.op) {
    case 'subnet':
    case 'subnet-free-addresses':
      return [['subnet', edit.id, world.subnets.has(edit.id)]];
    case 'instance-type-offerings':
      return [['subnet in AZ', edit.az, [...world.subnets.values()].some((subnet) => subnet.az === edit.az)]];
    case 'target-group':
      return [['target group', edit.arn, world.targetGroups.has(edit.arn)]];
    case 'load-balancer-az':
      return [
        ['subnet in AZ', edit.az, [...world.subnets.values()].some((subnet) => subnet.az === edit.az)],
        ...(edit.arn === undefined ? [] : [['load balancer', edit.arn, world.loadBalancers.has(edit.arn)] as const]),
      ];
    case 'image':
    case 'image-agent':
      return [['image', edit.id, world.images.has(edit.id)]];
    case 'add-image':
      return [['image', edit.like, world.images.has(edit.like)]];
    case 'instance-tags':
    case 'instance-vpc':
    case 'terminate':
      return [['instance', edit.id, world.instances.has(edit.id)]];
    case 'agent-metrics':
    case 'open-alert':
    case 'close-alert':
      return edit.hostId === undefined
        ? [['live host of instance', edit.instanceId!, hostOfEdit(world, edit) !== undefined]]
        : [['live host', edit.hostId, hostOfEdit(world, edit) !== undefined]];
    default:
      return [];
  }
};

/** The live host an edit names, by its id or its instance's. */
const hostOfEdit = (world: World, edit: { readonly hostId?: string; readonly instanceId?: string }): SimHost | undefined => {
  if (edit.hostId !== undefined) {
    const host = world.hosts.get(edit.hostId);
    return host && !host.isRetired ? host : undefined;
  }
  const hosts = world.hostsByCustomIdentifier.get(customIdentifierOf(edit.instanceId!)) ?? [];
  return [...hosts].find((host) => !host.isRetired);
};

/** Why the edits cannot apply (each names what it changes), or undefined when they all can. */
export const checkEdits = (world: World, edits: readonly WorldEdit[]): string | undefined => {
  const unknown = edits.flatMap((edit, index) =>
    references(world, edit).flatMap(([kind, id, known]) => (known ? [] : [`edit ${index} (${edit.op}): no ${kind} ${id} in the sandbox`])),
  );
  return unknown.length > 0 ? unknown.join('; ') : undefined;
};

const applyEdit = (world: World, edit: WorldEdit, now: number): void => {
  switch (edit.op) {
    case 'subnet':
      world.subnets.get(edit.id)!.vpcId = edit.vpcId;
      return;
    case 'target-group': {
      const group = world.targetGroups.get(edit.arn)!;
      if (edit.vpcId !== undefined) group.vpcId = edit.vpcId;
      if (edit.targetType !== undefined) group.targetType = edit.targetType;
      if (edit.deregistrationDelaySeconds !== undefined) group.deregistrationDelay = edit.deregistrationDelaySeconds * 1000;
      if (edit.loadBalancer === null) {
        group.loadBalancerArns = [];
        reconsiderTargets(world, now);
      }
      return;
    }
    case 'load-balancer-az': {
      const lbs = edit.arn === undefined ? [...world.loadBalancers.values()] : [world.loadBalancers.get(edit.arn)!];
      for (const lb of lbs) {
        if (edit.enabled) lb.azs.add(edit.az);
        else lb.azs.delete(edit.az);
      }
      reconsiderTargets(world, now);
      return;
    }
    case 'targets-per-group':
      world.settings.targetsPerGroup = edit.limit;
      return;
    case 'launch-bucket':
      world.settings.launchBurst = edit.burst;
      world.settings.launchRefillPerSecond = edit.refillPerSecond;
      resetLaunchBucket(world, now);
      return;
    case 'vcpu-quota':
      world.settings.vcpuQuota = edit.limit;
      return;
    case 'subnet-free-addresses':
      setFreeAddresses(world, world.subnets.get(edit.id)!, edit.count);
      return;
    case 'instance-type-offerings':
      world.offerings.set(edit.az, new Set(edit.types));
      return;
    case 'default-host-status':
      world.settings.defaultHostStatus = edit.status;
      return;
    case 'require-imdsv2':
      world.settings.requireImdsv2 = edit.enabled;
      return;
    case 'image-agent': {
      const image = world.images.get(edit.id)!;
      const { agent } = image;
      if (edit.roles !== undefined) agent.roles = edit.roles;
      if (edit.onStart === null) delete agent.onStart;
      else if (edit.onStart !== undefined) agent.onStart = edit.onStart;
      if (edit.autoRetirement !== undefined) agent.autoRetirement = edit.autoRetirement;
      if (edit.idFile === false) delete agent.idFileHostId;
      if (edit.idFile === true) bakeIdFile(world, image, now);
      return;
    }
    case 'image':
      world.images.get(edit.id)!.state = edit.state;
      return;
    case 'add-image': {
      const { ownerId, ownerAlias, agent } = world.images.get(edit.like)!;
      const newest = Math.max(...[...world.images.values()].map((image) => Date.parse(image.createdAt)));
      const createdAt = edit.createdAt ?? new Date(Math.max(world.clock.epoch(now), newest + 1000)).toISOString();
      const id = world.nextId('ami');
      world.images.set(id, {
        id,
        name: edit.name,
        ownerId,
        ...(ownerAlias && { ownerAlias }),
        createdAt,
        launchPermissions: new Set(),
        state: 'available',
        agent: { ...agent, roles: [...agent.roles] },
      });
      return;
    }
    case 'deny':
      world.access.deniedActions.add(edit.action);
      return;
    case 'read-only-key':
      world.access.readOnlyKeys.add(edit.key);
      return;
    case 'instance-tags': {
      const { tags } = world.instances.get(edit.id)!;
      for (const key of Object.keys(tags)) delete tags[key];
      Object.assign(tags, edit.tags);
      return;
    }
    case 'instance-vpc':
      world.instances.get(edit.id)!.vpcId = edit.vpcId;
      return;
    case 'terminate':
      terminateInstances(world, [world.instances.get(edit.id)!], now, LOST);
      return;
    case 'agent-metrics': {
      const host = hostOfEdit(world, edit)!;
      if (!edit.posting) world.mutedMetrics.add(host.id);
      // Resumes an agent muted by its host or, with the fault metrics-silent, by its instance.
      else for (const id of [host.id, edit.instanceId ?? host.customIdentifier?.split('.')[0]]) world.mutedMetrics.delete(id ?? '');
      return;
    }
    case 'open-alert':
      openAlert(world, hostOfEdit(world, edit)!.id, edit.status, edit.type, now);
      return;
    case 'close-alert':
      closeAlertsOf(world, hostOfEdit(world, edit)!.id, 'closed by a sandbox edit', now);
      return;
  }
};

/** Applies edits checked with `checkEdits`, in order, each logged before the changes it causes. */
export const applyEdits = (world: World, edits: readonly WorldEdit[], now: number): void => {
  for (const edit of edits) {
    world.record({ t: now, type: 'world.edited', edit });
    applyEdit(world, edit, now);
  }
};
