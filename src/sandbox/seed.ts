import { instanceMetadata } from './agent-config.js';
import { agentHostBody } from './host-payload.js';
import { createHost } from './hosts.js';
import { seedInstances, subnetCidr } from './instances.js';
import { healthyCount } from './targets.js';
import { type SimImage, type SimInstance, type SimLoadBalancer, type SimSubnet, type SimTargetGroup, VPC_ID, type World } from './world.js';

/** Tags of the seeded fleet, as the tool tags what it launches. */
const ENV_TAG = 'mackerel-replacer:env';
/** Value `<env>/<role>`. */
const ROLE_TAG = 'mackerel-replacer:role';

export type SeedAmi = { readonly id: string } | { readonly owners: readonly string[]; readonly name: string };

export interface SeedRole {
  readonly ami: SeedAmi;
  readonly instanceType: string;
  readonly subnets: readonly string[];
  readonly securityGroupIds: readonly string[];
  readonly keyName?: string;
  readonly iamInstanceProfile?: string;
  /** The tag that owns the role's fleet, when the config names one: the old fleet carries it too. */
  readonly ownership?: { readonly tag: string; readonly value: string };
  readonly targetGroups: readonly string[];
  readonly perAz: number | 'match';
}

/** What the sandbox builds its world from: per environment, its Mackerel service and roles. */
export interface SandboxSeed {
  readonly region: string;
  readonly environments: Readonly<Record<string, SeedEnvironment>>;
}

export interface SeedEnvironment {
  readonly service: string;
  readonly roles: Readonly<Record<string, SeedRole>>;
  /** Its own account (default: the sandbox's first). */
  readonly accountId?: string;
  /** Its own Mackerel organization, whose key is this variable's value (default: MACKEREL_APIKEY, the --api-key). */
  readonly apiKeyEnv?: string;
}

/** The part of the parsed config (examples/replacer.yml) the seed reads. */
export interface SeedableConfig {
  readonly region: string;
  readonly environments: Readonly<
    Record<
      string,
      {
        readonly aws?: { readonly accountId?: string };
        readonly mackerel: { readonly service: string; readonly apiKeyEnv?: string };
        readonly roles: Readonly<
          Record<
            string,
            {
              readonly ami: SeedAmi;
              readonly instanceType?: string;
              readonly instanceTypes?: readonly string[];
              readonly subnets: readonly string[];
              readonly securityGroupIds?: readonly string[];
              readonly keyName?: string;
              readonly iamInstanceProfile?: string;
              readonly ownership?: { readonly tag: string; readonly value: string };
              readonly targetGroups?: readonly string[];
              readonly perAz?: number | 'match';
            }
          >
        >;
      }
    >
  >;
}

const mapValues = <A, B>(record: Readonly<Record<string, A>>, f: (value: A) => B): Record<string, B> =>
  Object.fromEntries(Object.entries(record).map(([key, value]) => [key, f(value)]));

export const seedFromConfig = (config: SeedableConfig): SandboxSeed => ({
  region: config.region,
  environments: mapValues(config.environments, (env) => ({
    service: env.mackerel.service,
    ...(env.aws?.accountId !== undefined && { accountId: env.aws.accountId }),
    ...(env.mackerel.apiKeyEnv !== undefined && { apiKeyEnv: env.mackerel.apiKeyEnv }),
    roles: mapValues(env.roles, (role) => ({
      ami: role.ami,
      // The old fleet runs the preferred type.
      instanceType: role.instanceType ?? role.instanceTypes?.[0] ?? 't3.small',
      subnets: role.subnets,
      securityGroupIds: role.securityGroupIds ?? [],
      ...(role.keyName && { keyName: role.keyName }),
      ...(role.iamInstanceProfile && { iamInstanceProfile: role.iamInstanceProfile }),
      ...(role.ownership && { ownership: role.ownership }),
      targetGroups: role.targetGroups ?? [],
      perAz: role.perAz ?? 1,
    })),
  })),
});

const OLD_DATE = '2026-10-01';
const NEW_DATE = '2026-11-01';
/** ap-northeast-1 has a, c and d; further letters only matter for configs with more subnets. */
const AZ_LETTERS = 'acdbefghijklmnopqrstuvwxyz';

// A team bakes an image per role, its agent configured with that role and nothing else.
// Images are one registry for every account of the sandbox: a name is unique within its owner's,
// and an id pinned by environments of several accounts is one image shared with the others.
const addImage = (
  world: World,
  roleFullname: string,
  image: Omit<SimImage, 'id' | 'state' | 'agent' | 'launchPermissions'> & { id?: string },
): SimImage => {
  const pinned = image.id === undefined ? undefined : world.images.get(image.id);
  if (pinned) {
    if (pinned.ownerId !== world.accountId) pinned.launchPermissions.add(world.accountId);
    return pinned;
  }
  const existing = [...world.images.values()].find((known) => known.name === image.name && known.ownerId === image.ownerId);
  if (existing) return existing;
  const stored = {
    ...image,
    id: image.id ?? world.nextId('ami'),
    launchPermissions: new Set<string>(),
    state: 'available',
    agent: { roles: [roleFullname], autoRetirement: false },
  };
  world.images.set(stored.id, stored);
  return stored;
};

/** Two images for a name filter (the newest is what a deploy picks); the pinned one plus an older one for an id. */
const seedImages = (world: World, env: string, role: string, roleFullname: string, ami: SeedAmi): SimImage => {
  const at = (date: string) => `${date}T00:00:00.000Z`;
  if ('id' in ami) {
    addImage(world, roleFullname, { id: ami.id, name: `${env}-${role}-pinned`, ownerId: world.accountId, createdAt: at(NEW_DATE) });
    return addImage(world, roleFullname, { name: `${env}-${role}-${OLD_DATE}`, ownerId: world.accountId, createdAt: at(OLD_DATE) });
  }
  const owner = ami.owners[0] ?? 'self';
  const ownership = /^\d{12}$/.test(owner)
    ? { ownerId: owner }
    : owner === 'self'
      ? { ownerId: world.accountId }
      : { ownerId: world.accountId, ownerAlias: owner };
  const named = (date: string) => ami.name.replaceAll('*', date).replaceAll('?', '0');
  addImage(world, roleFullname, { name: named(NEW_DATE), createdAt: at(NEW_DATE), ...ownership });
  return addImage(world, roleFullname, { name: named(OLD_DATE), createdAt: at(OLD_DATE), ...ownership });
};

const seedSubnet = (world: World, id: string): SimSubnet => {
  const known = world.subnets.get(id);
  if (known) return known;
  const index = world.subnets.size;
  const subnet: SimSubnet = {
    id,
    az: `${world.region}${AZ_LETTERS[index % AZ_LETTERS.length]}`,
    vpcId: VPC_ID,
    cidr: subnetCidr(index),
    index,
    addressesUsed: 0,
    otherAddresses: 0,
  };
  world.subnets.set(id, subnet);
  return subnet;
};

const seedTargetGroup = (world: World, arn: string): SimTargetGroup => {
  const known = world.targetGroups.get(arn);
  if (known) return known;
  const name = /targetgroup\/([^/]+)/.exec(arn)?.[1] ?? arn;
  const group: SimTargetGroup = {
    arn,
    name,
    port: 80,
    vpcId: VPC_ID,
    targetType: 'instance',
    loadBalancerArns: [],
    deregistrationDelay: world.timing.deregistrationDelay,
    targets: new Map(),
    minHealthy: 0,
  };
  world.targetGroups.set(arn, group);
  return group;
};

/** An application load balancer named after the group, forwarding to it, enabled in every seeded subnet's AZ. */
const seedLoadBalancer = (world: World, group: SimTargetGroup): void => {
  const id = (world.loadBalancers.size + 1).toString(16).padStart(16, '0');
  const lb: SimLoadBalancer = {
    arn: `arn:aws:elasticloadbalancing:${world.region}:${world.accountId}:loadbalancer/app/${group.name}/${id}`,
    name: group.name,
    azs: new Set([...world.subnets.values()].map((subnet) => subnet.az)),
  };
  world.loadBalancers.set(lb.arn, lb);
  group.loadBalancerArns = [lb.arn];
};

/** What the role's launches name exists in the account, as it does in the account the config was written for. */
const seedReferences = (world: World, spec: SeedRole): void => {
  for (const id of spec.securityGroupIds) world.securityGroups.set(id, VPC_ID);
  if (spec.keyName) world.keyPairs.add(spec.keyName);
  // EC2 takes a profile by name or ARN; the ARN ends in its name.
  if (spec.iamInstanceProfile) world.instanceProfiles.add(spec.iamInstanceProfile.split('/').pop()!);
};

// The old fleet has been up for a week: running, registered in Mackerel, healthy everywhere.
const LAUNCHED_AT = -7 * 24 * 3600 * 1000;

const seedHost = (world: World, instance: SimInstance, roleFullname: string): void => {
  createHost(world, agentHostBody(instanceMetadata(world, instance), [roleFullname]), LAUNCHED_AT, 'working');
};

const seedRole = (world: World, env: string, service: string, role: string, spec: SeedRole): void => {
  const image = seedImages(world, env, role, `${service}:${role}`, spec.ami);
  const groups = spec.targetGroups.map((arn) => seedTargetGroup(world, arn));
  const tags = {
    Name: `${env}-${role}`,
    [ENV_TAG]: env,
    [ROLE_TAG]: `${env}/${role}`,
    'managed-by': 'mackerel-replacer',
    ...(spec.ownership && { [spec.ownership.tag]: spec.ownership.value }),
  };
  seedReferences(world, spec);
  for (const subnetId of spec.subnets) {
    const count = spec.perAz === 'match' ? 1 : spec.perAz;
    const launch = {
      imageId: image.id,
      instanceType: spec.instanceType,
      subnet: seedSubnet(world, subnetId),
      count,
      securityGroupIds: spec.securityGroupIds,
      tags,
    };
    for (const instance of seedInstances(world, launch, LAUNCHED_AT)) {
      seedHost(world, instance, `${service}:${role}`);
      for (const group of groups)
        group.targets.set(instance.id, {
          id: instance.id,
          port: group.port,
          state: 'healthy',
          failing: false,
          flapsLeft: 0,
          generation: 0,
        });
    }
  }
};

/** Builds the world a deploy starts from. The event log starts empty: seeding is not a change. */
export const seedWorld = (world: World, seed: SandboxSeed): void => {
  for (const [env, { service, roles }] of Object.entries(seed.environments)) {
    world.services.set(service, new Set([...(world.services.get(service) ?? []), ...Object.keys(roles)]));
    for (const [role, spec] of Object.entries(roles)) seedRole(world, env, service, role, spec);
  }
  for (const group of world.targetGroups.values()) {
    seedLoadBalancer(world, group);
    group.minHealthy = healthyCount(group);
  }
  world.events.splice(0);
};
