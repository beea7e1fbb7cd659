// How a deploy ends: its outcome, recorded in the journal, summarized and marked on the graphs.
import { type Deployment, setStatus } from './context.js';
import { MARK_MS } from './deadlines.js';
import { message } from './errors.js';
import type { Phase } from './events.js';
import type { Leftover } from './leftovers.js';
import { type DeployRecord, type Step, launchedIds, servedIds } from './record.js';

export interface Summary {
  readonly deployId: string;
  readonly oldImageIds: readonly string[];
  readonly newImageId: string;
  readonly perAz: readonly { az: string; old: readonly string[]; new: readonly string[]; instanceType?: string }[];
  readonly phaseMs: Readonly<Partial<Record<Phase, number>>>;
  readonly totalMs: number;
}

export type Outcome =
  | { readonly kind: 'replaced'; readonly summary: Summary }
  /** The new instances were undone; the old fleet is as it was. */
  | {
      readonly kind: 'rolled-back';
      readonly deployId: string;
      readonly reason: string;
      readonly aborted: boolean;
      readonly requested: boolean;
      /** How many new instances there were to terminate (none when the first launch failed). */
      readonly undone: number;
      /** A deploy in waves: the waves before the one rolled back completed and stay in service. */
      readonly waves?: { readonly completed: number; readonly total: number };
      /** The journal could not record the rollback: its error, and the command that settles the record. */
      readonly journal?: Leftover;
    }
  /** A person must finish: each leftover names what is left and the command that finishes it. */
  | { readonly kind: 'incomplete'; readonly deployId: string; readonly reason: string; readonly leftovers: readonly Leftover[] }
  /** The new fleet serves; the old one is kept running until `keptUntil` (epoch ms): `finish`, `shrink` or `rollback`. */
  | { readonly kind: 'kept'; readonly deployId: string; readonly keptUntil: number; readonly kept: readonly string[] }
  /** The new fleet is verified beside the old one, which still serves: `cutover` or `rollback`. */
  | { readonly kind: 'held'; readonly deployId: string; readonly registered: boolean; readonly held: readonly string[] }
  /** Stopped by a signal between two steps of the old fleet's retirement; `resume` finishes it. */
  | { readonly kind: 'interrupted'; readonly deployId: string; readonly step: Step };

/**
 * Records the final status: any leftover makes the deploy incomplete, whatever it was heading for.
 * A journal that failed is a leftover too, unless the deploy was rolled back all the same.
 */
export const recordOutcome = async (run: Deployment, left: Leftover[], outcome: Outcome): Promise<Outcome> => {
  const { record } = run;
  const undone = outcome.kind === 'rolled-back';
  const command = undone ? 'rollback' : 'resume';
  const before = journalLeftover(run, command);
  const leftovers = before && (!undone || left.length > 0) ? [...left, before] : left;
  record.leftovers = leftovers;
  if (leftovers.length > 0) {
    await setStatus(run, 'incomplete');
    const reason = undone ? `${outcome.reason}; the rollback is incomplete` : (record.reason ?? 'incomplete');
    return { kind: 'incomplete', deployId: record.deployId, reason, leftovers };
  }
  await setStatus(run, undone ? 'rolled-back' : outcome.kind === 'kept' ? 'kept' : 'replaced');
  // The journal may fail at this very save.
  const journal = journalLeftover(run, command);
  if (!journal) return outcome;
  if (undone) return { ...outcome, journal };
  return {
    kind: 'incomplete',
    deployId: record.deployId,
    reason: record.reason ?? 'the journal could not record how it ended',
    leftovers: [journal],
  };
};

/** What a failed journal leaves: a record that still says where the deploy was when the journal failed. */
const journalLeftover = (run: Deployment, command: 'rollback' | 'resume'): Leftover | undefined =>
  run.journalFailure === undefined
    ? undefined
    : {
        what: `the journal could not record the deploy (${run.journalFailure}); its record there is out of date`,
        fix: `mackerel-replacer ${command} ${run.record.deployId}`,
      };

export const summarize = (run: Deployment): Summary => {
  const { record } = run;
  const azs = [...new Set([...record.launches.map((l) => l.az), ...record.snapshot.map((m) => m.az)])];
  return {
    deployId: record.deployId,
    oldImageIds: oldImages(record),
    newImageId: record.image.id,
    perAz: azs.map((az) => ({
      az,
      old: record.snapshot.filter((member) => member.az === az).map((member) => member.instanceId),
      new: [...(record.served?.[az] ?? []), ...(record.launched[az] ?? [])],
      ...(record.launchTypes?.[az] && { instanceType: record.launchTypes[az] }),
    })),
    phaseMs: run.phaseMs,
    totalMs: run.deps.clock.now() - record.startedAt,
  };
};

const oldImages = (record: DeployRecord): string[] => [...new Set(record.snapshot.map((member) => member.imageId))];

/**
 * A graph annotation marks a deploy that launched anything on the role's graphs, saying how it
 * ended (`replaced`, or `rolled back: <reason>`); failing to write it is only a warning.
 */
export const annotate = async (run: Deployment, ending: string): Promise<void> => {
  const { spec, deps, record } = run;
  const launched = servedIds(record).length + launchedIds(record).length;
  if (launched === 0) return;
  const images = `${oldImages(record).join(', ') || 'none'} -> ${record.image.id}`;
  try {
    await deps.monitor.annotate(
      {
        service: spec.service,
        roles: [spec.role],
        title: `mackerel-replacer: ${spec.role} ${ending} (${images})`,
        description: `deploy ${record.deployId} ${ending}: ${record.snapshot.length} old -> ${launched} new instances in ${spec.env}, image ${images}`,
        from: record.startedAt,
        to: deps.clock.now(),
      },
      { signal: deps.clock.deadline(MARK_MS) },
    );
  } catch (error) {
    deps.emit({ type: 'warning', message: `could not write the graph annotation: ${message(error)}` });
  }
};
