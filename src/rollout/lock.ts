import type { Deps } from './context.js';
import { UsageError, isTransient } from './errors.js';
import type { DeployAction } from './events.js';
import { type Call, type Holder, type RunnerState, isEnding } from './ports.js';
import { MARK_MS } from './deadlines.js';
import type { Outcome } from './outcome.js';
import { type DeployRecord, isOpen, launchedIds } from './record.js';
import { type Finished, finishedAlready } from './resume.js';
import { retryTransient } from './transient.js';
import { HELD, IN_FLIGHT, TAG_DEPLOY, TAG_LOCK, TAG_OWNER, TAG_RUNNER, TAG_STARTED, TAG_STATE, ownerValue } from './tags.js';
import type { RoleSpec } from './spec.js';

interface InFlight {
  readonly deployId: string;
  readonly startedAt: string;
  readonly runner: string;
  readonly status: string;
}

/**
 * One deploy per env and role: refuses while another is in flight, as the journal knows it or as
 * the in-flight tags on instances in AWS show it (a deploy started on another machine). Only
 * checks. `forceUnlock` names a deploy known dead, which is ignored (see abandon); `self` is the
 * deploy asking, once it has a record and instances of its own.
 */
export const checkLock = async (
  spec: RoleSpec,
  deps: Deps,
  call: Call,
  { forceUnlock, self }: { forceUnlock?: string; self?: string } = {},
): Promise<void> => {
  const others = new Map<string, InFlight>();
  for (const record of await deps.journal.list()) {
    if (record.env !== spec.env || record.role !== spec.role || !isOpen(record)) continue;
    if (record.deployId === self || record.deployId === forceUnlock) continue;
    const startedAt = new Date(record.startedAt).toISOString();
    others.set(record.deployId, {
      deployId: record.deployId,
      startedAt,
      runner: record.runner,
      status: `${describeStatus(record, deps.runnerState(record.runner))} at ${record.step}`,
    });
  }
  // A held deploy (hold.ts) is still open: it holds the lock as an in-flight one does.
  for (const instance of await deps.fleet.findByTag(TAG_STATE, [IN_FLIGHT, HELD], call)) {
    const deployId = instance.tags[TAG_DEPLOY];
    if (!deployId || instance.tags[TAG_OWNER] !== ownerValue(spec) || deployId === forceUnlock || deployId === self) continue;
    if (others.has(deployId)) continue;
    others.set(deployId, {
      deployId,
      startedAt: instance.tags[TAG_STARTED] ?? 'unknown',
      runner: instance.tags[TAG_RUNNER] ?? 'unknown',
      status: instance.tags[TAG_STATE] === HELD ? 'held (seen in AWS)' : 'in flight (seen in AWS)',
    });
  }
  const [other] = others.values();
  if (other) {
    throw new UsageError(
      `another deploy of ${spec.env}/${spec.role} is in flight: ${other.deployId}, started ${other.startedAt} on ${other.runner}, ${other.status}`,
      `finish it with "mackerel-replacer ${other.status.startsWith('held') ? 'cutover' : 'resume'} ${other.deployId}" or undo it with "mackerel-replacer rollback ${other.deployId}"; ` +
        `only if it is known dead and cleaned up: --force-unlock ${other.deployId}`,
    );
  }
};

/** `--force-unlock`: the operator says this deploy is dead and cleaned up; its record says so from now on. */
export const abandon = async (deps: Pick<Deps, 'journal'>, deployId: string): Promise<void> => {
  const record = await deps.journal.load(deployId);
  if (!record || !isOpen(record)) return;
  record.status = 'abandoned';
  await deps.journal.save(record);
};

/** A deploy's status as `status` and the lock's refusals say it: a runner this machine knows dead is said so. */
export const describeStatus = (record: Pick<DeployRecord, 'status'>, runner: RunnerState): string =>
  (record.status === 'running' || record.status === 'rolling-back') && runner === 'gone'
    ? `stopped (runner gone)${record.status === 'rolling-back' ? ' while rolling back' : ''}`
    : record.status;

/** `rollback on host:4242 since 2026-11-23T15:36:00.000Z`. */
export const describeHolder = (holder: Holder): string =>
  `${holder.command} on ${holder.runner} since ${new Date(holder.since).toISOString()}`;

/** Between writing the lock tag and reading it back: a command on another machine that read no tag has written its own by then. */
export const LOCK_SETTLE_MS = 1000;

const tagValue = (holder: Holder): string => describeHolder(holder).replace(' on ', ' ');

const holderOfTag = (value: string): Holder | undefined => {
  const [command, runner, since] = value.split(/ (?:since )?/);
  return command && runner && since ? { command, runner, since: Date.parse(since) } : undefined;
};

const busy = (deployId: string, holder: Holder, tagged: readonly string[] = []) =>
  new UsageError(
    `deploy ${deployId} is being worked on by ${describeHolder(holder)}`,
    `wait for it to end (mackerel-replacer status ${deployId} shows it), or stop it and try again` +
      (tagged.length > 0
        ? `; if it runs on another machine and is known dead: aws ec2 delete-tags --resources ${tagged.join(' ')} --tags Key=${TAG_LOCK}`
        : ''),
  );

/**
 * One command works on a deploy at a time, on any machine: `body` runs only once this process holds
 * the deploy's lock in the journal and in its new instances' tags, and frees both after. Another
 * live holder (or the replace that started the deploy, still running) refuses it; a holder known
 * dead is taken over. Reads that keep failing for a reason that may heal end the command incomplete
 * when the deploy has instances in flight: it was not "nothing changed" for them.
 */
export const holdDeploy = async (
  command: DeployAction,
  deployId: string,
  deps: Deps,
  signal: AbortSignal,
  body: () => Promise<Outcome | Finished>,
): Promise<Outcome | Finished> => {
  const me: Holder = { runner: deps.runner, command, since: deps.clock.now() };
  const keeps = (current: Holder) => current.runner !== me.runner && deps.runnerState(current.runner) !== 'gone';
  const other = await deps.journal.lock(deployId, me, keeps);
  if (other) throw busy(deployId, other);
  const record = await deps.journal.load(deployId).catch(async (error: unknown) => {
    await deps.journal.unlock(deployId, me);
    throw error;
  });
  let tagged: string[] = [];
  try {
    if (record && (record.status === 'running' || record.status === 'rolling-back') && deps.runnerState(record.runner) === 'alive') {
      throw busy(deployId, { command: 'replace', runner: record.runner, since: record.startedAt });
    }
    tagged = await retryTransient(deps, signal, () => lockInAws(deployId, me, keeps, deps, { signal }));
    return await body();
  } catch (error) {
    if (!isTransient(error) || !record || finishedAlready(record) || launchedIds(record).length === 0) throw error;
    return stuck(command, record, error);
  } finally {
    await releaseInAws(tagged, me, deps);
    await deps.journal.unlock(deployId, me);
  }
};

/** A recovery that could not go on, about a deploy whose new instances are in flight. */
const stuck = (command: DeployAction, record: DeployRecord, error: Error): Outcome => ({
  kind: 'incomplete',
  deployId: record.deployId,
  reason: `${command} could not go on: ${error.message}`,
  leftovers: [
    {
      what: `deploy ${record.deployId} is ${record.status} at ${record.step}, its new instances ${launchedIds(record).join(', ')} in flight`,
      fix: `mackerel-replacer ${command} ${record.deployId}`,
    },
  ],
});

/** Writes this command into the lock tag of the deploy's new instances, then reads it back: the last writer holds it. */
const lockInAws = async (deployId: string, me: Holder, keeps: (current: Holder) => boolean, deps: Deps, call: Call): Promise<string[]> => {
  const foreign = async () => {
    const instances = (await deps.fleet.findByTag(TAG_DEPLOY, deployId, call)).filter((instance) => !isEnding(instance.state));
    const holders = instances.map((instance) => holderOfTag(instance.tags[TAG_LOCK] ?? '')).filter((holder) => holder !== undefined);
    return {
      ids: instances.map((instance) => instance.id),
      other: holders.find((holder) => tagValue(holder) !== tagValue(me) && keeps(holder)),
    };
  };
  const { ids, other } = await foreign();
  if (other) throw busy(deployId, other, ids);
  if (ids.length === 0) return [];
  await deps.fleet.tag(ids, { [TAG_LOCK]: tagValue(me) }, call);
  await deps.clock.sleep(LOCK_SETTLE_MS, call.signal);
  const after = await foreign();
  if (after.other) throw busy(deployId, after.other, after.ids);
  return ids;
};

/** Removes the lock tag where it still names this command; one left by a failure here names a process that ended, and the refusal it causes says how to remove it. */
const releaseInAws = async (ids: readonly string[], me: Holder, deps: Deps): Promise<void> => {
  if (ids.length === 0) return;
  await deps.fleet.untag(ids, { [TAG_LOCK]: tagValue(me) }, { signal: deps.clock.deadline(MARK_MS) }).catch(() => undefined);
};
