import type { Outcome } from '../rollout/deploy.js';
import type { DeployEvent } from '../rollout/events.js';
import type { Finished } from '../rollout/resume.js';
import type { Plan } from '../rollout/plan.js';
import type { Snapshot } from '../rollout/snapshot.js';

/**
 * The last line of every `--json` run: how it ended and the process's exit code. `kind` is the
 * engine's outcome, or `error` for a refusal (exit 2), a bug (exit 1) or an interrupt before any
 * change.
 */
export type JsonOutcome =
  | { readonly kind: 'replaced'; readonly deployId: string; readonly summary: Extract<Outcome, { kind: 'replaced' }>['summary'] }
  | {
      readonly kind: 'planned';
      readonly deployId: string;
      readonly plan: Plan;
      readonly old: Snapshot['members'];
      readonly oldImages: Snapshot['images'];
      /** Present when the role has held deploys: their new instances, never counted as old. */
      readonly held?: Snapshot['held'];
    }
  | { readonly kind: 'finished'; readonly deployId: string; readonly status: Finished['status'] }
  | {
      readonly kind: 'rolled-back';
      readonly deployId: string;
      readonly reason: string;
      readonly requested: boolean;
      readonly aborted: boolean;
      readonly waves?: { readonly completed: number; readonly total: number };
      readonly journal?: { readonly what: string; readonly fix: string };
    }
  | {
      readonly kind: 'incomplete';
      readonly deployId: string;
      readonly reason: string;
      readonly leftovers: readonly { what: string; fix: string }[];
    }
  | { readonly kind: 'interrupted'; readonly deployId: string; readonly step: string }
  | { readonly kind: 'kept'; readonly deployId: string; readonly keptUntil: string; readonly kept: readonly string[] }
  | { readonly kind: 'held'; readonly deployId: string; readonly registered: boolean; readonly held: readonly string[] }
  | {
      readonly kind: 'nothing-to-recover';
      /** The role's kept deploys (and held ones, with --keep-held), left as they are. */
      readonly left: readonly { readonly deployId: string; readonly status: string; readonly why: string }[];
    }
  | { readonly kind: 'error'; readonly error: string; readonly hint?: string };

/** One NDJSON line: `type` first, then `ts` (ISO-8601), then the event's own fields. */
export const jsonEvent = (event: DeployEvent, now: number): string => {
  const { type, ...fields } = event;
  return JSON.stringify({ type, ts: new Date(now).toISOString(), ...fields });
};

/** The outcome line: `{"type":"outcome","ts":…,"kind":…,…,"exitCode":N}`. */
export const jsonOutcome = (outcome: JsonOutcome, exitCode: number, now: number): string =>
  JSON.stringify({ type: 'outcome', ts: new Date(now).toISOString(), ...outcome, exitCode });
