import { awaitDrained } from './drain.js';
import type { Emit } from './events.js';
import { message } from './launch.js';
import { type Leftover, attempt } from './leftovers.js';
import { TAG_DEPLOY } from './ownership.js';
import type { Balancer, Call, Clock, Fleet, Monitor } from './ports.js';
import type { RoleSpec } from './spec.js';

/** What the deploy created, as far as this process knows. */
export interface Created {
  readonly deployId: string;
  readonly instanceIds: Set<string>;
  readonly registeredGroups: Set<string>;
}

/**
 * Undoes the new side only: deregisters the new targets, terminates the new instances (also any
 * EC2 launched under the deploy's tag whose answer never reached us) and retires their Mackerel
 * hosts. The old fleet is never touched. Returns what could not be undone.
 */
export const rollBack = async (
  spec: RoleSpec,
  created: Created,
  deps: { fleet: Fleet; balancer: Balancer; monitor: Monitor; clock: Clock; emit: Emit },
  call: Call,
): Promise<Leftover[]> => {
  const leftovers: Leftover[] = [];
  const ids = new Set(created.instanceIds);
  await attempt(leftovers, `could not list instances tagged ${TAG_DEPLOY}=${created.deployId}`,
    `aws ec2 describe-instances --filters Name=tag:${TAG_DEPLOY},Values=${created.deployId}`, async () => {
      for (const instance of await deps.fleet.findByTag(TAG_DEPLOY, created.deployId, call)) ids.add(instance.id);
    });
  const newIds = [...ids];
  if (newIds.length === 0) return leftovers;
  for (const arn of created.registeredGroups) {
    await attempt(leftovers, `new targets ${newIds.join(', ')} may still be registered in ${arn}`,
      `aws elbv2 deregister-targets --target-group-arn ${arn} --targets ${newIds.map((id) => `Id=${id}`).join(' ')}`,
      () => deps.balancer.deregister(arn, newIds, call));
  }
  if (created.registeredGroups.size > 0) {
    // Drained first so requests in flight on a new instance finish; a drain that never ends
    // must not keep new instances running, so termination follows either way.
    await awaitDrained(spec, newIds, deps, call, 'rollback').catch((error: unknown) =>
      deps.emit({ type: 'warning', message: `terminating the new instances before they drained: ${message(error)}` }),
    );
  }
  const terminated = await attempt(leftovers, `new instances ${newIds.join(', ')} may still be running`,
    `aws ec2 terminate-instances --instance-ids ${newIds.join(' ')}`, () => deps.fleet.terminate(newIds, call));
  if (terminated) deps.emit({ type: 'step.done', phase: 'rollback', what: 'terminated the new instances', ids: newIds });
  await attempt(leftovers, `the new instances' Mackerel hosts may still be registered`,
    `mkr hosts --service ${spec.service} --role ${spec.role}, then mkr retire --force <host ids of ${newIds.join(', ')}>`,
    async () => {
      const hosts = await deps.monitor.hosts(spec.service, spec.role, call);
      const newHosts = hosts.filter((host) => host.instanceId && ids.has(host.instanceId)).map((host) => host.id);
      await deps.monitor.retire(newHosts, call);
      if (newHosts.length > 0) deps.emit({ type: 'step.done', phase: 'rollback', what: 'retired the new Mackerel hosts', ids: newHosts });
    });
  return leftovers;
};
