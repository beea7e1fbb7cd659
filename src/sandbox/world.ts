import type { SimClock } from './clock.js';
import type { MetadataOptions, SimVolume } from './ec2-launch-options.js';
import type { WorldEdit } from './edits.js';
import { createFaultBox, type FaultBox } from './faults.js';
import type { LaunchBucketState } from './launch-bucket.js';
import type { SimLaunchTemplate } from './launch-templates.js';
import { createTimeline, type Transition } from './timeline.js';

export const ACCOUNT_ID = '123456789012';
export const VPC_ID = 'vpc-0sandbox';

export type InstanceState = 'pending' | 'running' | 'shutting-down' | 'terminated';
export type TargetState = 'initial' | 'healthy' | 'unhealthy' | 'unused' | 'draining';
export const HOST_STATUSES = ['working', 'standby', 'maintenance', 'poweroff'] as const;
export type HostStatus = (typeof HOST_STATUSES)[number];

/** Simulated milliseconds (thresholds are counts). */
export interface Timing {
  /** pending → running */
  readonly boot: number;
  /** shutting-down → terminated */
  readonly terminate: number;
  readonly healthInterval: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
  /** A target group's until a world edit changes it. */
  readonly deregistrationDelay: number;
}

export const defaultTiming: Timing = {
  boot: 20_000,
  terminate: 5_000,
  healthInterval: 5_000,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
  deregistrationDelay: 30_000,
};

/** mackerel-agent's configuration as an image bakes it or user data rewrites it. */
export interface AgentConfig {
  /** `roles` in mackerel-agent.conf: `Service:role`. */
  roles: string[];
  /** `[host_status] on_start`. */
  onStart?: HostStatus;
  /** The host id in a baked `/var/lib/mackerel-agent/id`: every instance of the image claims that host. */
  idFileHostId?: string;
  /** `AUTO_RETIREMENT=1` in /etc/default/mackerel-agent: the host is retired when the agent stops at shutdown. */
  autoRetirement: boolean;
}

export interface SimImage {
  readonly id: string;
  readonly name: string;
  readonly ownerId: string;
  readonly ownerAlias?: string;
  readonly createdAt: string;
  /** The other accounts it is shared with (ModifyImageAttribute): they may describe and launch it. */
  readonly launchPermissions: Set<string>;
  /** `available` unless a world edit says otherwise. */
  state: string;
  /** The agent configuration baked into it. */
  readonly agent: AgentConfig;
}

export interface SimSubnet {
  readonly id: string;
  readonly az: string;
  vpcId: string;
  readonly cidr: string;
  /** Position among the sandbox's subnets: picks its address block. */
  readonly index: number;
  addressesUsed: number;
  /** Addresses held by what the sandbox does not model (other ENIs): world edit `subnet-free-addresses`. */
  otherAddresses: number;
}

export interface SimInstance {
  readonly id: string;
  readonly reservationId: string;
  readonly imageId: string;
  readonly instanceType: string;
  readonly subnetId: string;
  readonly az: string;
  /** The subnet's VPC at launch. */
  vpcId: string;
  readonly privateIp: string;
  readonly securityGroupIds: readonly string[];
  readonly keyName?: string;
  readonly iamInstanceProfile?: string;
  /** CreateTags adds to them. */
  readonly tags: Record<string, string>;
  /** RunInstances UserData, decoded. */
  readonly userData?: string;
  /** Absent on instances the sandbox seeds: EC2's defaults. */
  readonly metadataOptions?: MetadataOptions;
  /** Absent on instances the sandbox seeds: the image's root volume. */
  readonly volumes?: readonly SimVolume[];
  /** The template and version it was launched from. */
  readonly launchTemplate?: { readonly id: string; readonly version: number };
  /** Simulated ms. */
  readonly launchedAt: number;
  /** agent-silent fault: the simulated agent never registers this one. */
  readonly agentSilent: boolean;
  state: InstanceState;
  /** Why it last changed state (EC2 StateReason), once it stopped or failed. */
  stateReason?: StateReason;
}

export interface StateReason {
  readonly code: string;
  readonly message: string;
}

export interface SimTarget {
  readonly id: string;
  readonly port: number;
  state: TargetState;
  reason?: string;
  /** health-fail fault: its checks never pass. */
  readonly failing: boolean;
  /** health-flap fault: how often it still falls back to unhealthy after turning healthy. */
  flapsLeft: number;
  /** Bumped on every state change so transitions scheduled for an older state are skipped. */
  generation: number;
}

export interface SimLoadBalancer {
  readonly arn: string;
  readonly name: string;
  /** The Availability Zones it is enabled in. */
  readonly azs: Set<string>;
}

export interface SimTargetGroup {
  readonly arn: string;
  readonly name: string;
  readonly port: number;
  vpcId: string;
  targetType: 'instance' | 'ip' | 'lambda' | 'alb';
  /** The load balancers that forward to it: none, and its targets are not in use. */
  loadBalancerArns: string[];
  /** Simulated ms a deregistered target drains. */
  deregistrationDelay: number;
  readonly targets: Map<string, SimTarget>;
  /** The fewest healthy targets ever seen since seeding (capacity invariant). */
  minHealthy: number;
}

/** The Mackerel host, in the API's own JSON shape. */
export interface SimHost {
  readonly id: string;
  name: string;
  displayName?: string;
  customIdentifier?: string;
  size: 'standard';
  status: HostStatus;
  memo: string;
  isRetired: boolean;
  retiredAt?: number;
  /** Epoch seconds. */
  createdAt: number;
  roles: Record<string, string[]>;
  interfaces: Record<string, unknown>[];
  meta: Record<string, unknown>;
}

/** A host metric value as the API stores it: epoch seconds. */
export interface SimMetricValue {
  readonly time: number;
  readonly value: number;
}

export const ALERT_STATUSES = ['CRITICAL', 'WARNING', 'UNKNOWN'] as const;

/** A Mackerel alert, in the API's own JSON shape (host-bound types only: the sandbox raises no others). */
export interface SimAlert {
  readonly id: string;
  status: (typeof ALERT_STATUSES)[number] | 'OK';
  readonly monitorId: string;
  readonly type: 'connectivity' | 'host' | 'check' | 'anomalyDetection';
  readonly hostId: string;
  /** Epoch seconds. */
  readonly openedAt: number;
  closedAt?: number;
  reason?: string;
}

type InstanceEventType =
  | 'instance.launched'
  | 'instance.running'
  | 'instance.tagged'
  | 'instance.untagged'
  | 'instance.terminating'
  | 'instance.terminated';
type TargetEventType =
  | 'target.registered'
  | 'target.healthy'
  | 'target.unhealthy'
  | 'target.deregistered'
  | 'target.unused'
  | 'target.removed';

/** A change in the world; `t` is simulated ms since the sandbox started. */
export type WorldEvent =
  | { readonly t: number; readonly type: InstanceEventType; readonly instanceId: string }
  | { readonly t: number; readonly type: 'host.registered' | 'host.retired'; readonly hostId: string }
  | { readonly t: number; readonly type: 'host.status'; readonly hostId: string; readonly status: HostStatus }
  | { readonly t: number; readonly type: TargetEventType; readonly targetGroupArn: string; readonly instanceId: string }
  | { readonly t: number; readonly type: 'annotation.created'; readonly annotationId: string }
  | { readonly t: number; readonly type: 'alert.opened' | 'alert.closed'; readonly alertId: string; readonly hostId: string }
  /** POST /_sandbox/world changed the world (the changes it causes are logged after it). */
  | { readonly t: number; readonly type: 'world.edited'; readonly edit: WorldEdit };

/** Who a request's access key id acts as. */
export interface Caller {
  readonly keyId: string;
  readonly accountId: string;
  readonly arn: string;
}

/** What the accounts of one sandbox share: their images (each visible to its owner and whom it is shared with), ids and STS sessions. */
export interface Shared {
  readonly images: Map<string, SimImage>;
  readonly counters: Map<string, number>;
  /** AssumeRole's temporary access key ids. */
  readonly sessions: Map<string, Caller>;
  /** The accounts the sandbox serves, in the config's order. */
  readonly accountIds: string[];
}

export const createShared = (): Shared => ({ images: new Map(), counters: new Map(), sessions: new Map(), accountIds: [] });

/** Its owner and the accounts it is shared with see an image; no one else. */
export const canSee = (image: SimImage, accountId: string): boolean =>
  image.ownerId === accountId || image.launchPermissions.has(accountId);

/** One AWS account and the Mackerel organization of its environments. */
export interface World {
  readonly accountId: string;
  readonly shared: Shared;
  readonly clock: SimClock;
  readonly timing: Timing;
  readonly region: string;
  readonly images: Map<string, SimImage>;
  readonly subnets: Map<string, SimSubnet>;
  readonly targetGroups: Map<string, SimTargetGroup>;
  readonly loadBalancers: Map<string, SimLoadBalancer>;
  /** Security group id → its VPC; seeded from the config. */
  readonly securityGroups: Map<string, string>;
  readonly keyPairs: Set<string>;
  /** Instance profile names. */
  readonly instanceProfiles: Set<string>;
  /** AZ → the instance types offered there (world edit `instance-type-offerings`); an AZ not listed offers every type. */
  readonly offerings: Map<string, Set<string>>;
  readonly instances: Map<string, SimInstance>;
  readonly launchTemplates: Map<string, SimLaunchTemplate>;
  readonly hosts: Map<string, SimHost>;
  /** customIdentifier → the hosts that have it (hosts.ts keeps it): every agent looks its host up by it. */
  readonly hostsByCustomIdentifier: Map<string, Set<SimHost>>;
  /** Mackerel service → its roles. */
  readonly services: Map<string, Set<string>>;
  /** Host id → metric name → its newest value, as the agents posted them. */
  readonly metrics: Map<string, Map<string, SimMetricValue>>;
  /** Instance or host ids whose agents post no metrics (fault metrics-silent, edit agent-metrics). */
  readonly mutedMetrics: Set<string>;
  /** Oldest first; open until closed. */
  readonly alerts: SimAlert[];
  readonly annotations: Record<string, unknown>[];
  /** RunInstances ClientToken → what it launched, for idempotent retries. */
  readonly clientTokens: Map<string, { readonly fingerprint: string; readonly instanceIds: readonly string[] }>;
  readonly events: WorldEvent[];
  readonly faults: FaultBox;
  /** What the tool's credentials may not do (world edits `deny` and `read-only-key`). */
  readonly access: Access;
  readonly settings: Settings;
  readonly launchBucket: LaunchBucketState;
  /** Applies every transition due by now and returns now. */
  advance(): number;
  schedule(at: number, run: Transition): void;
  record(event: WorldEvent): void;
  /**
   * Hands `listener` every event from now on as it is recorded, and, while anyone listens, applies
   * each transition at its instant instead of when the next request arrives (answers stay the
   * same: every request applies what is due first). Returns what stops it.
   */
  observe(listener: (event: WorldEvent) => void): () => void;
  /** A fresh id: `i-0…`, `r-0…`, `ami-0…`, `lt-0…`, `vol-0…` (17 hex digits after the dash), or an opaque Mackerel id. */
  nextId(kind: 'i' | 'r' | 'ami' | 'lt' | 'vol' | 'host' | 'annotation' | 'alert'): string;
}

export interface Access {
  /** EC2/ELBv2 Actions refused to the tool: UnauthorizedOperation (EC2) or AccessDenied (ELBv2). */
  readonly deniedActions: Set<string>;
  /** Mackerel API keys that may read but not write. */
  readonly readOnlyKeys: Set<string>;
}

/** Account and organization settings, changed by world edits. */
export interface Settings {
  /** The Mackerel organization's default status of a new host. */
  defaultHostStatus: HostStatus;
  /** The ELBv2 quota of targets per target group. */
  targetsPerGroup: number;
  /** EC2's RunInstances resource bucket: instances when full, and its refill per simulated second. */
  launchBurst: number;
  launchRefillPerSecond: number;
  /** The Running On-Demand Standard instances vCPU quota (Service Quotas L-1216C47A). */
  vcpuQuota: number;
  /** An organization policy (SCP): RunInstances is refused unless the instance requires IMDSv2 tokens. */
  requireImdsv2: boolean;
}

/** What an EC2 or ELBv2 action runs against: the world at one instant. */
export interface ActionContext {
  readonly world: World;
  readonly now: number;
  /** Who signed the request. */
  readonly caller?: Caller;
}

export const createWorld = (options: { clock: SimClock; region: string; accountId?: string; shared?: Shared }): World => {
  const { clock } = options;
  const timeline = createTimeline();
  const shared = options.shared ?? createShared();
  const accountId = options.accountId ?? ACCOUNT_ID;
  shared.accountIds.push(accountId);
  const { counters } = shared;
  const events: WorldEvent[] = [];
  const listeners = new Set<(event: WorldEvent) => void>();
  /** The one timer that applies the earliest transition on time, while anyone listens. */
  let alarm: { readonly at: number; readonly controller: AbortController } | undefined;

  const disarm = () => {
    alarm?.controller.abort();
    alarm = undefined;
  };
  const arm = (): void => {
    const next = timeline.nextAt();
    if (listeners.size === 0 || next === undefined) {
      disarm();
      return;
    }
    if (alarm !== undefined && alarm.at <= next) return;
    disarm();
    const armed = { at: next, controller: new AbortController() };
    alarm = armed;
    // At least a simulated ms: the clock rounds down, so a timer may wake just before the instant.
    clock.sleep(Math.max(1, next - clock.now()), armed.controller.signal).then(
      () => {
        if (alarm === armed) alarm = undefined;
        advance();
      },
      () => undefined,
    );
  };
  const advance = (): number => {
    const now = clock.now();
    timeline.runUntil(now);
    arm();
    return now;
  };

  return {
    accountId,
    shared,
    clock,
    timing: defaultTiming,
    region: options.region,
    images: shared.images,
    subnets: new Map(),
    targetGroups: new Map(),
    loadBalancers: new Map(),
    securityGroups: new Map(),
    keyPairs: new Set(),
    instanceProfiles: new Set(),
    offerings: new Map(),
    instances: new Map(),
    launchTemplates: new Map(),
    hosts: new Map(),
    hostsByCustomIdentifier: new Map(),
    services: new Map(),
    metrics: new Map(),
    mutedMetrics: new Set(),
    alerts: [],
    annotations: [],
    clientTokens: new Map(),
    events,
    faults: createFaultBox(),
    access: { deniedActions: new Set(), readOnlyKeys: new Set() },
    settings: {
      defaultHostStatus: 'standby',
      targetsPerGroup: 1000,
      launchBurst: 1000,
      launchRefillPerSecond: 2,
      vcpuQuota: 5120,
      requireImdsv2: false,
    },
    launchBucket: { tokens: 1000, at: 0 },
    advance,
    schedule: (at, run) => {
      timeline.schedule(at, run);
      arm();
    },
    record: (event) => {
      events.push(event);
      for (const listener of listeners) listener(event);
    },
    observe: (listener) => {
      listeners.add(listener);
      arm();
      return () => {
        listeners.delete(listener);
        arm();
      };
    },
    nextId: (kind) => {
      const n = (counters.get(kind) ?? 0) + 1;
      counters.set(kind, n);
      if (kind === 'host' || kind === 'annotation' || kind === 'alert') {
        return `${{ host: 'sbh', annotation: 'sba', alert: 'sbl' }[kind]}${n.toString(36).padStart(8, '0')}`;
      }
      return `${kind}-0${n.toString(16).padStart(16, '0')}`;
    },
  };
};
