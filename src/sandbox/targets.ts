import type { SimTarget, SimTargetGroup, TargetState, World } from './world.js';

const eventFor = {
  initial: 'target.registered',
  healthy: 'target.healthy',
  unhealthy: 'target.unhealthy',
  draining: 'target.deregistered',
  unused: 'target.unused',
} as const;

export const healthyCount = (group: SimTargetGroup): number => {
  let n = 0;
  for (const target of group.targets.values()) if (target.state === 'healthy') n++;
  return n;
};

const observeCapacity = (group: SimTargetGroup): void => {
  group.minHealthy = Math.min(group.minHealthy, healthyCount(group));
};

const setState = (world: World, group: SimTargetGroup, target: SimTarget, state: TargetState, reason: string | undefined, t: number) => {
  const wasHealthy = target.state === 'healthy';
  target.state = state;
  target.reason = reason;
  target.generation++;
  world.record({ t, type: eventFor[state], targetGroupArn: group.arn, instanceId: target.id });
  // Only a target leaving healthy can lower the count: counting on every change is quadratic in the group.
  if (wasHealthy && state !== 'healthy') observeCapacity(group);
};

/** A transition that still applies only if the target has not changed (or been replaced) since. */
const whileUnchanged = (group: SimTargetGroup, target: SimTarget, apply: (t: number) => void) => {
  const generation = target.generation;
  return (t: number) => {
    if (group.targets.get(target.id) === target && target.generation === generation) apply(t);
  };
};

/** How often a health-flap target falls back to unhealthy before it stays healthy. */
const FLAPS = 2;

// The verdict comes after `threshold` consecutive checks from `at`. A flapping target, once
// healthy, fails `unhealthyThreshold` checks later and is judged again, until its flaps run out.
const scheduleVerdict = (world: World, group: SimTargetGroup, target: SimTarget, at: number): void => {
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

/** A load balancer sends it traffic, and health checks: one of the group's enables the instance's AZ. */
const inUse = (world: World, group: SimTargetGroup, instanceId: string): boolean => {
  const az = world.instances.get(instanceId)?.az;
  return group.loadBalancerArns.some((arn) => az !== undefined && world.loadBalancers.get(arn)?.azs.has(az));
};

const NOT_IN_USE = 'Target.NotInUse';

// A target (of a running instance) starts over: initial and checked, or unused when no load balancer uses it.
const admit = (world: World, group: SimTargetGroup, target: SimTarget, now: number): void => {
  if (!inUse(world, group, target.id)) {
    setState(world, group, target, 'unused', NOT_IN_USE, now);
    return;
  }
  setState(world, group, target, 'initial', 'Elb.InitialHealthChecking', now);
  scheduleVerdict(world, group, target, now);
};

/** Registers running instances (the caller checks); re-registering a live target is a no-op. */
export const registerTargets = (world: World, group: SimTargetGroup, ids: readonly string[], now: number): void => {
  for (const id of ids) {
    const existing = group.targets.get(id);
    if (existing && existing.state !== 'draining') continue;
    const failing = world.faults.take((f) => f.type === 'health-fail') !== undefined;
    const flapping = !failing && world.faults.take((f) => f.type === 'health-flap') !== undefined;
    const target: SimTarget = { id, port: group.port, state: 'initial', failing, flapsLeft: flapping ? FLAPS : 0, generation: 0 };
    group.targets.set(id, target);
    admit(world, group, target, now);
  }
};

/**
 * After a load balancer or its AZs changed: targets no load balancer uses any more stop being
 * checked and turn unused (Target.NotInUse); those used again start over from initial.
 */
export const reconsiderTargets = (world: World, now: number): void => {
  for (const group of world.targetGroups.values()) {
    for (const target of group.targets.values()) {
      const used = inUse(world, group, target.id);
      if (target.reason === NOT_IN_USE && used) admit(world, group, target, now);
      else if (['initial', 'healthy', 'unhealthy'].includes(target.state) && !used)
        setState(world, group, target, 'unused', NOT_IN_USE, now);
    }
  }
};

export const deregisterTargets = (world: World, group: SimTargetGroup, ids: readonly string[], now: number): void => {
  for (const id of ids) {
    const target = group.targets.get(id);
    if (!target || target.state === 'draining') continue;
    setState(world, group, target, 'draining', 'Target.DeregistrationInProgress', now);
    // slow-drain has no count: `take` leaves it active.
    const slow = world.faults.take((f) => f.type === 'slow-drain');
    const factor = slow?.type === 'slow-drain' ? slow.factor : 1;
    world.schedule(
      now + Math.round(group.deregistrationDelay * factor),
      whileUnchanged(group, target, (t) => {
        group.targets.delete(id);
        // A draining target was not healthy: its removal leaves the count as it was.
        world.record({ t, type: 'target.removed', targetGroupArn: group.arn, instanceId: id });
      }),
    );
  }
};

export const instanceStoppedRunning = (world: World, instanceId: string, at: number): void => {
  for (const group of world.targetGroups.values()) {
    const target = group.targets.get(instanceId);
    if (target && target.state !== 'draining' && target.reason !== 'Target.InvalidState') {
      setState(world, group, target, 'unused', 'Target.InvalidState', at);
    }
  }
};
