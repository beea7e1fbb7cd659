import type { DeployRecord } from './record.js';

// The engine's view of the world. Adapters in src/aws and src/mackerel implement these;
// every method takes `call` so a deadline or a signal reaches the socket.

export interface Call {
  readonly signal: AbortSignal;
}

export type InstanceState = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';

/** AWS is ending the instance, or has: it will never serve again. */
export const isEnding = (state: InstanceState): boolean => state === 'shutting-down' || state === 'terminated';

/** Neither booting nor running: a new instance in these states is lost to the deploy. */
export const LOST_STATES: readonly InstanceState[] = ['shutting-down', 'terminated', 'stopping', 'stopped'];

export const isLost = (state: InstanceState): boolean => LOST_STATES.includes(state);

export interface Instance {
  readonly id: string;
  readonly state: InstanceState;
  readonly az: string;
  readonly subnetId: string;
  readonly vpcId: string;
  readonly imageId: string;
  /** ISO-8601, as EC2 sends it. */
  readonly launchedAt: string;
  readonly tags: Readonly<Record<string, string>>;
}

export interface Image {
  readonly id: string;
  readonly name: string;
  readonly state: string;
  /** ISO-8601, as EC2 sends it. */
  readonly createdAt: string;
}

export type ImageSelector = { readonly id: string } | { readonly owners: readonly string[]; readonly name: string };

export interface Subnet {
  readonly id: string;
  readonly az: string;
  readonly vpcId: string;
}

/** The instance metadata service (IMDS) options of a launch. */
export interface MetadataOptions {
  /** `required`: IMDSv2 only. */
  readonly httpTokens: 'required' | 'optional';
  readonly httpPutResponseHopLimit: number;
  readonly instanceMetadataTags?: 'enabled' | 'disabled';
}

export type VolumeType = 'gp3' | 'gp2' | 'io1' | 'io2' | 'st1' | 'sc1';

/** An EBS volume of a launch. */
export interface BlockDevice {
  readonly deviceName: string;
  /** GiB. */
  readonly volumeSize: number;
  readonly volumeType: VolumeType;
  readonly iops?: number;
  /** MiB/s, gp3 only. */
  readonly throughput?: number;
  readonly encrypted?: boolean;
  readonly kmsKeyId?: string;
  readonly deleteOnTermination?: boolean;
}

/** An EC2 launch template and the version to launch: a number, or resolved to one at plan time. */
export type LaunchTemplateChoice = ({ readonly id: string } | { readonly name: string }) & {
  readonly version: number | '$Latest' | '$Default';
};

/** One version of a launch template, with what the tool reads of its data. */
export interface LaunchTemplateVersion {
  readonly id: string;
  readonly name: string;
  readonly version: number;
  readonly instanceType?: string;
  /** Its SecurityGroupIds, used when the role names none. */
  readonly securityGroupIds?: readonly string[];
  /** Its KeyName, used when the role names none. */
  readonly keyName?: string;
  /** Its tag specifications for instances. */
  readonly tags: Readonly<Record<string, string>>;
  /** Set when its network interfaces fix a subnet or security groups: the tool cannot choose the subnet per AZ. */
  readonly fixedNetwork?: string;
}

export interface LaunchRequest {
  readonly imageId: string;
  readonly instanceType: string;
  readonly subnetId: string;
  readonly count: number;
  /** Empty: the launch template's. */
  readonly securityGroupIds: readonly string[];
  /** Its data under the request's own parameters. */
  readonly launchTemplate?: { readonly id: string; readonly version: number };
  /** Absent: the launch template's (or EC2's defaults). */
  readonly metadataOptions?: MetadataOptions;
  readonly blockDevices?: readonly BlockDevice[];
  readonly iamInstanceProfile?: string;
  readonly keyName?: string;
  /** Plain text; the adapter encodes it. */
  readonly userData?: string;
  readonly tags: Readonly<Record<string, string>>;
  /** At most 64 ASCII characters; the same token returns the same instances. */
  readonly clientToken: string;
}

/** EC2. */
export interface Fleet {
  /** Proves the credentials and the region work (DryRun DescribeInstances). */
  checkAccess(call: Call): Promise<void>;
  /** DryRun: resolves when this launch would be allowed; changes nothing. */
  mayLaunch(request: LaunchRequest, call: Call): Promise<void>;
  /** DryRun: resolves when terminating these instances would be allowed; changes nothing. */
  mayTerminate(ids: readonly string[], call: Call): Promise<void>;
  /** The newest `available` image matching the selector; throws when none matches. */
  resolveImage(selector: ImageSelector, call: Call): Promise<Image>;
  /** Adds a launch permission for another account to an image this account owns (ModifyImageAttribute). */
  shareImage(imageId: string, accountId: string, call: Call): Promise<void>;
  /** The images that still exist, in any state; deregistered or unknown ids are left out, not thrown. */
  images(ids: readonly string[], call: Call): Promise<Image[]>;
  subnets(ids: readonly string[], call: Call): Promise<Subnet[]>;
  /** The version chosen (`$Latest` and `$Default` resolved to its number); throws a UsageError when the template or version does not exist. */
  launchTemplate(choice: LaunchTemplateChoice, call: Call): Promise<LaunchTemplateVersion>;
  launch(request: LaunchRequest, call: Call): Promise<Instance[]>;
  /** Instances that exist, in any state; unknown ids are left out, not thrown. */
  describe(ids: readonly string[], call: Call): Promise<Instance[]>;
  /**
   * Instances carrying tag `key` = `value` (or any of the values), not yet terminated (or, with `withTerminated`, terminated ones EC2 still
   * shows too; or, with `states`, only those in these states). Paged by the API, not by instance.
   */
  findByTag(
    key: string,
    value: string | readonly string[],
    call: Call,
    options?: { readonly withTerminated?: boolean; readonly states?: readonly InstanceState[] },
  ): Promise<Instance[]>;
  terminate(ids: readonly string[], call: Call): Promise<void>;
  /** Adds or overwrites tags on instances. */
  tag(ids: readonly string[], tags: Readonly<Record<string, string>>, call: Call): Promise<void>;
  /** Removes each tag `key` from instances where it has exactly `value`. */
  untag(ids: readonly string[], tags: Readonly<Record<string, string>>, call: Call): Promise<void>;
}

/** What the account has room for, read without changing anything: EC2's own facts and the Service Quotas vCPU quota. */
export interface Capacity {
  /** The Running On-Demand Standard instances vCPU quota (Service Quotas `ec2` / L-1216C47A). */
  vcpuQuota(call: Call): Promise<number>;
  /** Each type's default vCPUs. */
  vcpus(types: readonly string[], call: Call): Promise<ReadonlyMap<string, number>>;
  /** The type of every pending or running instance of the account in the region, one entry per instance. */
  runningTypes(call: Call): Promise<string[]>;
  /** AZ → the types of `types` offered there. */
  offered(types: readonly string[], azs: readonly string[], call: Call): Promise<ReadonlyMap<string, ReadonlySet<string>>>;
  /** Subnet id → its free addresses. */
  freeAddresses(subnetIds: readonly string[], call: Call): Promise<ReadonlyMap<string, number>>;
  /** The ids of `ids` that name no security group. */
  missingSecurityGroups(ids: readonly string[], call: Call): Promise<string[]>;
  keyPairExists(name: string, call: Call): Promise<boolean>;
}

export interface TargetGroup {
  readonly arn: string;
  readonly vpcId: string;
  readonly targetType: string;
  /** Empty when no load balancer forwards to the group: its targets stay `unused`. */
  readonly loadBalancerArns: readonly string[];
  readonly deregistrationDelaySeconds: number;
}

export interface LoadBalancer {
  readonly arn: string;
  readonly name: string;
  /** The Availability Zones it is enabled in: targets elsewhere stay `unused`. */
  readonly azs: readonly string[];
}

export type TargetState = 'initial' | 'healthy' | 'unhealthy' | 'unused' | 'draining' | 'unavailable' | 'unhealthy.draining';

export interface TargetHealth {
  readonly id: string;
  readonly state: TargetState;
  readonly reason?: string;
}

/** ELBv2. */
export interface Balancer {
  /** Throws when any of the arns does not exist. */
  targetGroups(arns: readonly string[], call: Call): Promise<TargetGroup[]>;
  loadBalancers(arns: readonly string[], call: Call): Promise<LoadBalancer[]>;
  register(arn: string, instanceIds: readonly string[], call: Call): Promise<void>;
  deregister(arn: string, instanceIds: readonly string[], call: Call): Promise<void>;
  /** Every target of the group in one call. */
  health(arn: string, call: Call): Promise<TargetHealth[]>;
}

export type HostStatus = 'working' | 'standby' | 'maintenance' | 'poweroff';

export interface Host {
  readonly id: string;
  readonly name: string;
  readonly status: HostStatus;
  /** From the agent's EC2 metadata or its customIdentifier; absent for non-EC2 hosts. */
  readonly instanceId?: string;
  /** The instance its customIdentifier (`<instance-id>.ec2.amazonaws.com`) names, when it names one. */
  readonly identifiedAs?: string;
  /** `service:role`, as the agent's `roles` setting gave them. */
  readonly roles: readonly string[];
}

export interface Annotation {
  readonly service: string;
  readonly roles: readonly string[];
  readonly title: string;
  readonly description: string;
  /** Epoch milliseconds; the adapter converts to the API's seconds. */
  readonly from: number;
  readonly to: number;
}

/** The newest value of a host metric. */
export interface MetricValue {
  /** Epoch milliseconds; the adapter converts from the API's seconds. */
  readonly time: number;
  readonly value: number;
}

export type AlertStatus = 'OK' | 'CRITICAL' | 'WARNING' | 'UNKNOWN';

/** An open Mackerel alert, with only the fields the gates read. */
export interface Alert {
  readonly id: string;
  readonly status: AlertStatus;
  readonly monitorId: string;
  readonly type: string;
  /** Only for host-bound types (connectivity, host, check, anomalyDetection). */
  readonly hostId?: string;
  /** Epoch milliseconds. */
  readonly openedAt: number;
}

/** Mackerel. */
export interface Monitor {
  /** Every non-retired host of the role, whatever its status. */
  hosts(service: string, role: string, call: Call): Promise<Host[]>;
  /** Every non-retired host of the organization, whatever its roles and status: one call. */
  everyHost(call: Call): Promise<Host[]>;
  /** The non-retired host whose customIdentifier names this EC2 instance, whatever its roles and status. */
  hostOfInstance(instanceId: string, call: Call): Promise<Host | undefined>;
  setStatus(hostIds: readonly string[], status: HostStatus, call: Call): Promise<void>;
  /** Throws an ApiError with code 404 when any of them is unknown or already retired. */
  retire(hostIds: readonly string[], call: Call): Promise<void>;
  annotate(annotation: Annotation, call: Call): Promise<void>;
  /** Host id → the newest value of `metric`, for the hosts that have one; the others are left out. */
  latestMetrics(hostIds: readonly string[], metric: string, call: Call): Promise<Map<string, MetricValue>>;
  /** Every open alert of the organization, newest first (the API has no filter by host). */
  openAlerts(call: Call): Promise<Alert[]>;
}

/** The hooks a role may configure, at the phase boundaries of a deploy. */
export type HookName = 'beforeCutover' | 'beforeTerminate' | 'afterDeploy' | 'onRollback';

export interface HookRun {
  readonly name: HookName;
  /** A shell command line. */
  readonly command: string;
  /** Milliseconds; the command is killed when it runs longer, and that counts as a failure. */
  readonly timeout: number;
  /** Added to the environment the command inherits. */
  readonly env: Readonly<Record<string, string>>;
}

/** Undefined when the command exited 0; otherwise why it failed (`exited 3`, `timed out after 30s and was killed`). */
export type HookFailure = string | undefined;

/** Local commands: the CLI runs them as child processes, so the engine never spawns one itself. */
export interface Hooks {
  /** Runs the command to its end, passing each line it prints to `onLine`. */
  run(hook: HookRun, onLine: (line: string) => void, call: Call): Promise<HookFailure>;
}

export interface Clock {
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** A signal that aborts `ms` from now: every deadline of the engine, so a fake clock reaches them all. */
  deadline(ms: number): AbortSignal;
}

/** Durable deploy records, so another process can resume or roll back a deploy. */
export interface Journal {
  /** Writes atomically: a crash leaves the previous or the new record, never half of one. */
  save(record: DeployRecord): Promise<void>;
  load(deployId: string): Promise<DeployRecord | undefined>;
  list(): Promise<DeployRecord[]>;
  /**
   * Takes the deploy's lock for `holder`, atomically across the processes sharing the journal,
   * unless the holder it finds `keeps` it: returns that one then, undefined once taken (over).
   */
  lock(deployId: string, holder: Holder, keeps: (current: Holder) => boolean): Promise<Holder | undefined>;
  /** Frees the deploy's lock if `holder` still has it. */
  unlock(deployId: string, holder: Holder): Promise<void>;
  /** Who holds the deploy's lock, if anyone. */
  holder(deployId: string): Promise<Holder | undefined>;
}

/** A command working on a deploy: `resume`, `rollback`, `finish`, `shrink`, `cutover`. */
export interface Holder {
  /** `hostname:pid`. */
  readonly runner: string;
  readonly command: string;
  /** Epoch ms. */
  readonly since: number;
}

/** What is known of a runner's process: alive or gone when it ran on this machine, unknown when elsewhere. */
export type RunnerState = 'alive' | 'gone' | 'elsewhere';
