import type { Image } from './ports.js';
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
  | { type: 'snapshot.taken'; members: readonly Member[] }
  | { type: 'plan.made'; plan: Plan }
  | { type: 'launch.done'; launch: AzLaunch; instanceIds: readonly string[] }
  | { type: 'launch.failed'; launch: AzLaunch; error: string }
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
  | { type: 'warning'; message: string };

export type Emit = (event: DeployEvent) => void;
