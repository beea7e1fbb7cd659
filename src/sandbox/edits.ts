import { z } from 'zod';
import { terminateInstances } from './instances.js';
import type { StateReason, World } from './world.js';

// Changes a test makes to the world, as it is, to stage what the tool must notice: a subnet or
// instance in the wrong VPC, an image not yet available, a missing permission, an instance AWS lost.

const instanceId = z.string().startsWith('i-');

const LOST: StateReason = { code: 'Server.InternalError', message: 'Server.InternalError: Internal error' };

export const worldEditSchema = z.discriminatedUnion('op', [
  /** Moves a subnet to another VPC. */
  z.object({ op: z.literal('subnet'), id: z.string().startsWith('subnet-'), vpcId: z.string().startsWith('vpc-') }),
  z.object({
    op: z.literal('target-group'),
    arn: z.string().min(1),
    vpcId: z.string().startsWith('vpc-').optional(),
    targetType: z.enum(['instance', 'ip', 'lambda', 'alb']).optional(),
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
]);

export type WorldEdit = z.infer<typeof worldEditSchema>;

/** What an edit names that must exist, as `[kind, id, known]`. */
const reference = (world: World, edit: WorldEdit): readonly [string, string, boolean] | undefined => {
  switch (edit.op) {
    case 'subnet':
      return ['subnet', edit.id, world.subnets.has(edit.id)];
    case 'target-group':
      return ['target group', edit.arn, world.targetGroups.has(edit.arn)];
    case 'image':
      return ['image', edit.id, world.images.has(edit.id)];
    case 'instance-tags':
    case 'instance-vpc':
    case 'terminate':
      return ['instance', edit.id, world.instances.has(edit.id)];
    default:
      return undefined;
  }
};

/** Why the edits cannot apply (each names what it changes), or undefined when they all can. */
export const checkEdits = (world: World, edits: readonly WorldEdit[]): string | undefined => {
  const unknown = edits.flatMap((edit, index) => {
    const [kind, id, known] = reference(world, edit) ?? ['', '', true];
    return known ? [] : [`edit ${index} (${edit.op}): no ${kind} ${id} in the sandbox`];
  });
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
      return;
    }
    case 'image':
      world.images.get(edit.id)!.state = edit.state;
      return;
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
  }
};

/** Applies edits checked with `checkEdits`, in order, each logged before the changes it causes. */
export const applyEdits = (world: World, edits: readonly WorldEdit[], now: number): void => {
  for (const edit of edits) {
    world.record({ t: now, type: 'world.edited', edit });
    applyEdit(world, edit, now);
  }
};
