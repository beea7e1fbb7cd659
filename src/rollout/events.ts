import type { HookName, Image } from './ports.js';
import type { AzLaunch, Plan } from './plan.js';
import type { Promotion } from './promotion.js';
import type { Member } from './snapshot.js';

export type Phase =
  | 'preflight'
  | 'snapshot'
  | 'plan'
  | 'launch'
  | 'register'
  | 'verify'
  | 'cutover'
  | 'terminate'
  | 'retire'
  | 'rollback'
  | 'restore'
  | 'keep'
  | 'shrink';

export type Mode = 'web' | 'worker';

/** A moment in an instance's life that a deploy observes, each reported once per instance, when first seen. */
export type Mark = 'running' | 'registered' | 'healthy' | 'deregistered' | 'drained' | 'terminated';
export type DeployAction = 'replace' | 'resume' | 'rollback' | 'finish' | 'shrink' | 'cutover';

/** What the engine tells the world; only src/cli renders these. */
export type DeployEvent =
  | {
      type: 'deploy.started';
      action: DeployAction;
      deployId: string;
      env: string;
      role: string;
      service: string;
      mode: Mode;
    }
  | { type: 'phase.started'; phase: Phase }
  | { type: 'phase.done'; phase: Phase; ms: number }
  | { type: 'promotion.found'; promotion: Promotion }
  | { type: 'image.resolved'; image: Image }
  | { type: 'snapshot.taken'; members: readonly Member[]; images: readonly Image[] }
  | { type: 'plan.made'; plan: Plan }
  /** A deploy in waves starts wave `wave` (1-based) of `of`. */
  | { type: 'wave.started'; wave: number; of: number; launches: readonly AzLaunch[]; old: readonly string[] }
  | { type: 'launch.done'; launch: AzLaunch; instanceIds: readonly string[]; instanceType: string }
  | { type: 'launch.failed'; launch: AzLaunch; error: string }
  /** `resume` and `rollback`: the old fleet, image and new instances the deploy's record holds. */
  | {
      type: 'record.loaded';
      image: Image;
      members: readonly Member[];
      launched: Readonly<Record<string, readonly string[]>>;
    }
  | { type: 'instances.marked'; mark: Mark; ids: readonly string[] }
  /** Some of the plan waits for EC2's launch bucket to refill; `remainingMs` is how long that takes. */
  | { type: 'launch.paced'; launched: number; total: number; refillPerSecond: number; remainingMs: number }
  | {
      type: 'waiting';
      phase: Phase;
      what: string;
      done: number;
      total: number;
      pending: readonly string[];
      /** How long this wait has lasted, by the engine's clock. */
      elapsedMs: number;
      /** When it gives up; absent when it has no deadline of its own. */
      timeoutMs?: number;
    }
  | { type: 'step.done'; phase: Phase; what: string; ids: readonly string[] }
  | { type: 'rollback.started'; reason: string }
  | { type: 'hook.started'; hook: HookName; command: string }
  /** One line the hook's command printed (stdout or stderr). */
  | { type: 'hook.output'; hook: HookName; line: string }
  | { type: 'hook.done'; hook: HookName; ms: number; failure?: string }
  | { type: 'warning'; message: string };

export type Emit = (event: DeployEvent) => void;
