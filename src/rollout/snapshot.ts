import { UsageError } from './errors.js';
import { ownershipProblem } from './ownership.js';
import type { Call, Fleet, Host, Instance, Monitor, Subnet } from './ports.js';
import type { RoleSpec } from './spec.js';

/** One old instance of the role, as Mackerel and EC2 agree on it. */
export interface Member {
  readonly hostId: string;
  readonly hostName: string;
  readonly instanceId: string;
  readonly az: string;
  readonly imageId: string;
}

export interface Snapshot {
  readonly members: readonly Member[];
}

/**
 * Lists the role's hosts in Mackerel and checks each against EC2. Any disagreement stops the
 * deploy here, before anything is launched, with every problem listed.
 */
export const takeSnapshot = async (
  spec: RoleSpec,
  subnets: readonly Subnet[],
  deps: { fleet: Fleet; monitor: Monitor },
  call: Call,
): Promise<Snapshot> => {
  const hosts = await deps.monitor.hosts(spec.service, spec.role, call);
  const ids = hosts.flatMap((host) => (host.instanceId ? [host.instanceId] : []));
  const instances = new Map((await deps.fleet.describe(ids, call)).map((instance) => [instance.id, instance]));
  const problems: string[] = [];
  const members: Member[] = [];
  for (const host of hosts) {
    const problem = hostProblem(spec, subnets, host, instances);
    if (problem) {
      problems.push(`host ${host.id} (${host.name}): ${problem}`);
      continue;
    }
    const instance = instances.get(host.instanceId!)!;
    members.push({
      hostId: host.id,
      hostName: host.name,
      instanceId: instance.id,
      az: instance.az,
      imageId: instance.imageId,
    });
  }
  if (problems.length > 0) {
    throw new UsageError(
      `Mackerel and EC2 disagree about ${spec.service}:${spec.role}; nothing was launched:\n  ${problems.join('\n  ')}`,
      'retire stale hosts in Mackerel (mkr retire) or fix the instances, then run again',
    );
  }
  return { members };
};

const hostProblem = (
  spec: RoleSpec,
  subnets: readonly Subnet[],
  host: Host,
  instances: ReadonlyMap<string, Instance>,
): string | undefined => {
  if (!host.instanceId) return 'has no EC2 instance id (not an EC2 host, or its agent sent no cloud metadata)';
  const instance = instances.get(host.instanceId);
  const problem = ownershipProblem(spec, subnets, instance);
  if (problem) return `instance ${host.instanceId} ${problem}`;
  if (instance!.state !== 'running') return `instance ${host.instanceId} is ${instance!.state}, not running`;
  if (!subnets.some((subnet) => subnet.id === instance!.subnetId)) {
    return `instance ${host.instanceId} is in ${instance!.subnetId}, not in the configured subnets`;
  }
  return undefined;
};
