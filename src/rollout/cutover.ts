import { awaitDrained } from './drain.js';
import type { Emit, Phase } from './events.js';
import { type Leftover, attempt } from './leftovers.js';
import { message } from './launch.js';
import { ownershipProblem } from './ownership.js';
import type { Balancer, Call, Clock, Fleet, Instance, Monitor, Subnet } from './ports.js';
import type { Snapshot } from './snapshot.js';
import type { RoleSpec } from './spec.js';

export interface CutoverDeps {
  readonly fleet: Fleet;
  readonly balancer: Balancer;
  readonly monitor: Monitor;
  readonly clock: Clock;
  readonly emit: Emit;
}

type Timed = <T>(phase: Phase, run: () => Promise<T>) => Promise<T>;

/**
 * Retires the old fleet once the new one has passed verification: silence, deregister and drain,
 * then terminate exactly the snapshot's instances that still pass the ownership check, then
 * retire their hosts. Returns what is left for a person to finish.
 */
export const cutOver = async (
  spec: RoleSpec,
  snapshot: Snapshot,
  subnets: readonly Subnet[],
  deps: CutoverDeps,
  call: Call,
  timed: Timed,
): Promise<{ terminated: string[]; leftovers: Leftover[] }> => {
  const leftovers: Leftover[] = [];
  const oldIds = snapshot.members.map((member) => member.instanceId);
  const hostIds = snapshot.members.map((member) => member.hostId);
  const drained = await timed('cutover', async () => {
    await attempt(leftovers, `could not set the old hosts to maintenance`, `mkr update --status maintenance ${hostIds.join(' ')}`,
      () => deps.monitor.setStatus(hostIds, 'maintenance', call));
    if (spec.targetGroups.length === 0 || oldIds.length === 0) return true;
    return drain(spec, oldIds, deps, call, leftovers);
  });
  if (!drained) return { terminated: [], leftovers };
  const terminated = await timed('terminate', () => terminateOwned(spec, snapshot, subnets, deps, call, leftovers));
  await timed('retire', async () => {
    const retired = snapshot.members.filter((member) => terminated.includes(member.instanceId)).map((member) => member.hostId);
    const done = await attempt(leftovers, `could not retire the old Mackerel hosts ${retired.join(', ')}`,
      `mkr retire --force ${retired.join(' ')}`, () => deps.monitor.retire(retired, call));
    if (done && retired.length > 0) deps.emit({ type: 'step.done', phase: 'retire', what: 'retired the old hosts', ids: retired });
  });
  return { terminated, leftovers };
};

const drain = async (spec: RoleSpec, oldIds: string[], deps: CutoverDeps, call: Call, leftovers: Leftover[]) => {
  for (const arn of spec.targetGroups) {
    const done = await attempt(leftovers, `could not deregister the old targets from ${arn}`,
      `aws elbv2 deregister-targets --target-group-arn ${arn} --targets ${oldIds.map((id) => `Id=${id}`).join(' ')}`,
      () => deps.balancer.deregister(arn, oldIds, call));
    if (!done) return false;
  }
  deps.emit({ type: 'step.done', phase: 'cutover', what: 'deregistered the old targets', ids: oldIds });
  try {
    await awaitDrained(spec, oldIds, deps, call, 'cutover');
    return true;
  } catch (error) {
    leftovers.push({
      what: `old instances ${oldIds.join(', ')} are deregistered but still running: ${message(error)}`,
      fix: `once they have drained: aws ec2 terminate-instances --instance-ids ${oldIds.join(' ')}`,
    });
    return false;
  }
};

/** Re-checks ownership right before the kill: an instance that fails it is skipped and reported. */
const terminateOwned = async (
  spec: RoleSpec,
  snapshot: Snapshot,
  subnets: readonly Subnet[],
  deps: CutoverDeps,
  call: Call,
  leftovers: Leftover[],
): Promise<string[]> => {
  const oldIds = snapshot.members.map((member) => member.instanceId);
  let instances: Map<string, Instance>;
  try {
    instances = new Map((await deps.fleet.describe(oldIds, call)).map((instance) => [instance.id, instance]));
  } catch (error) {
    leftovers.push({ what: `could not re-check the old instances: ${message(error)}`, fix: `aws ec2 terminate-instances --instance-ids ${oldIds.join(' ')}` });
    return [];
  }
  const owned = oldIds.filter((id) => {
    const problem = ownershipProblem(spec, subnets, instances.get(id));
    if (problem) leftovers.push({ what: `skipped ${id}: it ${problem}`, fix: `check ${id} and terminate it by hand if it is really old` });
    return !problem;
  });
  const done = await attempt(leftovers, `could not terminate the old instances ${owned.join(', ')}`,
    `aws ec2 terminate-instances --instance-ids ${owned.join(' ')}`, () => deps.fleet.terminate(owned, call));
  if (!done) return [];
  if (owned.length > 0) deps.emit({ type: 'step.done', phase: 'terminate', what: 'terminated the old instances', ids: owned });
  return owned;
};
