// The engine's world for tests: the fakes of scripts/chaos/fakes, seeded with one role's old fleet,
// and the role's spec with the config's defaults (real AWS pace: the fake clock makes it instant).
import type { Deps } from '../../src/rollout/context.js';
import { replace } from '../../src/rollout/deploy.js';
import type { Outcome } from '../../src/rollout/deploy.js';
import type { DeployEvent } from '../../src/rollout/events.js';
import type { DeployRecord } from '../../src/rollout/record.js';
import { type Finished, resumeDeploy, rollbackDeploy } from '../../src/rollout/resume.js';
import type { RoleSpec } from '../../src/rollout/spec.js';
import { TAG_OWNER } from '../../src/rollout/tags.js';
import {
  type AgentConfig,
  type FakeImage,
  type FakeInstance,
  type FakeProcess,
  type Fakes,
  addImage,
  addSubnet,
  addTargetGroup,
  createFakes,
  seedFleet,
} from '../../scripts/chaos/fakes/index.js';

export * from '../../scripts/chaos/fakes/index.js';

export const TG = 'arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/reactio-web/0123456789abcdef';
export const TG2 = 'arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/reactio-api/fedcba9876543210';
export const SERVICE = 'reactio';
export const SUBNETS = [
  { id: 'subnet-0aaa1111', az: 'ap-northeast-1a' },
  { id: 'subnet-0ccc3333', az: 'ap-northeast-1c' },
] as const;
export const DEPLOY_ID = '20261123-063600-0a0b';

/** The config's defaults (src/config/schema.ts), for a role of the `production` env. */
export const roleSpec = (role: 'web' | 'worker', overrides: Partial<RoleSpec> = {}): RoleSpec => ({
  env: 'production',
  role,
  service: SERVICE,
  ami: { owners: ['self'], name: `reactio-${role}-*` },
  instanceType: 't3.small',
  subnets: SUBNETS.map((subnet) => subnet.id),
  securityGroupIds: ['sg-0123abcd'],
  tags: {},
  ownership: { tag: TAG_OWNER, value: `production/${role}` },
  maxInstances: 100,
  perAz: 1,
  stableFor: 30_000,
  targetGroups: role === 'web' ? [TG] : [],
  timeouts: { launch: 5 * 60_000, verify: 10 * 60_000, unhealthy: 3 * 60_000, total: 30 * 60_000 },
  newHostStatus: 'working',
  targetsPerGroup: 1000,
  launchBucket: { burst: 1000, refillPerSecond: 2 },
  pollInterval: 5_000,
  ...overrides,
});

export interface Stage {
  readonly fakes: Fakes;
  readonly spec: RoleSpec;
  readonly old: readonly FakeInstance[];
  readonly oldImage: FakeImage;
  readonly newImage: FakeImage;
}

export interface StageOptions {
  readonly spec?: Partial<RoleSpec>;
  /** Old instances per AZ. @default 1 */
  readonly oldPerAz?: number;
  /** The new image's agent config. @default the role's roles */
  readonly agent?: Partial<AgentConfig>;
  /** AZs the load balancer is enabled in. @default both */
  readonly balancerAzs?: readonly string[];
  readonly deregistrationDelay?: number;
}

/** A world with one role's old fleet (web: behind its target groups) and a newer image to replace it with. */
export const stage = (role: 'web' | 'worker', options: StageOptions = {}): Stage => {
  const fakes = createFakes();
  const spec = roleSpec(role, options.spec);
  const { world } = fakes;
  for (const subnet of SUBNETS) addSubnet(world, subnet.id, subnet.az);
  for (const arn of spec.targetGroups) {
    addTargetGroup(world, arn, options.balancerAzs ?? SUBNETS.map((s) => s.az), { deregistrationDelay: options.deregistrationDelay });
  }
  const roles = [`${SERVICE}:${role}`];
  const oldImage = addImage(world, { name: `reactio-${role}-2026-10-01`, createdAt: '2026-10-01T00:00:00.000Z', agent: { roles } });
  const newImage = addImage(world, {
    name: `reactio-${role}-2026-11-01`,
    createdAt: '2026-11-01T00:00:00.000Z',
    agent: { roles, ...options.agent },
  });
  const old = seedFleet(world, {
    env: spec.env,
    service: SERVICE,
    role,
    image: oldImage,
    subnetIds: spec.subnets,
    perAz: options.oldPerAz ?? 1,
    targetGroups: spec.targetGroups,
  });
  return { fakes, spec, old, oldImage, newImage };
};

export type AnyOutcome = Outcome | Finished;

export interface Ran {
  readonly outcome: AnyOutcome;
  readonly process: FakeProcess;
}

/** Starts a process of the tool and runs `act` in it to its end, or to its death. */
export const inProcess = async (
  fakes: Fakes,
  act: (deps: Deps) => Promise<AnyOutcome | { kind: 'planned' }>,
  options: { readonly emit?: (event: DeployEvent, process: FakeProcess) => void } = {},
): Promise<{ outcome?: AnyOutcome | { kind: 'planned' }; process: FakeProcess }> => {
  let process: FakeProcess | undefined;
  const started = fakes.start({ emit: (event) => options.emit?.(event, process!) });
  process = started.process;
  const outcome = await fakes.run(Promise.race([act(started.deps), process.died.then(() => undefined)]));
  return { outcome, process };
};

const signalNever = () => new AbortController().signal;

export const runReplace = async (
  s: Stage,
  options: { signal?: AbortSignal; deployId?: string; allowStale?: boolean } = {},
): Promise<Outcome> => {
  const { fakes, spec } = s;
  const replaceOptions = { deployId: options.deployId ?? DEPLOY_ID, dryRun: false, allowStale: options.allowStale };
  const { outcome } = await inProcess(fakes, (deps) => replace(spec, replaceOptions, deps, options.signal ?? signalNever()));
  return outcome as Outcome;
};

export const runResume = async (s: Stage, deployId = DEPLOY_ID): Promise<AnyOutcome> =>
  (await inProcess(s.fakes, (deps) => resumeDeploy(s.spec, deployId, deps, signalNever()))).outcome as AnyOutcome;

export const runRollback = async (s: Stage, deployId = DEPLOY_ID): Promise<AnyOutcome> =>
  (await inProcess(s.fakes, (deps) => rollbackDeploy(s.spec, deployId, deps, signalNever()))).outcome as AnyOutcome;

/** The deploy's record as the journal holds it now. */
export const recordOf = (s: Stage, deployId = DEPLOY_ID): DeployRecord | undefined => {
  const text = s.fakes.disk.get(deployId);
  return text === undefined ? undefined : (JSON.parse(text) as DeployRecord);
};

/** Instances that did not exist before the deploy. */
export const launched = (s: Stage): FakeInstance[] => {
  const old = new Set(s.old.map((i) => i.id));
  return [...s.fakes.world.instances.values()].filter((i) => !old.has(i.id));
};

const gone = (state: string) => state === 'shutting-down' || state === 'terminated';

/** What a test asserts the world looks like after a rollback: the old fleet as it was, nothing new left. */
export const expectUntouched = (s: Stage): string[] => {
  const { world } = s.fakes;
  world.advance();
  const problems: string[] = [];
  for (const instance of s.old) {
    if (instance.state !== 'running') problems.push(`old ${instance.id} is ${instance.state}`);
    const host = [...world.hosts.values()].find((h) => h.customIdentifier?.startsWith(instance.id));
    if (!host || host.isRetired || host.status !== 'working')
      problems.push(`old ${instance.id}'s host is ${host?.isRetired ? 'retired' : host?.status}`);
    for (const arn of s.spec.targetGroups) {
      const state = world.targetGroups.get(arn)!.targets.get(instance.id)?.state;
      if (state !== 'healthy') problems.push(`old ${instance.id} is ${state ?? 'not a target'} in ${arn}`);
    }
    if (instance.tags['mackerel-replacer:replaced-by'] !== undefined) problems.push(`old ${instance.id} still carries replaced-by`);
  }
  for (const instance of launched(s)) {
    if (!gone(instance.state)) problems.push(`new ${instance.id} is ${instance.state}`);
    const host = [...world.hosts.values()].find((h) => h.customIdentifier?.startsWith(instance.id) && !h.isRetired);
    if (host) problems.push(`new ${instance.id} has a live host ${host.id}`);
    for (const group of world.targetGroups.values()) {
      const state = group.targets.get(instance.id)?.state;
      if (state !== undefined && state !== 'draining' && state !== 'unused')
        problems.push(`new ${instance.id} is still a target (${state})`);
    }
  }
  return problems;
};

/** After a replace: the old fleet gone and retired, the plan's new instances running, working and healthy. */
export const expectReplaced = (s: Stage, planned: number): string[] => {
  const { world } = s.fakes;
  world.advance();
  const problems: string[] = [];
  for (const instance of s.old) {
    if (!gone(instance.state)) problems.push(`old ${instance.id} is ${instance.state}`);
    const host = [...world.hosts.values()].find((h) => h.customIdentifier?.startsWith(instance.id) && !h.isRetired);
    if (host) problems.push(`old ${instance.id}'s host ${host.id} is not retired`);
    for (const group of world.targetGroups.values())
      if (group.targets.has(instance.id)) problems.push(`old ${instance.id} is still a target`);
  }
  const fresh = launched(s);
  if (fresh.length !== planned) problems.push(`${fresh.length} new instances for a plan of ${planned}`);
  for (const instance of fresh) {
    if (instance.state !== 'running') problems.push(`new ${instance.id} is ${instance.state}`);
    const host = [...world.hosts.values()].find((h) => h.customIdentifier?.startsWith(instance.id) && !h.isRetired);
    if (host?.status !== 'working') problems.push(`new ${instance.id}'s host is ${host?.status ?? 'missing'}`);
    for (const arn of s.spec.targetGroups) {
      const state = world.targetGroups.get(arn)!.targets.get(instance.id)?.state;
      if (state !== 'healthy') problems.push(`new ${instance.id} is ${state ?? 'not a target'} in ${arn}`);
    }
    if (instance.tags['mackerel-replacer:state'] !== 'done') problems.push(`new ${instance.id} is not tagged done`);
  }
  return problems;
};

/** The fewest healthy targets any group had at any instant, against how many the old fleet had. */
export const capacityDips = (s: Stage): string[] =>
  s.spec.targetGroups.flatMap((arn) => {
    const group = s.fakes.world.targetGroups.get(arn)!;
    const was = s.old.length;
    return group.minHealthy < was ? [`${arn}: healthy targets fell to ${group.minHealthy}, below the old fleet's ${was}`] : [];
  });
