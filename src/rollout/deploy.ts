// One deploy, top to bottom: preflight, snapshot and plan (nothing changed yet), then the journal
// record and the rest of the flow: launch, register, verify (undone on any failure), cutover,
// terminate, retire (past the point of no return). How it ends is recorded in outcome.ts.
import { randomBytes } from 'node:crypto';
import { type Deployment, type Deps, announce, save, setStatus, timed } from './context.js';
import { retireOld, silenceAndDrain } from './cutover.js';
import { MARK_MS } from './deadlines.js';
import { JournalError, UsageError, message } from './errors.js';
import type { Phase } from './events.js';
import { runHook, runHookAfter, terminateAfterHook } from './hooks.js';
import { launchAll } from './launch.js';
import { pinTemplate, templateOf } from './launch-template.js';
import type { Leftover } from './leftovers.js';
import { checkHeadroom } from './headroom.js';
import { holdNewFleet, keepAndHold, registersNow, verifiedSpec } from './hold.js';
import { keepOldFleet } from './keep.js';
import { abandon, checkLock } from './lock.js';
import { type Outcome, annotate, recordOutcome, summarize } from './outcome.js';
import { type Plan, type ReviewedPlan, makePlan, planDifferences, reviewedPlan } from './plan.js';
import { checkPermissions, fullestGroup, preflight, quotaCheck } from './preflight.js';
import { type PromotionSource, beforeSharing, checkImageShared, findPromotion, shareImage, sharingChecks, shipSpec } from './promotion.js';
import type { LaunchRequest } from './ports.js';
import { type DeployRecord, type KeepPolicy, type Step, isBefore, launchedIds, oldIds, waveLaunches } from './record.js';
import { releaseOld, restoreOld, rollBackNew } from './rollback.js';
import { NotServing } from './serving.js';
import { type Snapshot, type SnapshotOptions, takeSnapshot } from './snapshot.js';
import type { RoleSpec } from './spec.js';
import { DONE, TAG_REPLACED_BY, TAG_STATE } from './tags.js';
import { verifyAll } from './verify.js';
import { planWaves } from './waves.js';
import { hasNextWave, nextWave, wavesDone } from './waves-run.js';

export type { Deps } from './context.js';
export type { Outcome, Summary } from './outcome.js';

export interface ReplaceOptions extends SnapshotOptions {
  readonly deployId: string;
  readonly dryRun: boolean;
  /** A deploy known dead whose lock is to be ignored. */
  readonly forceUnlock?: string;
  /** The plan an operator reviewed: the deploy goes ahead only if the world still gives exactly it. */
  readonly reviewed?: ReviewedPlan;
  /** `--var`: values for the user data's variables, over the role's `vars:`. */
  readonly vars?: Readonly<Record<string, string>>;
  /** `--promote-from`: launch the image and variables of this environment's last successful deploy of the role. */
  readonly promoteFrom?: string;
  /** Where the promoted deploy is read (default: this environment's own EC2). */
  readonly promotionSource?: PromotionSource;
  /** `--keep-old`: the rollback window, over the role's `keepOld:`. */
  readonly keepOld?: KeepPolicy;
  /** `--hold`: stop once the new fleet is verified; `cutover` goes on. */
  readonly hold?: boolean;
}

/** What newDeployId makes. */
export const DEPLOY_ID = /^[0-9]{8}-[0-9]{6}-[0-9a-f]{4}$/;

/** `20261123-153600-3fa9`: sortable, short enough for ClientTokens, unique enough per env/role. */
export const newDeployId = (now: number): string => {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(2).toString('hex')}`;
};

/**
 * A new deploy: preflight → snapshot → plan, then (unless a dry run) the journal record and the
 * rest of the flow. Throws only before anything was changed.
 */
export const replace = async (
  given: RoleSpec,
  options: ReplaceOptions,
  deps: Deps,
  signal: AbortSignal,
): Promise<Outcome | { readonly kind: 'planned'; readonly plan: Plan; readonly snapshot: Snapshot; readonly reviewed: ReviewedPlan }> => {
  const { deployId } = options;
  const startedAt = deps.clock.now();
  const phaseMs = {};
  const early = { deps, phaseMs };
  announce(deps, 'replace', deployId, given);
  const call = { signal };
  const source = options.promotionSource ?? { fleet: deps.fleet, shareImage: false };
  // The RunInstances DryRuns of an image still to share, run once it is shared.
  const dryRuns: LaunchRequest[] = [];
  const { spec, vars, promotion, resolved, toShare, seen } = await timed(early, 'preflight', async () => {
    const promoted =
      options.promoteFrom === undefined
        ? undefined
        : await findPromotion({ env: options.promoteFrom, role: given.role }, source.fleet, call);
    const promotion = promoted && source.accounts ? { ...promoted, accounts: source.accounts } : promoted;
    if (promotion) deps.emit({ type: 'promotion.found', promotion });
    const toShare = promotion !== undefined && (await checkImageShared(promotion, source, deps.fleet, call));
    const seen = toShare ? { ...deps, fleet: beforeSharing(deps.fleet, source.fleet, dryRuns) } : deps;
    const shipped = shipSpec(given, options.vars ?? {}, promotion);
    const found = await preflight(shipped.spec, seen, call);
    const shipping = found.template ? { ...shipped, spec: pinTemplate(shipped.spec, found.template) } : shipped;
    if (options.dryRun) return { ...shipping, promotion, resolved: found, toShare, seen };
    await checkLock(shipping.spec, deps, call, { forceUnlock: options.forceUnlock });
    const lock = `no other deploy of ${given.env}/${given.role} is in flight`;
    return { ...shipping, promotion, resolved: { ...found, checks: [...found.checks, lock] }, toShare, seen };
  });
  deps.emit({ type: 'image.resolved', image: resolved.image });
  const snapshot = await timed(early, 'snapshot', () => takeSnapshot(spec, resolved.subnets, deps, call, options));
  deps.emit({ type: 'snapshot.taken', members: snapshot.members, images: snapshot.images });
  const plan = await timed(early, 'plan', async () => {
    const made = {
      ...makePlan(spec, deployId, resolved.image, resolved.subnets, snapshot),
      vars,
      ...(promotion && { promotion }),
      ...(spec.instanceTypes && { instanceTypes: spec.instanceTypes }),
    };
    if (options.reviewed) {
      const differences = planDifferences(options.reviewed, reviewedPlan(spec, made, snapshot));
      if (differences.length > 0) {
        throw new UsageError(
          `the role changed since the plan was reviewed:\n  ${differences.join('\n  ')}`,
          'review a new plan (mackerel-replacer plan --out FILE) and apply that one',
        );
      }
    }
    const targets = await fullestGroup(spec, deps.balancer, call);
    const waves = planWaves(made, snapshot.members, { batch: spec.batch, canary: spec.canary, targets }, spec.targetGroups.length > 0);
    const { keep, hold } = keepAndHold(spec, options);
    if (waves.waves.length > 1 && (keep || hold)) {
      throw new UsageError(
        `this deploy runs in ${waves.waves.length} waves${waves.forcedBy ? ` (forced by ${waves.forcedBy})` : ''}, and ${keep ? 'a rollback window (keepOld, --keep-old)' : '--hold'} is not supported in waves`,
        'deploy in one wave (no --batch or --canary), or without keeping the old fleet or holding',
      );
    }
    const quota = targets ? [quotaCheck(targets, made.newCount, waves.waves.length)] : [];
    const headroom = await checkHeadroom(
      spec,
      waves.waves.length > 1 ? waves.waves.map((wave) => wave.launches) : [made.launches],
      seen,
      call,
    );
    const permissions = await checkPermissions(spec, made, snapshot, seen, call, {
      write: !options.dryRun,
      startedAt,
      runner: deps.runner,
    });
    const checks = [...resolved.checks, ...snapshot.checks, ...made.checks, ...quota, ...headroom, ...permissions];
    const checked = { ...made, checks: toShare && promotion ? sharingChecks(checks, promotion) : checks };
    return waves.waves.length > 1 ? { ...checked, waves } : checked;
  });
  deps.emit({ type: 'plan.made', plan });
  if (options.dryRun) return { kind: 'planned', plan, snapshot, reviewed: reviewedPlan(spec, plan, snapshot) };
  if (toShare && promotion) await shareImage(promotion, source, deps.fleet, dryRuns, call);

  const record: DeployRecord = {
    version: 1,
    deployId,
    env: spec.env,
    role: spec.role,
    service: spec.service,
    runner: deps.runner,
    startedAt,
    updatedAt: startedAt,
    status: 'running',
    step: 'launch',
    image: resolved.image,
    ...(spec.pinnedTemplate && { launchTemplate: templateOf(spec.pinnedTemplate) }),
    vars: spec.vars ?? {},
    ...(promotion && { promotedFrom: { env: promotion.env, deployId: promotion.deployId } }),
    snapshot: snapshot.members,
    staleHosts: snapshot.stale.map((host) => host.hostId),
    launches: plan.launches,
    launched: {},
    launchBucket: spec.launchBucket,
    launchedChunks: {},
    registeredGroups: [],
    cutoverBegun: false,
    terminated: [],
    leftovers: [],
    ...(options.forceUnlock && { unlocked: options.forceUnlock }),
    ...(plan.waves && { waves: plan.waves.waves, wave: 0, served: {} }),
    ...keepAndHold(spec, options),
  };
  if (options.forceUnlock) await abandon(deps, options.forceUnlock);
  await deps.journal.save(record);
  return drive({ spec, deps, record, subnets: resolved.subnets, drainMs: resolved.drainMs, signal, phaseMs });
};

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
  if (run.record.hold) return holdNewFleet(run);
  try {
    return await retireOldFleet(run);
  } catch (error) {
    if (!(error instanceof JournalError)) throw error;
    // As a signal does here: what was done stays done, and resume carries the rest from the step recorded.
    run.record.reason = `stopped at ${run.record.step}: ${error.message}`;
    return recordOutcome(run, [], { kind: 'interrupted', deployId: run.record.deployId, step: run.record.step });
  }
};

/** Launch, register, verify: all of it can be undone, and an interrupt undoes it. */
const bringUp = async (run: Deployment, signal: AbortSignal): Promise<void> => {
  const { spec, deps, record } = run;
  const call = { signal };
  await setStatus(run, 'running');
  if (record.waves) {
    const wave = record.wave ?? 0;
    deps.emit({ type: 'wave.started', wave: wave + 1, of: record.waves.length, launches: waveLaunches(record), old: oldIds(record) });
  }
  await enter(run, 'launch');
  await timed(run, 'launch', async () => {
    // Before anything is launched, so resume and rollback from another machine find the old fleet.
    await deps.fleet.tag(oldIds(record), { [TAG_REPLACED_BY]: record.deployId }, call);
    await launchAll(
      spec,
      { ...record, launches: waveLaunches(record) },
      deps,
      call,
      async (chunk, ids) => {
        record.launchedChunks = { ...record.launchedChunks, [chunk.clientToken]: { ids, at: deps.clock.now() } };
        record.launched[chunk.az] = [...new Set([...(record.launched[chunk.az] ?? []), ...ids])];
        await save(run);
      },
      async (az, instanceType) => {
        record.launchTypes = { ...record.launchTypes, [az]: instanceType };
        await save(run);
      },
    );
  });
  // Two deploys that passed the lock at the same moment both see each other's instances now, and
  // each rolls itself back: neither may go on to retire the same old fleet.
  await checkLock(spec, deps, call, { self: record.deployId, forceUnlock: record.unlocked });
  const ids = launchedIds(record);
  if (spec.targetGroups.length > 0 && registersNow(record)) {
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
  await timed(run, 'verify', () => verifyAll(verifiedSpec(spec, record), record.deployId, ids, deps, call));
  const failure = await runHook(run, 'beforeCutover', signal);
  if (failure !== undefined) throw new Error(failure);
  await enter(run, 'cutover');
};

/** Rolls the new side back and records how that ended. */
export const undo = async (run: Deployment, reason: string, requested = false): Promise<Outcome> => {
  const { record, deps } = run;
  record.reason = reason;
  await setStatus(run, 'rolling-back');
  deps.emit({ type: 'rollback.started', reason });
  const { leftovers, undone } = await timed(run, 'rollback', async () => {
    const rolled = await rollBackNew(run);
    return { ...rolled, leftovers: [...rolled.leftovers, ...(await releaseOld(run))] };
  });
  await annotate(run, leftovers.length > 0 ? `rollback incomplete: ${reason}` : `rolled back: ${reason}`);
  await runHookAfter(run, 'onRollback');
  const waves = wavesDone(record);
  return recordOutcome(run, leftovers, {
    kind: 'rolled-back',
    deployId: record.deployId,
    reason,
    aborted: run.signal.aborted,
    requested,
    undone,
    ...(waves && { waves }),
  });
};

/**
 * Puts the old fleet back in service (registered, hosts as they were, targets healthy for
 * `stableFor`) and only then removes the new side. When an old instance is already terminated the
 * old fleet cannot be as it was: those still running serve again beside the new ones, and a person decides.
 */
export const putBackOld = async (run: Deployment, reason: string, requested = false): Promise<Outcome> => {
  const { record } = run;
  if (record.cutoverBegun) {
    const leftovers = await timed(run, 'restore', () => restoreOld(run));
    if (leftovers.length > 0) {
      record.leftovers = leftovers;
      await setStatus(run, 'incomplete');
      return {
        kind: 'incomplete',
        deployId: record.deployId,
        reason: 'could not restore the old fleet; the new one is left in place',
        leftovers,
      };
    }
  }
  const gone = oldIds(record).filter((id) => record.terminated.includes(id));
  if (gone.length === 0) return undo(run, reason, requested);
  record.reason = reason;
  const leftovers = [
    {
      what: `${reason}; old instances ${gone.join(', ')} were already terminated, so the old instances still running serve again beside the new ones`,
      fix: `mackerel-replacer status ${record.deployId}, then mackerel-replacer resume ${record.deployId} once every new instance serves again`,
    },
  ];
  return recordOutcome(run, leftovers, { kind: 'incomplete', deployId: record.deployId, reason, leftovers });
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
    (record.keep && (await keepOldFleet(run))) ??
    (await oldFleetStep(run, 'terminate', terminateAfterHook)) ??
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
  if (marked.length === 0 && hasNextWave(record)) {
    const next = await nextWave(run);
    return next ?? drive(run);
  }
  await annotate(run, 'replaced');
  await enter(run, 'done');
  await runHookAfter(run, 'afterDeploy');
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
  let leftovers: Leftover[];
  try {
    leftovers = await timed(run, step, () => body(run));
  } catch (error) {
    if (error instanceof NotServing) return putBackOld(run, error.message);
    throw error;
  }
  if (leftovers.length === 0) return undefined;
  record.reason = 'the new fleet is serving, but the old one was not fully retired';
  return recordOutcome(run, leftovers, { kind: 'replaced', summary: summarize(run) });
};

const enter = (run: Deployment, step: Step): Promise<void> => {
  run.record.step = step;
  return save(run);
};
