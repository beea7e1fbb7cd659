import { UsageError } from './errors.js';
import type { Emit } from './events.js';
import { describeRest } from './describe-rest.js';
import { ownershipProblem } from './ownership.js';
import type { Call, Fleet, Host, HostStatus, Image, Instance, Monitor, Subnet } from './ports.js';
import type { RoleSpec } from './spec.js';
import { HELD, TAG_DEPLOY, TAG_LIMITS, TAG_OWNER, TAG_REPLACED_BY, TAG_STATE, ownerValue } from './tags.js';

/** One old instance of the role, as Mackerel and EC2 agree on it. */
export interface Member {
  readonly hostId: string;
  readonly hostName: string;
  /** The host's Mackerel status at snapshot time, restored if a rollback undoes the cutover. */
  readonly hostStatus: HostStatus;
  readonly instanceId: string;
  readonly az: string;
  readonly imageId: string;
  /** ISO-8601 (absent in records written before it was kept). */
  readonly launchedAt?: string;
}

/** A Mackerel host of the role whose instance no longer exists: its agent never retired it. */
export interface StaleHost {
  readonly hostId: string;
  readonly hostName: string;
  readonly instanceId: string;
}

export interface Snapshot {
  readonly members: readonly Member[];
  /** Present only with `allowStale`: retired with the old hosts, never terminated. */
  readonly stale: readonly StaleHost[];
  /** The old fleet's images as EC2 describes them now; a deregistered one is missing. */
  readonly images: readonly Image[];
  /** The checks that passed, by name, for the plan. */
  readonly checks: readonly string[];
  /** Deploys of the role held before cutover: their new instances serve nothing yet and are never old ones. */
  readonly held: readonly HeldFleet[];
}

export interface HeldFleet {
  readonly deployId: string;
  /** The new instances, verified, waiting for `cutover`. */
  readonly instanceIds: readonly string[];
}

export interface SnapshotOptions {
  /** Proceed despite stale hosts, and retire them. */
  readonly allowStale?: boolean;
  /** Proceed when the role has no instance: its first deploy. */
  readonly allowEmpty?: boolean;
  /** Earlier deploys that keep an old fleet and are finished first: their old instances are not this deploy's to replace. */
  readonly finishing?: readonly string[];
}

type Finding =
  | { readonly kind: 'member'; readonly member: Member }
  | { readonly kind: 'stale'; readonly stale: StaleHost; readonly why: string }
  | { readonly kind: 'problem'; readonly why: string };

/**
 * Lists the role's hosts in Mackerel and checks each against EC2. Any disagreement stops the
 * deploy here, before anything is launched, with every problem listed; so do an empty role
 * (unless allowed) and one larger than its maxInstances. Instances that carry the ownership tag
 * but have no host are reported, and left alone.
 */
export const takeSnapshot = async (
  spec: RoleSpec,
  subnets: readonly Subnet[],
  deps: { fleet: Fleet; monitor: Monitor; emit: Emit },
  call: Call,
  options: SnapshotOptions,
): Promise<Snapshot> => {
  const [hosts, owned] = await Promise.all([
    deps.monitor.hosts(spec.service, spec.role, call),
    deps.fleet.findByTag(spec.ownership.tag, spec.ownership.value, call),
  ]);
  const ids = hosts.flatMap((host) => (host.instanceId ? [host.instanceId] : []));
  // The ownership listing already describes the instances that carry the tag: only the others
  // (untagged, terminated, unknown) are asked for by id.
  const instances = await describeRest(deps.fleet, ids, owned, call);
  const finishedBy = (host: Host) => {
    const by = host.instanceId === undefined ? undefined : instances.get(host.instanceId)?.tags[TAG_REPLACED_BY];
    return by !== undefined && options.finishing?.includes(by) ? by : undefined;
  };
  const held = heldFleets(spec, owned);
  const heldIds = new Set(held.flatMap((fleet) => fleet.instanceIds));
  const findings = hosts
    .filter((host) => !finishedBy(host) && !heldIds.has(host.instanceId ?? ''))
    .map((host) => [host, examineHost(spec, subnets, host, instances)] as const);
  warnUnlisted(spec, owned, new Set(ids), deps.emit);
  refuseDisagreements(spec, findings, options);
  const members = findings.flatMap(([, finding]) => (finding.kind === 'member' ? [finding.member] : []));
  const stale = findings.flatMap(([, finding]) => (finding.kind === 'stale' ? [finding.stale] : []));
  for (const host of stale) {
    deps.emit({
      type: 'warning',
      message: `host ${host.hostId} (${host.hostName}) is stale: instance ${host.instanceId} is gone; --allow-stale: it will be retired with the old hosts, never terminated`,
    });
  }
  refuseSize(spec, members.length, hosts.length, options);
  const images = await deps.fleet.images([...new Set(members.map((member) => member.imageId))], call);
  const { tag, value } = spec.ownership;
  const checks = [
    `Mackerel and EC2 agree on ${members.length} hosts of ${spec.service}:${spec.role}: each instance running, in the role's subnets, tagged ${tag}=${value}`,
    `the role is within maxInstances (${members.length} of ${spec.maxInstances})`,
    ...(options.finishing ?? []).map((deployId) => {
      const kept = hosts.filter((host) => finishedBy(host) === deployId).map((host) => host.instanceId);
      return `deploy ${deployId} keeps an old fleet${kept.length > 0 ? ` (${kept.join(', ')})` : ''}: finished first, before this deploy launches`;
    }),
  ];
  return { members, stale, images, checks, held };
};

/** The role's instances tagged held (hold.ts), by deploy. */
const heldFleets = (spec: RoleSpec, owned: readonly Instance[]): HeldFleet[] => {
  const byDeploy = new Map<string, string[]>();
  for (const instance of owned) {
    const deployId = instance.tags[TAG_DEPLOY];
    if (instance.tags[TAG_STATE] !== HELD || instance.tags[TAG_OWNER] !== ownerValue(spec) || !deployId) continue;
    byDeploy.set(deployId, [...(byDeploy.get(deployId) ?? []), instance.id]);
  }
  return [...byDeploy].map(([deployId, instanceIds]) => ({ deployId, instanceIds: instanceIds.sort() }));
};

const examineHost = (spec: RoleSpec, subnets: readonly Subnet[], host: Host, instances: ReadonlyMap<string, Instance>): Finding => {
  if (!host.instanceId) return { kind: 'problem', why: 'has no EC2 instance id (not an EC2 host, or its agent sent no cloud metadata)' };
  const instance = instances.get(host.instanceId);
  const gone =
    !instance || instance.state === 'terminated'
      ? 'does not exist in EC2'
      : instance.state === 'shutting-down'
        ? 'is shutting down'
        : undefined;
  if (gone) {
    const stale = { hostId: host.id, hostName: host.name, instanceId: host.instanceId };
    return { kind: 'stale', stale, why: `instance ${host.instanceId} ${gone}: the host is stale, its agent never retired it` };
  }
  const problem = ownershipProblem(spec, subnets, instance!);
  if (problem) return { kind: 'problem', why: `instance ${host.instanceId} ${problem}` };
  if (instance!.state !== 'running') return { kind: 'problem', why: `instance ${host.instanceId} is ${instance!.state}, not running` };
  if (Object.keys(instance!.tags).length >= TAG_LIMITS.perResource && instance!.tags[TAG_REPLACED_BY] === undefined) {
    return {
      kind: 'problem',
      why: `instance ${host.instanceId} carries ${TAG_LIMITS.perResource} tags: EC2 allows no more, and the deploy marks it with ${TAG_REPLACED_BY}`,
    };
  }
  if (!subnets.some((subnet) => subnet.id === instance!.subnetId)) {
    return { kind: 'problem', why: `instance ${host.instanceId} is in ${instance!.subnetId}, not in the configured subnets` };
  }
  const { id, az, imageId, launchedAt } = instance!;
  return {
    kind: 'member',
    member: { hostId: host.id, hostName: host.name, hostStatus: host.status, instanceId: id, az, imageId, launchedAt },
  };
};

const refuseDisagreements = (spec: RoleSpec, findings: readonly (readonly [Host, Finding])[], options: SnapshotOptions): void => {
  const refused = findings.flatMap(([host, finding]) =>
    finding.kind === 'problem' || (finding.kind === 'stale' && !options.allowStale) ? [{ host, kind: finding.kind, why: finding.why }] : [],
  );
  if (refused.length === 0) return;
  const lines = refused.map(({ host, why }) => `host ${host.id} (${host.name}): ${why}`);
  const stale = refused.filter(({ kind }) => kind === 'stale').map(({ host }) => host.id);
  const hints = [
    ...(stale.length > 0
      ? [`retire the stale hosts (mkr retire ${stale.join(' ')}), or run again with --allow-stale to have the deploy retire them`]
      : []),
    ...(stale.length < refused.length
      ? [
          'fix the other instances listed, or take their hosts out of the role in Mackerel; a fleet launched before this tool is owned by the tag that `ownership` names',
        ]
      : []),
  ];
  throw new UsageError(
    `Mackerel and EC2 disagree about ${spec.service}:${spec.role}; nothing was launched:\n  ${lines.join('\n  ')}`,
    hints.join('; '),
  );
};

/** Instances the role owns that no Mackerel host stands for: never in the snapshot, so never terminated. */
const warnUnlisted = (spec: RoleSpec, owned: readonly Instance[], listed: ReadonlySet<string>, emit: Emit): void => {
  const { tag, value } = spec.ownership;
  for (const instance of owned.filter((i) => i.state === 'running' && !listed.has(i.id))) {
    emit({
      type: 'warning',
      message:
        `instance ${instance.id} (${instance.az}) carries ${tag}=${value} and runs, but Mackerel lists no host of ${spec.service}:${spec.role} for it: ` +
        'its mackerel-agent is down or not installed. It is left alone: start its agent, or terminate it by hand if it is not needed',
    });
  }
};

const refuseSize = (spec: RoleSpec, members: number, hosts: number, options: SnapshotOptions): void => {
  const role = `${spec.service}:${spec.role}`;
  if (members === 0 && !options.allowEmpty) {
    throw new UsageError(
      hosts === 0
        ? `Mackerel lists no host of ${role}; a misspelt role or service must not launch a second fleet`
        : `${role} has no live instance to replace, only stale hosts`,
      `check --role, --env and mackerel.service; for the role's first deploy, run again with --allow-empty`,
    );
  }
  if (members > spec.maxInstances) {
    throw new UsageError(
      `${role} has ${members} instances, more than its maxInstances (${spec.maxInstances}); a typo may have matched another fleet`,
      'check --role, --env and mackerel.service, or raise maxInstances in the config',
    );
  }
};
