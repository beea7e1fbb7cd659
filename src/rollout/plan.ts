import { createHash } from 'node:crypto';
import { instanceTypesOf, preferredType } from './capacity.js';
import { UsageError } from './errors.js';
import { type LaunchBucket, launchRounds, refillMs } from './pacing.js';
import { blockDeviceLabel, metadataLabel, type PinnedTemplate, templateLabel, templateOf } from './launch-template.js';
import type { BlockDevice, Image, MetadataOptions, Subnet } from './ports.js';
import { type Promotion, type ShippedVar, formatVars } from './promotion.js';
import type { RoleSpec } from './spec.js';
import type { Snapshot } from './snapshot.js';
import type { Waves } from './waves.js';

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
  readonly instanceType: string;
  readonly launches: readonly AzLaunch[];
  readonly newCount: number;
  readonly oldCount: number;
  /** The checks that passed before anything changes, by name, in the order they ran. */
  readonly checks: readonly string[];
  /** The user data's variables, each with where its value came from. */
  readonly vars?: readonly ShippedVar[];
  /** Set when the image and the variables are another environment's last successful deploy's. */
  readonly promotion?: Promotion;
  /** Set when the plan launches more than EC2's launch bucket holds: the rest waits for its refill. */
  readonly pacing?: { readonly bucket: LaunchBucket; readonly rounds: number; readonly refillMs: number };
  /** Set when the deploy runs in more than one wave. */
  readonly waves?: Waves;
  /** The role's instance types, in the order each AZ tries them when EC2 has no capacity. */
  readonly instanceTypes?: readonly string[];
  /** The launch template's version every launch of the deploy uses. */
  readonly launchTemplate?: PinnedTemplate;
  /** Absent: the launch template's. */
  readonly metadataOptions?: MetadataOptions;
  /** Absent: the image's (or the launch template's). */
  readonly blockDevices?: readonly BlockDevice[];
}

/** At most 64 ASCII characters: the deploy id is 20, an AZ name about 15; pacing adds `.round` after the wave. */
export const clientToken = (deployId: string, az: string, wave = 0): string => `${deployId}/${az}/${wave}`;

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
  const paced = newCount > spec.launchBucket.burst && {
    pacing: {
      bucket: spec.launchBucket,
      rounds: launchRounds(launches, spec.launchBucket).length,
      refillMs: refillMs(newCount, spec.launchBucket),
    },
  };
  const capacity = spec.targetGroups.length > 0 ? [`capacity never dips: ${newCount} new instances for ${oldCount} old`] : [];
  return {
    deployId,
    image,
    instanceType: preferredType(spec),
    launches,
    newCount,
    oldCount,
    checks: capacity,
    ...paced,
    ...(spec.pinnedTemplate && { launchTemplate: templateOf(spec.pinnedTemplate) }),
    ...(spec.metadataOptions && { metadataOptions: spec.metadataOptions }),
    ...(spec.blockDevices && { blockDevices: spec.blockDevices }),
  };
};

/**
 * What an operator reviewed (`plan --out`, or the terminal's confirmation): everything that shapes
 * a new instance or its traffic. Applied exactly, or refused.
 */
export interface ReviewedPlan {
  readonly version: 2;
  readonly env: string;
  readonly role: string;
  /** Empty: worker mode, no traffic to drain. */
  readonly targetGroups: readonly string[];
  readonly imageId: string;
  /** In the order each AZ tries them. */
  readonly instanceTypes: readonly string[];
  readonly subnets: readonly string[];
  readonly securityGroupIds: readonly string[];
  readonly iamInstanceProfile?: string;
  readonly keyName?: string;
  /** Of the user data as rendered, hex; absent when the role has none. */
  readonly userDataSha256?: string;
  /** The role's own tags and its ownership tag; the deploy's own tags differ by deploy. */
  readonly tags: Readonly<Record<string, string>>;
  readonly launches: readonly { readonly az: string; readonly count: number }[];
  /** The snapshot's instance ids, sorted. */
  readonly snapshot: readonly string[];
  readonly vars: Readonly<Record<string, string>>;
  /** Absent when the role has none (and in plans saved before launch templates). */
  readonly launchTemplate?: PinnedTemplate;
  readonly metadataOptions?: MetadataOptions;
  readonly blockDevices?: readonly BlockDevice[];
}

/** The reviewed form of a plan; `spec` is the one the deploy ships (its user data rendered). */
export const reviewedPlan = (spec: RoleSpec, plan: Plan, snapshot: Pick<Snapshot, 'members'>): ReviewedPlan => ({
  version: 2,
  env: spec.env,
  role: spec.role,
  targetGroups: spec.targetGroups,
  imageId: plan.image.id,
  instanceTypes: instanceTypesOf(spec),
  subnets: [...spec.subnets].sort(),
  securityGroupIds: [...spec.securityGroupIds].sort(),
  ...(spec.iamInstanceProfile !== undefined && { iamInstanceProfile: spec.iamInstanceProfile }),
  ...(spec.keyName !== undefined && { keyName: spec.keyName }),
  ...(spec.userData !== undefined && { userDataSha256: createHash('sha256').update(spec.userData).digest('hex') }),
  tags: { ...spec.tags, [spec.ownership.tag]: spec.ownership.value },
  launches: plan.launches.map(({ az, count }) => ({ az, count })),
  snapshot: snapshot.members.map((member) => member.instanceId).sort(),
  vars: Object.fromEntries((plan.vars ?? []).map(({ name, value }) => [name, value])),
  ...(plan.launchTemplate && { launchTemplate: plan.launchTemplate }),
  ...(plan.metadataOptions && { metadataOptions: plan.metadataOptions }),
  ...(plan.blockDevices && { blockDevices: plan.blockDevices }),
});

const modeOf = (plan: ReviewedPlan): string =>
  plan.targetGroups.length > 0 ? `web (target groups ${plan.targetGroups.join(', ')})` : 'worker (no target groups)';

const listed = (values: readonly string[]): string => (values.length > 0 ? values.join(', ') : 'none');

const pairs = (values: Readonly<Record<string, string>>): string =>
  listed(
    Object.keys(values)
      .sort()
      .map((key) => `${key}=${values[key]}`),
  );

/** How the world's plan differs from the reviewed one, a line per field; empty when they are the same. */
export const planDifferences = (reviewed: ReviewedPlan, now: ReviewedPlan): string[] => {
  if (reviewed.env !== now.env || reviewed.role !== now.role) {
    return [`the reviewed plan is for ${reviewed.env}/${reviewed.role}, not ${now.env}/${now.role}`];
  }
  const web = (plan: ReviewedPlan) => plan.targetGroups.length > 0;
  const fields: [string, (plan: ReviewedPlan) => string][] = [
    // Web and worker mode retire the old fleet differently: drained, or not.
    web(reviewed) === web(now) ? ['target groups', (plan) => listed(plan.targetGroups)] : ['mode', modeOf],
    ['image', (plan) => plan.imageId],
    ['instance types', (plan) => listed(plan.instanceTypes)],
    ['subnets', (plan) => listed(plan.subnets)],
    ['security groups', (plan) => listed(plan.securityGroupIds)],
    ['instance profile', (plan) => plan.iamInstanceProfile ?? 'none'],
    ['key', (plan) => plan.keyName ?? 'none'],
    ['launch template', (plan) => (plan.launchTemplate ? templateLabel(plan.launchTemplate) : 'none')],
    ['metadata options', (plan) => (plan.metadataOptions ? metadataLabel(plan.metadataOptions) : 'not set')],
    ['block devices', (plan) => (plan.blockDevices ? plan.blockDevices.map(blockDeviceLabel).join('; ') : 'not set')],
    ['user data SHA-256', (plan) => plan.userDataSha256 ?? 'no user data'],
    ['user data variables', (plan) => formatVars(plan.vars)],
    ['tags', (plan) => pairs(plan.tags)],
    ['launches', (plan) => plan.launches.map(({ az, count }) => `${az}=${count}`).join(', ')],
  ];
  const differences = fields.flatMap(([name, show]) =>
    show(reviewed) === show(now) ? [] : [`${name}: reviewed ${show(reviewed)}, now ${show(now)}`],
  );
  const gone = reviewed.snapshot.filter((id) => !now.snapshot.includes(id));
  const added = now.snapshot.filter((id) => !reviewed.snapshot.includes(id));
  if (gone.length > 0) differences.push(`old instances gone since: ${gone.join(', ')}`);
  if (added.length > 0) differences.push(`old instances new since: ${added.join(', ')}`);
  return differences;
};
