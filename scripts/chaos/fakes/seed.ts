// Building a world to deploy into: subnets, images, target groups behind load balancers, and a
// role's old fleet that has run for a week (running, registered and working in Mackerel, healthy).
import type { HostStatus } from '../../../src/rollout/ports.js';
import { TAG_ENV, TAG_MANAGED_BY, TAG_OWNER, ownerValue } from '../../../src/rollout/tags.js';
import { ACCOUNT } from './ec2.js';
import { createHost } from './mackerel.js';
import type { AgentConfig, FakeImage, FakeInstance, World } from './world.js';

export const VPC = 'vpc-0fake';

export const addSubnet = (world: World, id: string, az: string, vpcId = VPC): void => {
  world.subnets.set(id, { id, az, vpcId });
};

export const addImage = (
  world: World,
  image: { name: string; createdAt: string; agent: AgentConfig; state?: string; ownerId?: string },
): FakeImage => {
  const stored: FakeImage = { id: world.nextId('ami'), ownerId: ACCOUNT, state: 'available', ...image };
  world.images.set(stored.id, stored);
  return stored;
};

/** A target group (instance targets, in the VPC) forwarded to by a load balancer enabled in `azs`. */
export const addTargetGroup = (world: World, arn: string, azs: readonly string[], options: { deregistrationDelay?: number } = {}): void => {
  const name = /targetgroup\/([^/]+)/.exec(arn)?.[1] ?? 'group';
  const lbArn = `arn:aws:elasticloadbalancing:${world.region}:${ACCOUNT}:loadbalancer/app/${name}/${world.loadBalancers.size + 1}`;
  world.loadBalancers.set(lbArn, { arn: lbArn, name, azs: new Set(azs) });
  world.targetGroups.set(arn, {
    arn,
    vpcId: VPC,
    targetType: 'instance',
    loadBalancerArns: [lbArn],
    deregistrationDelay: options.deregistrationDelay ?? world.timing.deregistrationDelay,
    targets: new Map(),
    minHealthy: 0,
  });
};

export interface FleetSeed {
  readonly env: string;
  readonly service: string;
  readonly role: string;
  readonly image: FakeImage;
  readonly subnetIds: readonly string[];
  /** Old instances per subnet. */
  readonly perAz: number;
  readonly targetGroups?: readonly string[];
  readonly hostStatus?: HostStatus;
  /** More tags on each old instance. */
  readonly tags?: Readonly<Record<string, string>>;
}

/** The role's old fleet; the event log does not count seeding as a change. */
export const seedFleet = (world: World, seed: FleetSeed): FakeInstance[] => {
  const launchedAt = world.clock.now() - 7 * 24 * 3600_000;
  const roles = world.services.get(seed.service) ?? new Set<string>();
  world.services.set(seed.service, roles.add(seed.role));
  const tags = {
    Name: `${seed.env}-${seed.role}`,
    [TAG_ENV]: seed.env,
    [TAG_OWNER]: ownerValue(seed),
    [TAG_MANAGED_BY]: 'mackerel-replacer',
    ...seed.tags,
  };
  const fleet: FakeInstance[] = [];
  for (const subnetId of seed.subnetIds) {
    const subnet = world.subnets.get(subnetId)!;
    for (let n = 0; n < seed.perAz; n++) {
      const instance: FakeInstance = {
        id: world.nextId('i'),
        imageId: seed.image.id,
        subnetId,
        az: subnet.az,
        vpcId: subnet.vpcId,
        tags: { ...tags },
        launchedAt,
        agentSilent: false,
        state: 'running',
      };
      world.instances.set(instance.id, instance);
      createHost(world, instance, [`${seed.service}:${seed.role}`], seed.hostStatus ?? 'working', launchedAt);
      for (const arn of seed.targetGroups ?? []) {
        world.targetGroups
          .get(arn)!
          .targets.set(instance.id, { id: instance.id, state: 'healthy', failing: false, flapsLeft: 0, generation: 0 });
      }
      fleet.push(instance);
    }
  }
  for (const group of world.targetGroups.values())
    group.minHealthy = [...group.targets.values()].filter((t) => t.state === 'healthy').length;
  world.events.splice(0);
  return fleet;
};
