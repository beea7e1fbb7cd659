import { type Deployment, save, setStatus, timed } from './context.js';
import { retireOld, silenceAndDrain, terminateOld } from './cutover.js';
import { MARK_MS } from './deadlines.js';
import type { Phase } from './events.js';
import { message } from './errors.js';
import { launchAll } from './launch.js';
import { checkLock } from './lock.js';
import type { Leftover } from './leftovers.js';
import { type DeployRecord, type Step, isBefore, launchedIds, oldIds } from './record.js';
import { releaseOld, rollBackNew } from './rollback.js';
import { DONE, TAG_REPLACED_BY, TAG_STATE } from './tags.js';
import { verifyAll } from './verify.js';

export interface Summary {
  readonly deployId: string;
  readonly oldImageIds: readonly string[];
  readonly newImageId: string;
  readonly perAz: readonly { az: string; old: readonly string[]; new: readonly string[] }[];
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
    }
  /** A person must finish: each leftover names what is left and the command that finishes it. */
  | { readonly kind: 'incomplete'; readonly deployId: string; readonly reason: string; readonly leftovers: readonly Leftover[] }
  /** Stopped by a signal between two steps of the old fleet's retirement; `resume` finishes it. */
  | { readonly kind: 'interrupted'; readonly deployId: string; readonly step: Step };

/** Runs the deploy from `record.step` to the end, saving the record around every step. */
export const drive = async (run: Deployment): Promise<Outcome> => {
  if (isBefore(run.record.step, 'cutover')) {
    const deadline = run.deps.clock.deadline(run.spec.timeouts.total);
    try {
      await bringUp(run, AbortSignal.any([run.signal, deadline]));
    } catch (error) {
      if (run.signal.aborted) return undo(run, `interrupted by ${String(run.signal.reason)}`);
      if (deadline.aborted)
        return undo(run, `launch, register and verify ran past the ${Math.round(run.spec.timeouts.total / 1000)}s deadline`);
      return undo(run, message(error));
    }
  }
  return retireOldFleet(run);
};

/** Launch, register, verify: all of it can be undone, and an interrupt undoes it. */
const bringUp = async (run: Deployment, signal: AbortSignal): Promise<void> => {
  const { spec, deps, record } = run;
  const call = { signal };
  await setStatus(run, 'running');
  await enter(run, 'launch');
  await timed(run, 'launch', async () => {
    // Before anything is launched, so resume and rollback from another machine find the old fleet.
    await deps.fleet.tag(oldIds(record), { [TAG_REPLACED_BY]: record.deployId }, call);
    await launchAll(spec, record, deps, call, async (az, ids) => {
      record.launched[az] = ids;
      await save(run);
    });
  });
  // Two deploys that passed the lock at the same moment both see each other's instances now, and
  // each rolls itself back: neither may go on to retire the same old fleet.
  await checkLock(spec, deps, call, { self: record.deployId, forceUnlock: record.unlocked });
  const ids = launchedIds(record);
  if (spec.targetGroups.length > 0) {
    await enter(run, 'register');
    await timed(run, 'register', async () => {
      for (const arn of spec.targetGroups) {
        if (!record.registeredGroups.includes(arn)) record.registeredGroups.push(arn);
        await save(run);
        await deps.balancer.register(arn, ids, call);
      }
    });
  }
  await enter(run, 'verify');
  await timed(run, 'verify', () => verifyAll(spec, ids, deps, call));
  await enter(run, 'cutover');
};

/** Rolls the new side back and records how that ended. */
export const undo = async (run: Deployment, reason: string, requested = false): Promise<Outcome> => {
  const { record, deps } = run;
  record.reason = reason;
  await setStatus(run, 'rolling-back');
  deps.emit({ type: 'rollback.started', reason });
  const leftovers = await timed(run, 'rollback', async () => [...(await rollBackNew(run)), ...(await releaseOld(run))]);
  return recordOutcome(run, leftovers, { kind: 'rolled-back', deployId: record.deployId, reason, aborted: run.signal.aborted, requested });
};

/**
 * Past the point of no return: cutover, terminate, retire, then the new instances are marked done.
 * An interrupt waits for the step in flight and stops before the next; a step that leaves
 * something for a person ends the deploy incomplete.
 */
const retireOldFleet = async (run: Deployment): Promise<Outcome> => {
  const { record, deps } = run;
  const stopped =
    (await oldFleetStep(run, 'cutover', silenceAndDrain)) ??
    (await oldFleetStep(run, 'terminate', terminateOld)) ??
    (await oldFleetStep(run, 'retire', retireOld));
  if (stopped) return stopped;
  const call = { signal: deps.clock.deadline(MARK_MS) };
  const marked = await deps.fleet.tag(launchedIds(record), { [TAG_STATE]: DONE }, call).then(
    () => [],
    (error: unknown) => [
      {
        what: `could not mark the new instances done (${message(error)}); the next deploy will see this one as in flight`,
        fix: `aws ec2 create-tags --resources ${launchedIds(record).join(' ')} --tags Key=${TAG_STATE},Value=${DONE}`,
      },
    ],
  );
  await annotate(run);
  await enter(run, 'done');
  return recordOutcome(run, marked, { kind: 'replaced', summary: summarize(run) });
};

/** Runs one step of the old fleet's retirement unless done already; an outcome when the deploy stops there. */
const oldFleetStep = async (
  run: Deployment,
  step: Step & Phase,
  body: (run: Deployment) => Promise<Leftover[]>,
): Promise<Outcome | undefined> => {
  const { record } = run;
  if (isBefore(step, record.step)) return undefined;
  if (run.signal.aborted) {
    await setStatus(run, 'interrupted');
    return { kind: 'interrupted', deployId: record.deployId, step };
  }
  await enter(run, step);
  const leftovers = await timed(run, step, () => body(run));
  if (leftovers.length === 0) return undefined;
  record.reason = 'the new fleet is serving, but the old one was not fully retired';
  return recordOutcome(run, leftovers, { kind: 'replaced', summary: summarize(run) });
};

/** Records the final status: any leftover makes the deploy incomplete, whatever it was heading for. */
const recordOutcome = async (run: Deployment, leftovers: Leftover[], outcome: Outcome): Promise<Outcome> => {
  const { record } = run;
  record.leftovers = leftovers;
  if (leftovers.length > 0) {
    await setStatus(run, 'incomplete');
    const reason = outcome.kind === 'rolled-back' ? `${outcome.reason}; the rollback is incomplete` : (record.reason ?? 'incomplete');
    return { kind: 'incomplete', deployId: record.deployId, reason, leftovers };
  }
  await setStatus(run, outcome.kind === 'rolled-back' ? 'rolled-back' : 'replaced');
  return outcome;
};

const enter = (run: Deployment, step: Step): Promise<void> => {
  run.record.step = step;
  return save(run);
};

const summarize = (run: Deployment): Summary => {
  const { record } = run;
  const azs = [...new Set([...record.launches.map((l) => l.az), ...record.snapshot.map((m) => m.az)])];
  return {
    deployId: record.deployId,
    oldImageIds: oldImages(record),
    newImageId: record.image.id,
    perAz: azs.map((az) => ({
      az,
      old: record.snapshot.filter((member) => member.az === az).map((member) => member.instanceId),
      new: record.launched[az] ?? [],
    })),
    phaseMs: run.phaseMs,
    totalMs: run.deps.clock.now() - record.startedAt,
  };
};

const oldImages = (record: DeployRecord): string[] => [...new Set(record.snapshot.map((member) => member.imageId))];

/** A graph annotation marks the deploy on the role's graphs; failing to write it is only a warning. */
const annotate = async (run: Deployment): Promise<void> => {
  const { spec, deps, record } = run;
  try {
    await deps.monitor.annotate(
      {
        service: spec.service,
        roles: [spec.role],
        title: `mackerel-replacer: ${spec.role} replaced (${oldImages(record).join(', ') || 'none'} -> ${record.image.id})`,
        description: `deploy ${record.deployId}: ${record.snapshot.length} old -> ${launchedIds(record).length} new instances in ${spec.env}`,
        from: record.startedAt,
        to: deps.clock.now(),
      },
      { signal: deps.clock.deadline(MARK_MS) },
    );
  } catch (error) {
    deps.emit({ type: 'warning', message: `could not write the graph annotation: ${message(error)}` });
  }
};
