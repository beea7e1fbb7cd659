import type { LaunchBucket } from './pacing.js';
import type {
  AlertStatus,
  BlockDevice,
  HookName,
  ImageSelector,
  LaunchTemplateChoice,
  LaunchTemplateVersion,
  MetadataOptions,
} from './ports.js';
import type { HoldPolicy, KeepPolicy } from './record.js';
import type { UserDataTemplate } from './template.js';
import type { Batch } from './waves.js';

/** Everything the engine needs to replace one role of one environment, resolved from the config. */
export interface RoleSpec {
  readonly env: string;
  readonly role: string;
  /** Mackerel service name; the role is `role` within it. */
  readonly service: string;
  readonly ami: ImageSelector;
  /**
   * The preferred instance type: `instanceTypes[0]` when the role lists several. Absent only with a
   * launch template, until the deploy pins its version (pinTemplate): then the template's.
   */
  readonly instanceType?: string;
  /** Types to fall back to, in order, where an AZ has no capacity for the one before. */
  readonly instanceTypes?: readonly string[];
  /** One per Availability Zone. */
  readonly subnets: readonly string[];
  /** Empty: the launch template's. */
  readonly securityGroupIds: readonly string[];
  /** `launchTemplate:` as the config names it. */
  readonly launchTemplate?: LaunchTemplateChoice;
  /** The launch template's version this deploy launches, resolved once at plan time (pinTemplate). */
  readonly pinnedTemplate?: LaunchTemplateVersion;
  /** Absent with a launch template and no `metadataOptions:`: the template's. */
  readonly metadataOptions?: MetadataOptions;
  /** Absent: the image's (or the launch template's) own mappings. */
  readonly blockDevices?: readonly BlockDevice[];
  readonly iamInstanceProfile?: string;
  readonly keyName?: string;
  /** The user data launched: `userDataFile` with its variables filled in. */
  readonly userData?: string;
  /** `userDataFile` as read, for filling in with a deploy's values (see fillUserData). */
  readonly template?: UserDataTemplate;
  /** The values filled into `userData`: recorded with the deploy and tagged on its instances. */
  readonly vars?: Readonly<Record<string, string>>;
  readonly tags: Readonly<Record<string, string>>;
  /** The tag every instance of the role carries; only instances carrying it are ever terminated. */
  readonly ownership: { readonly tag: string; readonly value: string };
  /** More instances in the snapshot or the plan than this refuses the deploy: a typo must not match another fleet nor launch thousands. */
  readonly maxInstances: number;
  /** New instances per AZ, or `match` to copy the old fleet's distribution. */
  readonly perAz: number | 'match';
  /** `verify.roleGrace`, ms: a new host without the role is taken as not registered yet this long, then fails. Unset: none. */
  readonly roleGrace?: number;
  /** Milliseconds every new target must stay healthy, without a break, to pass verification. */
  readonly stableFor: number;
  /** Mackerel gates beside registration and target health; with any, `stableFor` covers every gate, workers' too. */
  readonly gates?: {
    readonly metrics?: { readonly name: string; readonly maxAge: number };
    readonly alerts?: { readonly statuses: readonly AlertStatus[] };
  };
  /** Empty: worker mode (Mackerel registration is the only gate). */
  readonly targetGroups: readonly string[];
  /** Milliseconds. */
  readonly timeouts: {
    readonly launch: number;
    readonly verify: number;
    /** Unset: the longest deregistration delay of the role's target groups, plus a margin. */
    readonly drain?: number;
    /** A new target continuously `unhealthy` this long fails verification before `verify` runs out. */
    readonly unhealthy: number;
    /** The deadline for launch, register and verify together. */
    readonly total: number;
  };
  /** At cutover, set the new hosts `working` before the old ones go to `maintenance`, or keep their status. */
  readonly newHostStatus: 'working' | 'keep';
  /** The quota of targets per target group (old and new targets must fit). */
  readonly targetsPerGroup: number;
  /** `limits.vcpu`: the On-Demand Standard vCPU quota, stated where the credentials may not read Service Quotas. */
  readonly vcpuQuota?: number;
  /** EC2's RunInstances resource bucket for the account and Region (`limits.launchBurst`, `limits.launchRefillPerSecond`). */
  readonly launchBucket: LaunchBucket;
  /** Worker mode: milliseconds between setting the old hosts `maintenance` and terminating them. */
  readonly workerDrain?: number;
  /** Local commands at phase boundaries; `timeout` in milliseconds. */
  readonly hooks?: Partial<Record<HookName, { readonly command: string; readonly timeout: number }>>;
  /** `keepOld:` the rollback window after cutover; absent: the old fleet is terminated at once. */
  readonly keepOld?: KeepPolicy;
  /** `hold:` how `replace --hold` treats the new fleet before cutover. */
  readonly hold?: HoldPolicy;
  /** Milliseconds between two polls of EC2, ELBv2 or Mackerel while waiting. */
  readonly pollInterval: number;
  /** Replace the fleet in waves of this size (`batch`, `--batch`); unset: one wave, unless a limit forces more. */
  readonly batch?: Batch;
  /** `--canary N`: N new instances in the first AZ, verified and cut over before the rest. */
  readonly canary?: number;
}
