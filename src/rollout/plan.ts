import { UsageError } from './errors.js';
import type { Image, Subnet } from './ports.js';
import type { RoleSpec } from './spec.js';
import type { Snapshot } from './snapshot.js';

export interface AzLaunch {
  readonly az: string;
  readonly subnetId: string;
  readonly count: number;
  /** Derived from the deploy id, so a repeated RunInstances returns the same instances. */
  readonly clientToken: string;
}

export interface Plan {
  readonly deployId: string;
  readonly image: Image;
  readonly launches: readonly AzLaunch[];
  readonly newCount: number;
  readonly oldCount: number;
}

/** At most 64 ASCII characters: the deploy id is 20, an AZ name about 15. */
export const clientToken = (deployId: string, az: string): string => `${deployId}/${az}/0`;

/** How many new instances go to each AZ. Pure: the same inputs always give the same plan. */
export const makePlan = (
  spec: RoleSpec,
  deployId: string,
  image: Image,
  subnets: readonly Subnet[],
  snapshot: Pick<Snapshot, 'members'>,
): Plan => {
  const oldPerAz = new Map<string, number>();
  for (const old of snapshot.members) oldPerAz.set(old.az, (oldPerAz.get(old.az) ?? 0) + 1);
  const launches = subnets
    .map((subnet) => ({
      az: subnet.az,
      subnetId: subnet.id,
      count: spec.perAz === 'match' ? (oldPerAz.get(subnet.az) ?? 0) : spec.perAz,
      clientToken: clientToken(deployId, subnet.az),
    }))
    .filter((launch) => launch.count > 0);
  const newCount = launches.reduce((sum, launch) => sum + launch.count, 0);
  const oldCount = snapshot.members.length;
  if (newCount === 0) {
    throw new UsageError(
      `the plan launches nothing: perAz is "match" and the role has no instances`,
      'set perAz to a number of instances per AZ',
    );
  }
  if (newCount > spec.maxInstances) {
    throw new UsageError(
      `the plan launches ${newCount} instances, more than the role's maxInstances (${spec.maxInstances})`,
      'lower perAz, or raise maxInstances in the config if the role really is that large',
    );
  }
  if (spec.targetGroups.length > 0 && newCount < oldCount) {
    throw new UsageError(
      `the plan launches ${newCount} instances for ${oldCount} old ones: capacity behind the load balancer would drop`,
      'raise perAz, or set perAz: match to keep the old distribution',
    );
  }
  return { deployId, image, launches, newCount, oldCount };
};
