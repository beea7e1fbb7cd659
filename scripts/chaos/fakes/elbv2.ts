// ELBv2 in memory: targets registered (initial → healthy after the health checks, or unhealthy),
// deregistered (draining for the group's delay, then gone), unused where no load balancer sends
// them traffic; and the Balancer port over them, as the adapter batches and reports them.
import { UsageError } from '../../../src/rollout/errors.js';
import type { Balancer, TargetHealth } from '../../../src/rollout/ports.js';
import { chunk } from './ec2.js';
import { type Conduit, send, ServiceError } from './transport.js';
import type { FakeTarget, FakeTargetGroup, TargetState, World } from './world.js';

const BATCH = 100;
/** How often a health-flap target falls back to unhealthy before it stays healthy. */
const FLAPS = 2;
const NOT_IN_USE = 'Target.NotInUse';

const eventFor: Record<TargetState, string> = {
  initial: 'target.registered',
  healthy: 'target.healthy',
  unhealthy: 'target.unhealthy',
  draining: 'target.deregistered',
  unused: 'target.unused',
};

export const healthyCount = (group: FakeTargetGroup): number => [...group.targets.values()].filter((t) => t.state === 'healthy').length;

const setState = (
  world: World,
  group: FakeTargetGroup,
  target: FakeTarget,
  state: TargetState,
  reason: string | undefined,
  t: number,
): void => {
  const wasHealthy = target.state === 'healthy';
  target.state = state;
  target.reason = reason;
  target.generation++;
  world.record({ t, type: eventFor[state], targetGroupArn: group.arn, instanceId: target.id });
  if (wasHealthy && state !== 'healthy') group.minHealthy = Math.min(group.minHealthy, healthyCount(group));
};

/** A transition that applies only if the target has not changed, nor been replaced, since it was scheduled. */
const whileUnchanged = (group: FakeTargetGroup, target: FakeTarget, apply: (t: number) => void) => {
  const generation = target.generation;
  return (t: number) => {
    if (group.targets.get(target.id) === target && target.generation === generation) apply(t);
  };
};

const scheduleVerdict = (world: World, group: FakeTargetGroup, target: FakeTarget, at: number): void => {
  const { healthInterval, healthyThreshold, unhealthyThreshold } = world.timing;
  if (target.failing) {
    const fail = (t: number) => setState(world, group, target, 'unhealthy', 'Target.FailedHealthChecks', t);
    world.schedule(at + healthInterval * unhealthyThreshold, whileUnchanged(group, target, fail));
    return;
  }
  const flap = (t: number) => {
    setState(world, group, target, 'unhealthy', 'Target.Timeout', t);
    scheduleVerdict(world, group, target, t);
  };
  const pass = (t: number) => {
    setState(world, group, target, 'healthy', undefined, t);
    if (target.flapsLeft === 0) return;
    target.flapsLeft--;
    world.schedule(t + healthInterval * unhealthyThreshold, whileUnchanged(group, target, flap));
  };
  world.schedule(at + healthInterval * healthyThreshold, whileUnchanged(group, target, pass));
};

const inUse = (world: World, group: FakeTargetGroup, instanceId: string): boolean => {
  const az = world.instances.get(instanceId)?.az;
  return group.loadBalancerArns.some((arn) => az !== undefined && world.loadBalancers.get(arn)?.azs.has(az));
};

/** Registers running instances; a live target stays as it is, a draining one starts over. */
export const registerTargets = (world: World, group: FakeTargetGroup, ids: readonly string[], now: number): void => {
  for (const id of ids) {
    const existing = group.targets.get(id);
    if (existing && existing.state !== 'draining') continue;
    const failing = world.faults.take((f) => f.type === 'health-fail') !== undefined;
    const flapping = !failing && world.faults.take((f) => f.type === 'health-flap') !== undefined;
    const target: FakeTarget = { id, state: 'initial', failing, flapsLeft: flapping ? FLAPS : 0, generation: 0 };
    group.targets.set(id, target);
    if (!inUse(world, group, id)) {
      setState(world, group, target, 'unused', NOT_IN_USE, now);
      continue;
    }
    setState(world, group, target, 'initial', 'Elb.InitialHealthChecking', now);
    scheduleVerdict(world, group, target, now);
  }
};

/** Draining for the group's deregistration delay (longer under slow-drain), then gone. */
export const deregisterTargets = (world: World, group: FakeTargetGroup, ids: readonly string[], now: number): void => {
  for (const id of ids) {
    const target = group.targets.get(id);
    if (!target || target.state === 'draining') continue;
    setState(world, group, target, 'draining', 'Target.DeregistrationInProgress', now);
    const slow = world.faults.take((f) => f.type === 'slow-drain');
    const factor = slow?.type === 'slow-drain' ? slow.factor : 1;
    world.schedule(
      now + Math.round(group.deregistrationDelay * factor),
      whileUnchanged(group, target, (t) => {
        group.targets.delete(id);
        world.record({ t, type: 'target.removed', targetGroupArn: group.arn, instanceId: id });
      }),
    );
  }
};

/** An instance that stops running leaves its targets unused (Target.InvalidState). */
export const instanceStopped = (world: World, instanceId: string, t: number): void => {
  for (const group of world.targetGroups.values()) {
    const target = group.targets.get(instanceId);
    if (target && target.state !== 'draining' && target.reason !== 'Target.InvalidState')
      setState(world, group, target, 'unused', 'Target.InvalidState', t);
  }
};

const groupOf = (world: World, arn: string): FakeTargetGroup => {
  const group = world.targetGroups.get(arn);
  if (!group) throw new ServiceError('TargetGroupNotFound', 'One or more target groups not found');
  return group;
};

const checkInstances = (world: World, ids: readonly string[]): void => {
  const unknown = ids.filter((id) => !world.instances.has(id));
  if (unknown.length > 0)
    throw new ServiceError('InvalidTarget', `The following targets are not valid instances: '${unknown.join("', '")}'`);
};

const checkRegistrable = (world: World, group: FakeTargetGroup, ids: readonly string[]): void => {
  const notRunning = ids.filter((id) => world.instances.get(id)!.state !== 'running');
  if (notRunning.length > 0) {
    throw new ServiceError(
      'InvalidTarget',
      `The following targets are not in a running state and cannot be registered: '${notRunning.join("', '")}'`,
    );
  }
  if (new Set([...group.targets.keys(), ...ids]).size > world.settings.targetsPerGroup) {
    throw new ServiceError('TooManyTargets', "You've reached the limit on the number of targets registered to a target group.");
  }
};

export const createBalancer = (c: Conduit): Balancer => {
  const { world } = c;
  return {
    targetGroups: async (arns, call) => {
      const groups = [];
      for (const arn of arns) {
        const group = await send(c, 'elbv2', 'DescribeTargetGroups', () => world.targetGroups.get(arn), call.signal);
        if (!group) throw new UsageError(`target group ${arn} does not exist`, 'check the target group ARNs and the AWS region');
        const delay = await send(c, 'elbv2', 'DescribeTargetGroupAttributes', () => group.deregistrationDelay, call.signal);
        groups.push({
          arn,
          vpcId: group.vpcId,
          targetType: group.targetType,
          loadBalancerArns: [...group.loadBalancerArns],
          deregistrationDelaySeconds: Math.round(delay / world.timeScale / 1000),
        });
      }
      return groups;
    },
    loadBalancers: async (arns, call) => {
      if (arns.length === 0) return [];
      return send(
        c,
        'elbv2',
        'DescribeLoadBalancers',
        () =>
          arns.map((arn) => {
            const lb = world.loadBalancers.get(arn);
            if (!lb) throw new ServiceError('LoadBalancerNotFound', 'One or more load balancers not found');
            return { arn, name: lb.name, azs: [...lb.azs] };
          }),
        call.signal,
      );
    },
    register: async (arn, ids, call) => {
      for (const ids100 of chunk(ids, BATCH)) {
        await send(
          c,
          'elbv2',
          'RegisterTargets',
          () => {
            const group = groupOf(world, arn);
            checkInstances(world, ids100);
            checkRegistrable(world, group, ids100);
            registerTargets(world, group, ids100, world.clock.now());
          },
          call.signal,
        );
      }
    },
    deregister: async (arn, ids, call) => {
      for (const ids100 of chunk(ids, BATCH)) {
        await send(
          c,
          'elbv2',
          'DeregisterTargets',
          () => {
            const group = groupOf(world, arn);
            checkInstances(world, ids100);
            deregisterTargets(world, group, ids100, world.clock.now());
          },
          call.signal,
        );
      }
    },
    health: (arn, call) =>
      send(
        c,
        'elbv2',
        'DescribeTargetHealth',
        () =>
          [...groupOf(world, arn).targets.values()].map(
            (target): TargetHealth => ({
              id: target.id,
              state: target.state,
              ...(target.reason === undefined ? {} : { reason: target.reason }),
            }),
          ),
        call.signal,
      ),
  };
};
