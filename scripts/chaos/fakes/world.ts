// The in-memory world behind the fake ports: EC2 instances, ELBv2 target groups and Mackerel hosts
// as real state that changes with the fake clock, as src/sandbox's world does (and as
// reference/real-service-facts.md says the real services do). Changes due at predictable instants
// (a boot ends, a health check passes, a drain ends, an agent registers) wait on a timeline and
// are applied in time order before every call, so each answer sees exactly what happened before it.
import type { HostStatus, Subnet } from '../../../src/rollout/ports.js';
import { createFaultBox, type Fault, type FaultBox } from '../../../src/sandbox/faults.js';
import { createTimeline } from '../../../src/sandbox/timeline.js';
import type { FakeClock } from './clock.js';

/** Milliseconds of the fake clock (thresholds are counts). */
export interface Timing {
  /** pending → running */
  readonly boot: number;
  /** shutting-down → terminated */
  readonly terminate: number;
  /** running → the agent's host registered */
  readonly agentRegister: number;
  /** shutdown → an auto-retiring agent has retired its host */
  readonly agentRetire: number;
  readonly healthInterval: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
  /** A new target group's. */
  readonly deregistrationDelay: number;
  /** How long EC2 still shows a terminated instance. */
  readonly terminatedVisible: number;
}

/** AWS's and mackerel-agent's own pace (the sandbox's simulated timing). */
export const AWS_TIMING: Timing = {
  boot: 20_000,
  terminate: 5_000,
  agentRegister: 10_000,
  agentRetire: 1_000,
  healthInterval: 5_000,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
  deregistrationDelay: 30_000,
  terminatedVisible: 3_600_000,
};

/** Every duration times `factor`: the sandbox's `timeScale`, so a fake run keeps pace with a sandbox run. */
export const scaleTiming = (timing: Timing, factor: number): Timing => ({
  ...timing,
  boot: timing.boot * factor,
  terminate: timing.terminate * factor,
  agentRegister: timing.agentRegister * factor,
  agentRetire: timing.agentRetire * factor,
  healthInterval: timing.healthInterval * factor,
  deregistrationDelay: timing.deregistrationDelay * factor,
});

export type InstanceState = 'pending' | 'running' | 'shutting-down' | 'terminated';
export type TargetState = 'initial' | 'healthy' | 'unhealthy' | 'unused' | 'draining';

/** mackerel-agent's configuration as the image bakes it. */
export interface AgentConfig {
  /** `Service:role`, from mackerel-agent.conf: nothing reads EC2 tags for roles. */
  readonly roles: readonly string[];
  /** `[host_status] on_start`; unset, a new host keeps the organization's default status. */
  readonly onStart?: HostStatus;
  /** AUTO_RETIREMENT=1: the host is retired when the instance shuts down. */
  readonly autoRetirement?: boolean;
  /** An id file baked into the image: every instance of it claims this host. */
  readonly idFileHostId?: string;
}

export interface FakeImage {
  readonly id: string;
  readonly name: string;
  readonly ownerId: string;
  readonly createdAt: string;
  state: string;
  agent: AgentConfig;
}

export interface FakeInstance {
  readonly id: string;
  readonly imageId: string;
  readonly subnetId: string;
  readonly az: string;
  readonly vpcId: string;
  /** Absent for seeded instances. */
  readonly instanceType?: string;
  readonly tags: Record<string, string>;
  readonly launchedAt: number;
  /** agent-silent: its agent never registers. */
  readonly agentSilent: boolean;
  state: InstanceState;
  terminatedAt?: number;
}

export interface FakeTarget {
  readonly id: string;
  state: TargetState;
  reason?: string;
  readonly failing: boolean;
  flapsLeft: number;
  /** Bumped on every change: a transition scheduled for an older state is skipped. */
  generation: number;
}

export interface FakeTargetGroup {
  readonly arn: string;
  readonly vpcId: string;
  targetType: string;
  loadBalancerArns: string[];
  deregistrationDelay: number;
  readonly targets: Map<string, FakeTarget>;
  /** The fewest healthy targets at any instant since seeding: invariant 5. */
  minHealthy: number;
}

export interface FakeLoadBalancer {
  readonly arn: string;
  readonly name: string;
  readonly azs: Set<string>;
}

export interface FakeHost {
  readonly id: string;
  readonly name: string;
  status: HostStatus;
  isRetired: boolean;
  /** `<instance-id>.ec2.amazonaws.com`, as the agent sets it on EC2. */
  readonly customIdentifier?: string;
  /** meta.cloud.metadata["instance-id"]: the instance whose agent wrote last. */
  instanceId?: string;
  /** Service → roles. */
  readonly roles: Record<string, string[]>;
}

/** A change, in the sandbox's event vocabulary, so src/sandbox's evidence and invariants apply to both. */
export interface WorldEvent {
  readonly t: number;
  readonly type: string;
  readonly instanceId?: string;
  readonly hostId?: string;
  readonly status?: string;
  readonly targetGroupArn?: string;
}

export interface World {
  readonly clock: FakeClock;
  readonly timing: Timing;
  /** Fake ms per ms of AWS's own timing (1 unless scaled to keep pace with the sandbox); AWS's settings are shown unscaled. */
  readonly timeScale: number;
  readonly region: string;
  readonly images: Map<string, FakeImage>;
  readonly subnets: Map<string, Subnet>;
  readonly loadBalancers: Map<string, FakeLoadBalancer>;
  readonly targetGroups: Map<string, FakeTargetGroup>;
  readonly instances: Map<string, FakeInstance>;
  readonly hosts: Map<string, FakeHost>;
  /** Mackerel service → roles it knows. */
  readonly services: Map<string, Set<string>>;
  readonly annotations: Record<string, unknown>[];
  /** RunInstances ClientToken → the request's fingerprint and what it launched. */
  readonly clientTokens: Map<string, { readonly fingerprint: string; readonly ids: readonly string[] }>;
  readonly events: WorldEvent[];
  /** The sandbox's faults, with the same meaning. */
  readonly faults: FaultBox;
  readonly settings: { defaultHostStatus: HostStatus; targetsPerGroup: number };
  /** Port calls that fail (or hang) whatever the services say: the adapters' retries gave up, or a bug. */
  readonly callFaults: CallFault[];
  /** Requests that met a request fault, by fault type; RunInstances that launched but lost their answer. */
  readonly stats: { faultsMet: Record<string, number>; lostLaunches: number; requests: number };
  /** Deterministic randomness (retry jitter). */
  random(): number;
  /** Applies every transition due by now; returns now. */
  advance(): number;
  schedule(at: number, run: (t: number) => void): void;
  record(event: WorldEvent): void;
  nextId(kind: 'i' | 'ami' | 'host'): string;
  inject(...faults: Fault[]): void;
}

export type PortName = 'fleet' | 'balancer' | 'monitor' | 'journal';

/** A port call that throws `error` (or, with `hang`, waits until its deadline) instead of reaching the world. */
export interface CallFault {
  readonly port: PortName;
  readonly method: string;
  /** How many calls it meets; Infinity: every one. */
  times: number;
  readonly error?: () => Error;
  readonly hang?: boolean;
  /** Only calls whose arguments it accepts. */
  readonly when?: (args: readonly unknown[]) => boolean;
}

/** mulberry32: small, fast, and the same sequence for the same seed. */
const prng = (seed: number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

export const createWorld = (clock: FakeClock, options: { timeScale?: number; region?: string; seed?: number } = {}): World => {
  const timeScale = options.timeScale ?? 1;
  const timeline = createTimeline();
  const counters = new Map<string, number>();
  const random = prng(options.seed ?? 1);
  const faults = createFaultBox();
  return {
    clock,
    timing: scaleTiming(AWS_TIMING, timeScale),
    timeScale,
    region: options.region ?? 'ap-northeast-1',
    images: new Map(),
    subnets: new Map(),
    loadBalancers: new Map(),
    targetGroups: new Map(),
    instances: new Map(),
    hosts: new Map(),
    services: new Map(),
    annotations: [],
    clientTokens: new Map(),
    events: [],
    faults,
    settings: { defaultHostStatus: 'standby', targetsPerGroup: 1000 },
    callFaults: [],
    stats: { faultsMet: {}, lostLaunches: 0, requests: 0 },
    random,
    advance() {
      const now = clock.now();
      timeline.runUntil(now);
      return now;
    },
    schedule: (at, run) => timeline.schedule(at, run),
    record(event) {
      this.events.push(event);
    },
    nextId: (kind) => {
      const n = (counters.get(kind) ?? 0) + 1;
      counters.set(kind, n);
      return kind === 'host' ? `fkh${n.toString(36).padStart(8, '0')}` : `${kind}-0${n.toString(16).padStart(16, '0')}`;
    },
    inject: (...added) => faults.add(added),
  };
};
