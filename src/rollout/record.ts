import type { Leftover } from './leftovers.js';
import type { PinnedTemplate } from './launch-template.js';
import type { LaunchBucket, LaunchedChunk } from './pacing.js';
import type { AzLaunch } from './plan.js';
import type { Image } from './ports.js';
import type { Member } from './snapshot.js';
import type { Wave } from './waves.js';

/**
 * Where a deploy stands; the one place the statuses are described. Only setStatus (context.ts)
 * changes it. The open ones (running, interrupted, rolling-back, incomplete) hold the role's lock.
 */
export type DeployStatus =
  /** A process is taking it forward (or was, until it died). */
  | 'running'
  /** Stopped by a signal between two steps after verification; `resume` finishes it. */
  | 'interrupted'
  /** Undoing the new side; `resume` or `rollback` finishes that. */
  | 'rolling-back'
  /** The new side was undone; the old fleet is as it was. */
  | 'rolled-back'
  /** The new fleet serves, the old one is gone. */
  | 'replaced'
  /** Something is left for a person: the record's leftovers name it and the command that finishes it. */
  | 'incomplete'
  /** The new fleet serves; the old one is deregistered, its hosts in standby, kept running: `finish`, `shrink` or `rollback` (keep.ts). */
  | 'kept'
  /** The new fleet is up and verified beside the old one, which still serves: `cutover` or `rollback` (hold.ts). */
  | 'held'
  /** Declared dead by `--force-unlock` on a later deploy. */
  | 'abandoned';

/** The next step to run (or the one in flight when the process stopped). */
export type Step = 'launch' | 'register' | 'verify' | 'cutover' | 'terminate' | 'retire' | 'done';

export const STEPS: readonly Step[] = ['launch', 'register', 'verify', 'cutover', 'terminate', 'retire', 'done'];

/** Everything needed to resume or roll back a deploy from another process. Written after every step. */
export interface DeployRecord {
  readonly version: 1;
  readonly deployId: string;
  readonly env: string;
  readonly role: string;
  readonly service: string;
  /** `hostname:pid` of the process that started the deploy. */
  readonly runner: string;
  /** Epoch ms. */
  readonly startedAt: number;
  updatedAt: number;
  status: DeployStatus;
  step: Step;
  readonly image: Image;
  /** The launch template's version the deploy launches, resolved at plan time: a resume relaunches exactly it. */
  readonly launchTemplate?: PinnedTemplate;
  /** The values filled into the user data's variables (absent in records written before they existed: none). */
  readonly vars?: Readonly<Record<string, string>>;
  /** The deploy whose image and variables this one promoted. */
  readonly promotedFrom?: { readonly env: string; readonly deployId: string };
  readonly snapshot: readonly Member[];
  /** Hosts whose instance was already gone (--allow-stale): retired in the retire step, never terminated. */
  readonly staleHosts?: readonly string[];
  readonly launches: readonly AzLaunch[];
  /** AZ → the instance type launched there, or being tried (recorded before each RunInstances). */
  launchTypes?: Record<string, string>;
  /** AZ → new instance ids, as EC2 returned them. */
  launched: Record<string, string[]>;
  /** The launch bucket the deploy paced to (absent in records written before pacing: the config's). */
  readonly launchBucket?: LaunchBucket;
  /** ClientToken → what that chunk launched and when: a resume never sends a recorded chunk again. */
  launchedChunks?: Record<string, LaunchedChunk>;
  registeredGroups: string[];
  /** Once true, the old hosts may be in maintenance and deregistered. */
  cutoverBegun: boolean;
  /** Worker mode: epoch ms when the old hosts' workerDrain ends, recorded when it starts. */
  workerDrainUntil?: number;
  /** Old instances terminated. After the first, the deploy can no longer be rolled back. */
  terminated: string[];
  reason?: string;
  /** A dead deploy whose lock this one was told to ignore (`--force-unlock`). */
  readonly unlocked?: string;
  leftovers: Leftover[];
  /** Set when the deploy runs in more than one wave; `launches` is then the whole plan. */
  readonly waves?: readonly Wave[];
  /** The wave in flight (0-based); `launched`, `registeredGroups` and `cutoverBegun` are its. */
  wave?: number;
  /** AZ → new instance ids of the waves completed: in service, never undone. */
  served?: Record<string, string[]>;
  /** `--keep-old`: after cutover the old fleet is kept running, not terminated (cleared by `finish`). */
  keep?: KeepPolicy;
  /** Epoch ms when the old fleet began to be kept. */
  keptSince?: number;
  /** `--hold`: the deploy stops once the new fleet is verified (cleared by `cutover`). */
  hold?: HoldPolicy;
}

export interface KeepPolicy {
  /** The rollback window, milliseconds. */
  readonly forMs: number;
  /** `then: finish`: the first deploy of the role after the window finishes this one; otherwise commands only say the window ended. */
  readonly finishWhenOver?: true;
}

export interface HoldPolicy {
  /** Register the new targets before cutover, beside the old ones. */
  readonly register: boolean;
}

/** The new instances of the wave in flight (of the deploy, when it runs in one wave). */
export const launchedIds = (record: DeployRecord): string[] => Object.values(record.launched).flat();

/** The old instances the wave in flight replaces (the snapshot, when the deploy runs in one wave). */
export const oldMembers = (record: DeployRecord): readonly Member[] => {
  const wave = record.waves?.[record.wave ?? 0];
  return wave ? record.snapshot.filter((member) => wave.old.includes(member.instanceId)) : record.snapshot;
};

export const oldIds = (record: DeployRecord): string[] => oldMembers(record).map((member) => member.instanceId);

/** What the wave in flight launches. */
export const waveLaunches = (record: DeployRecord): readonly AzLaunch[] => record.waves?.[record.wave ?? 0]?.launches ?? record.launches;

/** New instances of completed waves. */
export const servedIds = (record: DeployRecord): string[] => Object.values(record.served ?? {}).flat();

/** Statuses that hold the role's lock: the deploy may still change the world. */
export const isOpen = (record: DeployRecord): boolean =>
  record.status === 'running' ||
  record.status === 'interrupted' ||
  record.status === 'rolling-back' ||
  record.status === 'incomplete' ||
  record.status === 'held';

export const isBefore = (step: Step, other: Step): boolean => STEPS.indexOf(step) < STEPS.indexOf(other);
