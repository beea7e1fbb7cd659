// `resume <id>` and `rollback <id>`: finish or undo a deploy from its journal record, or from its
// instances' tags when the journal is gone, re-observing the world rather than trusting memory.
import { type Deps, type Deployment, announce, setStatus } from './context.js';
import { type Outcome, drive, putBackOld, undo } from './deploy.js';
import { UsageError } from './errors.js';
import { drainTimeout } from './preflight.js';
import type { DeployAction } from './events.js';
import { reportEndedWindows } from './keep.js';
import { type DeployRecord, isBefore, oldIds, servedIds } from './record.js';
import { recoverRecord } from './recovery.js';
import { retryTransient } from './transient.js';
import type { RoleSpec } from './spec.js';
import { pinTemplate } from './launch-template.js';
import { fillUserData } from './template.js';
import { DONE, TAG_DEPLOY, TAG_STATE } from './tags.js';

export type Finished = { readonly kind: 'finished'; readonly deployId: string; readonly status: DeployRecord['status'] };

export const load = async (
  action: DeployAction,
  spec: RoleSpec,
  deployId: string,
  deps: Deps,
  signal: AbortSignal,
): Promise<Deployment> => {
  const call = { signal };
  const record =
    (await deps.journal.load(deployId)) ??
    (await retryTransient(deps, signal, () => recoverRecord(spec, deployId, deps, deps.clock.now(), call)));
  if (!record) {
    throw new UsageError(
      `no deploy ${deployId} in the journal, and no instance in AWS carries its tag`,
      'check the id (mackerel-replacer status lists the journal) and --journal-dir',
    );
  }
  if (record.env !== spec.env || record.role !== spec.role) {
    throw new UsageError(
      `deploy ${deployId} is of ${record.env}/${record.role}, not ${spec.env}/${spec.role}`,
      `pass --env ${record.env} --role ${record.role}`,
    );
  }
  const [subnets, groups] = await retryTransient(deps, signal, () =>
    Promise.all([deps.fleet.subnets(spec.subnets, call), deps.balancer.targetGroups(spec.targetGroups, call)]),
  );
  announce(deps, action, deployId, spec);
  deps.emit({ type: 'record.loaded', image: record.image, members: record.snapshot, launched: record.launched });
  reportEndedWindows(
    (await deps.journal.list()).filter((other) => other.deployId !== deployId),
    spec,
    deps,
  );
  return { spec, deps, record, subnets, drainMs: drainTimeout(spec, groups), signal, phaseMs: {} };
};

export const finishedAlready = (record: DeployRecord): Finished | undefined =>
  record.status === 'replaced' || record.status === 'rolled-back' || record.status === 'abandoned'
    ? { kind: 'finished', deployId: record.deployId, status: record.status }
    : undefined;

/**
 * The record is evidence, AWS is the truth: before the new side is removed, every old instance
 * must still run (else the new ones may be the role's only fleet), and no new one may be tagged
 * done (a finished deploy's fleet, whatever its record says).
 */
const checkUndoable = async (run: Deployment): Promise<void> => {
  const { deps, record, signal } = run;
  const call = { signal };
  const old = oldIds(record);
  const [described, tagged] = await retryTransient(deps, signal, () =>
    Promise.all([deps.fleet.describe(old, call), deps.fleet.findByTag(TAG_DEPLOY, record.deployId, call)]),
  );
  const running = new Set(described.filter((i) => i.state === 'running').map((i) => i.id));
  const gone = old.filter((id) => record.terminated.includes(id) || !running.has(id));
  if (gone.length > 0) {
    throw new UsageError(
      `deploy ${record.deployId} can no longer be rolled back: old instances ${gone.join(', ')} are terminated or not running, so the new ones may be all the role has`,
      `finish it instead: mackerel-replacer ${record.status === 'kept' ? 'finish' : 'resume'} ${record.deployId}`,
    );
  }
  // Earlier waves' instances are done and stay in service; only the wave in flight is undone.
  const served = new Set(servedIds(record));
  const done = tagged.filter((instance) => instance.tags[TAG_STATE] === DONE && !served.has(instance.id)).map((instance) => instance.id);
  if (done.length > 0) {
    throw new UsageError(
      `deploy ${record.deployId} finished in AWS (instances ${done.join(', ')} are tagged ${TAG_STATE}=${DONE}), but its record says ${record.status}: the record disagrees with AWS; nothing was changed`,
      `check the record and mackerel-replacer status ${record.deployId}; the instances tagged done serve the role`,
    );
  }
};

/** The spec with the user data filled in with the values the deploy recorded, whatever the config says now. */
const relaunchable = (spec: RoleSpec, record: DeployRecord): RoleSpec => {
  try {
    return fillUserData(spec, record.vars ?? {}, () => `deploy ${record.deployId}'s record`);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    throw new UsageError(
      `deploy ${record.deployId} cannot relaunch with the user data it recorded: ${error.message}`,
      `undo it instead: mackerel-replacer rollback ${record.deployId}`,
    );
  }
};

/** Continues from the step the deploy reached. Before cutover it re-verifies from launch: the instances the record holds are re-observed, not launched again. */
export const resumeDeploy = async (spec: RoleSpec, deployId: string, deps: Deps, signal: AbortSignal): Promise<Outcome | Finished> => {
  const run = await load('resume', spec, deployId, deps, signal);
  const { record } = run;
  const finished = finishedAlready(record);
  if (finished) return finished;
  if (record.status === 'rolling-back') {
    await checkUndoable(run);
    return undo(run, record.reason ?? 'resumed rollback');
  }
  refuseWindowed(record);
  return proceed(run);
};

/** Runs the deploy on from its step; before cutover it re-verifies from launch. */
export const proceed = async (run: Deployment): Promise<Outcome> => {
  const { record } = run;
  if (isBefore(record.step, 'cutover')) record.step = 'launch';
  // A relaunch must send what the first launch sent (its ClientTokens, its tags, its user data, its template version).
  const filled = isBefore(record.step, 'cutover') ? await pinnedAsRecorded(relaunchable(run.spec, record), run) : run.spec;
  await setStatus(run, 'running');
  return drive({ ...run, spec: filled });
};

/** The launch template at the version the deploy recorded, never `$Latest` or `$Default` read again. */
const pinnedAsRecorded = async (spec: RoleSpec, { record, deps, signal }: Deployment): Promise<RoleSpec> => {
  const recorded = record.launchTemplate;
  if (!recorded) return spec;
  return pinTemplate(spec, await deps.fleet.launchTemplate({ id: recorded.id, version: recorded.version }, { signal }));
};

/** A kept or held deploy waits for a person's decision; resume is not one. */
const refuseWindowed = (record: DeployRecord): void => {
  if (record.status === 'kept') {
    throw new UsageError(
      `deploy ${record.deployId} keeps the old fleet: there is nothing to resume`,
      `end it with mackerel-replacer finish ${record.deployId}, or undo it with mackerel-replacer rollback ${record.deployId}`,
    );
  }
  if (record.status === 'held') {
    throw new UsageError(
      `deploy ${record.deployId} is held before cutover: resume does not switch the traffic`,
      `switch with mackerel-replacer cutover ${record.deployId}, or undo it with mackerel-replacer rollback ${record.deployId}`,
    );
  }
};

/** Undoes the deploy; refuses once an old instance has been terminated, since the old fleet can no longer be restored. */
export const rollbackDeploy = async (spec: RoleSpec, deployId: string, deps: Deps, signal: AbortSignal): Promise<Outcome | Finished> => {
  const run = await load('rollback', spec, deployId, deps, signal);
  const { record } = run;
  const finished = finishedAlready(record);
  if (finished) return finished;
  await checkUndoable(run);
  return putBackOld(run, 'rolled back on request', true);
};
