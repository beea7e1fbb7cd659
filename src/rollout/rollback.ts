import { type Deployment, save } from './context.js';
import { ROLLBACK_MS, namedDeadline } from './deadlines.js';
import { awaitDrained } from './drain.js';
import { message } from './errors.js';
import { type Leftover, orLeftover } from './leftovers.js';
import { type Call, type Monitor, isEnding } from './ports.js';
import { launchedIds, oldIds, oldMembers, servedIds } from './record.js';
import { retireHosts } from './retire.js';
import { TAG_DEPLOY, TAG_REPLACED_BY } from './tags.js';
import { goneVerdict, healthVerdict, stableVerdict } from './verdicts.js';
import { observeGroups } from './verify.js';
import { waitFor } from './wait.js';

/** The calls of a rollback: bound by its own deadline only, so an interrupt that caused it cannot stop it. */
const rollbackCall = (run: Deployment): Call => ({ signal: namedDeadline(run.deps.clock, ROLLBACK_MS, "the rollback's deadline") });

/**
 * What a rollback's waits listen to besides its deadline: a signal that comes while the rollback
 * runs (not the one that caused it) stops the wait, as it stops the deploy's own.
 */
const waitCall = (run: Deployment, call: Call): Call =>
  run.signal.aborted ? call : { signal: AbortSignal.any([call.signal, run.signal]) };

/**
 * Undoes the new side only: deregisters and drains the new targets, terminates the new instances
 * (also any launched under the deploy's tag whose answer never reached us) and retires their
 * Mackerel hosts. The old fleet is never touched. Returns what could not be undone, and how many
 * new instances there were to undo.
 */
export const rollBackNew = async (run: Deployment): Promise<{ readonly leftovers: Leftover[]; readonly undone: number }> => {
  const { spec, deps, record } = run;
  const call = rollbackCall(run);
  const waits = waitCall(run, call);
  const leftovers: Leftover[] = [];
  const ids = new Set(launchedIds(record));
  const served = new Set(servedIds(record));
  // Those AWS has ended have no connection left to drain; unknown (the listing failed), all are waited on.
  let ended = new Set<string>();
  await orLeftover(
    leftovers,
    `could not list instances tagged ${TAG_DEPLOY}=${record.deployId}`,
    `aws ec2 describe-instances --filters Name=tag:${TAG_DEPLOY},Values=${record.deployId}`,
    async () => {
      const listed = (await deps.fleet.findByTag(TAG_DEPLOY, record.deployId, call)).filter((instance) => !served.has(instance.id));
      for (const instance of listed) ids.add(instance.id);
      const live = new Set(listed.filter((instance) => !isEnding(instance.state)).map((instance) => instance.id));
      ended = new Set([...ids].filter((id) => !live.has(id)));
    },
  );
  const newIds = [...ids];
  if (newIds.length === 0) return { leftovers, undone: 0 };
  const leftBefore = leftovers.length;
  for (const arn of record.registeredGroups) {
    await orLeftover(
      leftovers,
      `new targets ${newIds.join(', ')} may still be registered in ${arn}`,
      `aws elbv2 deregister-targets --target-group-arn ${arn} --targets ${newIds.map((id) => `Id=${id}`).join(' ')}`,
      () => deps.balancer.deregister(arn, newIds, call),
    );
  }
  if (record.registeredGroups.length > 0) {
    if (leftovers.length === leftBefore) deps.emit({ type: 'instances.marked', mark: 'deregistered', ids: newIds });
    // Drained first so requests in flight on a new instance finish; a drain that never ends
    // must not keep new instances running, so termination follows either way.
    await awaitDrained(
      spec,
      newIds.filter((id) => !ended.has(id)),
      deps,
      waits,
      'rollback',
      run.drainMs,
    ).catch((error: unknown) =>
      deps.emit({ type: 'warning', message: `terminating the new instances before they drained: ${message(error)}` }),
    );
  }
  const terminated = await orLeftover(
    leftovers,
    `new instances ${newIds.join(', ')} may still be running`,
    `aws ec2 terminate-instances --instance-ids ${newIds.join(' ')}`,
    () => deps.fleet.terminate(newIds, call),
  );
  if (terminated) {
    deps.emit({ type: 'step.done', phase: 'rollback', what: 'terminated the new instances', ids: newIds });
    deps.emit({ type: 'instances.marked', mark: 'terminated', ids: newIds });
    // An agent that saw its instance running a moment ago may still register; once the instance
    // is terminated it cannot, so the hosts are listed only then.
    await waitFor(async () => goneVerdict(newIds, await deps.fleet.findByTag(TAG_DEPLOY, record.deployId, waits)), {
      clock: deps.clock,
      interval: spec.pollInterval,
      timeout: spec.timeouts.launch,
      signal: waits.signal,
      what: 'new instances terminated',
      report: { emit: deps.emit, phase: 'rollback' },
    }).catch((error: unknown) =>
      deps.emit({ type: 'warning', message: `retiring the new hosts before their instances ended: ${message(error)}` }),
    );
  }
  await orLeftover(
    leftovers,
    `the new instances' Mackerel hosts may still be registered`,
    // Which hosts is what Mackerel did not say: a rollback run again finds and retires them.
    `mackerel-replacer rollback ${record.deployId}`,
    async () => {
      const newHosts = await retireHosts(spec, deps.monitor, (host) => host.instanceId !== undefined && ids.has(host.instanceId), call);
      if (newHosts.length > 0) deps.emit({ type: 'step.done', phase: 'rollback', what: 'retired the new Mackerel hosts', ids: newHosts });
      // An agent configured with other roles (often why verification failed) registered outside the role's listing.
      const elsewhere = await hostsOfInstances(deps.monitor, newIds, call);
      if (elsewhere.length > 0) {
        await deps.monitor.retire(elsewhere, call);
        deps.emit({
          type: 'step.done',
          phase: 'rollback',
          what: 'retired the new Mackerel hosts registered under other roles',
          ids: elsewhere,
        });
      }
    },
  );
  return { leftovers, undone: newIds.length };
};

/** The live hosts that name these instances by customIdentifier, a few look-ups at a time. */
const hostsOfInstances = async (monitor: Monitor, instanceIds: readonly string[], call: Call): Promise<string[]> => {
  const found = new Set<string>();
  for (let i = 0; i < instanceIds.length; i += 10) {
    const hosts = await Promise.all(instanceIds.slice(i, i + 10).map((id) => monitor.hostOfInstance(id, call)));
    for (const host of hosts) if (host) found.add(host.id);
  }
  return [...found];
};

/** Takes the deploy's mark off the old instances, where it is still this deploy's. */
export const releaseOld = async (run: Deployment): Promise<Leftover[]> => {
  const { deps, record } = run;
  const leftovers: Leftover[] = [];
  const ids = oldIds(record);
  if (ids.length === 0) return leftovers;
  await orLeftover(
    leftovers,
    `could not remove the tag ${TAG_REPLACED_BY} from the old instances`,
    `aws ec2 delete-tags --resources ${ids.join(' ')} --tags Key=${TAG_REPLACED_BY},Value=${record.deployId}`,
    () => deps.fleet.untag(ids, { [TAG_REPLACED_BY]: record.deployId }, rollbackCall(run)),
  );
  return leftovers;
};

/**
 * Undoes a cutover: registers the old instances not terminated again, restores their Mackerel
 * status, and waits until they are healthy, so capacity is back before the new side goes.
 */
export const restoreOld = async (run: Deployment): Promise<Leftover[]> => {
  const { spec, deps, record } = run;
  const call = rollbackCall(run);
  const waits = waitCall(run, call);
  const leftovers: Leftover[] = [];
  const members = oldMembers(record).filter((member) => !record.terminated.includes(member.instanceId));
  const ids = members.map((member) => member.instanceId);
  // The old fleet goes back into service: a deploy resumed after this must cut over again.
  record.step = 'cutover';
  for (const arn of spec.targetGroups) {
    await orLeftover(
      leftovers,
      `could not register the old targets again in ${arn}`,
      `aws elbv2 register-targets --target-group-arn ${arn} --targets ${ids.map((id) => `Id=${id}`).join(' ')}`,
      () => deps.balancer.register(arn, ids, call),
    );
  }
  for (const status of new Set(members.map((member) => member.hostStatus))) {
    const hostIds = members.filter((member) => member.hostStatus === status).map((member) => member.hostId);
    await orLeftover(leftovers, `could not set the old hosts back to ${status}`, `mkr update --status ${status} ${hostIds.join(' ')}`, () =>
      deps.monitor.setStatus(hostIds, status, call),
    );
  }
  if (leftovers.length > 0 || spec.targetGroups.length === 0) return leftovers;
  // The new fleet still serves: finishing the deploy forward is always a way out.
  const fix = `check the old instances, then mackerel-replacer rollback ${record.deployId} again; or keep the new fleet: mackerel-replacer resume ${record.deployId}`;
  // As verification trusts new targets only once stable, so the rollback trusts the old ones again.
  let healthySince: number | undefined;
  await orLeftover(leftovers, 'the old targets did not become healthy again', fix, () =>
    waitFor(
      async () => {
        const verdict = healthVerdict(ids, await observeGroups(deps.balancer, spec.targetGroups, waits));
        const now = deps.clock.now();
        healthySince = verdict.kind === 'passed' ? (healthySince ?? now) : undefined;
        return stableVerdict(verdict, healthySince, now, spec.stableFor);
      },
      {
        clock: deps.clock,
        interval: spec.pollInterval,
        timeout: spec.timeouts.verify,
        signal: waits.signal,
        what: 'old targets healthy again',
        report: { emit: deps.emit, phase: 'restore' },
      },
    ),
  );
  record.cutoverBegun = leftovers.length > 0;
  await save(run);
  return leftovers;
};
