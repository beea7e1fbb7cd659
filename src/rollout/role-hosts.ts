// What runs in a role now, read-only: each Mackerel host beside its EC2 instance and its health
// in each target group, plus instances the role owns that no host stands for.
import type { Balancer, Call, Fleet, Host, HostStatus, Monitor, TargetState } from './ports.js';
import type { RoleSpec } from './spec.js';

export interface TargetLook {
  readonly targetGroupArn: string;
  /** `not registered` when the group does not hold the instance. */
  readonly state: TargetState | 'not registered';
  readonly reason?: string;
}

export interface RoleHost {
  readonly instanceId?: string;
  /** The instance's EC2 state, or `gone` when EC2 no longer knows it. */
  readonly instanceState: string;
  readonly az?: string;
  readonly imageId?: string;
  readonly launchedAt?: string;
  /** Absent for an instance the role owns that has no Mackerel host. */
  readonly hostId?: string;
  readonly hostName?: string;
  readonly hostStatus?: HostStatus;
  readonly targets: readonly TargetLook[];
}

/** One Mackerel listing, one DescribeInstances by id and one by the ownership tag, one DescribeTargetHealth per group. */
export const roleHosts = async (
  spec: RoleSpec,
  deps: { fleet: Fleet; balancer: Balancer; monitor: Monitor },
  call: Call,
): Promise<RoleHost[]> => {
  const hosts = await deps.monitor.hosts(spec.service, spec.role, call);
  const ids = hosts.flatMap((host) => (host.instanceId ? [host.instanceId] : []));
  const [described, owned, groups] = await Promise.all([
    deps.fleet.describe(ids, call),
    deps.fleet.findByTag(spec.ownership.tag, spec.ownership.value, call),
    Promise.all(spec.targetGroups.map(async (arn) => ({ arn, targets: await deps.balancer.health(arn, call) }))),
  ]);
  const instances = new Map([...owned, ...described].map((instance) => [instance.id, instance]));
  const targets = (id: string | undefined): TargetLook[] =>
    groups.map(({ arn, targets }) => {
      const target = targets.find((t) => t.id === id);
      return { targetGroupArn: arn, state: target?.state ?? 'not registered', ...(target?.reason && { reason: target.reason }) };
    });
  const row = (id: string | undefined, host?: Host): RoleHost => {
    const instance = id === undefined ? undefined : instances.get(id);
    return {
      ...(id !== undefined && { instanceId: id }),
      instanceState: instance?.state ?? (id === undefined ? 'not an EC2 host' : 'gone'),
      ...(instance && { az: instance.az, imageId: instance.imageId, launchedAt: instance.launchedAt }),
      ...(host && { hostId: host.id, hostName: host.name, hostStatus: host.status }),
      targets: targets(id),
    };
  };
  const listed = new Set(ids);
  return [
    ...hosts.map((host) => row(host.instanceId, host)),
    ...owned.filter((instance) => !listed.has(instance.id)).map((instance) => row(instance.id)),
  ];
};
