// The old fleet's retirement, after verification. Each step is idempotent, so `resume` can run
// it again after a crash; each returns what it left for a person instead of throwing.
import { type Deployment, save } from './context.js';
import { STEP_MS, namedDeadline } from './deadlines.js';
import { describeRest } from './describe-rest.js';
import { awaitDrained } from './drain.js';
import { message } from './errors.js';
import { type Leftover, orLeftover } from './leftovers.js';
import { ownershipProblem } from './ownership.js';
import { type Instance, isEnding } from './ports.js';
import { launchedIds, oldIds, oldMembers } from './record.js';
import { retireHosts } from './retire.js';
import { TAG_REPLACED_BY } from './tags.js';
import { awaitWorkerDrain } from './worker-drain.js';

/**
 * New hosts to `working` (alerting covers them), then old hosts to `maintenance` (silences their
 * alerts), old targets deregistered and drained.
 */
export const silenceAndDrain = async (run: Deployment): Promise<Leftover[]> => {
  const { spec, deps, record } = run;
  const leftovers: Leftover[] = [];
  const call = { signal: namedDeadline(deps.clock, run.drainMs + STEP_MS, "the cutover step's deadline") };
  if (spec.newHostStatus === 'working') {
    const newIds = new Set(launchedIds(record));
    await orLeftover(
      leftovers,
      'could not set the new hosts working, so the old ones were not silenced',
      `mackerel-replacer resume ${record.deployId}`,
      async () => {
        const hosts = await deps.monitor.hosts(spec.service, spec.role, call);
        const idle = hosts.filter((host) => host.instanceId !== undefined && newIds.has(host.instanceId) && host.status !== 'working');
        await deps.monitor.setStatus(
          idle.map((host) => host.id),
          'working',
          call,
        );
        if (idle.length > 0)
          deps.emit({ type: 'step.done', phase: 'cutover', what: 'set the new hosts working', ids: idle.map((host) => host.id) });
      },
    );
    if (leftovers.length > 0) return leftovers;
  }
  record.cutoverBegun = true;
  await save(run);
  const hostIds = oldMembers(record).map((member) => member.hostId);
  await deps.monitor.setStatus(hostIds, 'maintenance', call).then(
    () => deps.emit({ type: 'step.done', phase: 'cutover', what: 'set the old hosts maintenance', ids: hostIds }),
    (error: unknown) =>
      deps.emit({ type: 'warning', message: `could not set the old hosts to maintenance (their alerts stay on): ${message(error)}` }),
  );
  if (spec.targetGroups.length === 0) {
    await awaitWorkerDrain(run);
    return leftovers;
  }
  const ids = oldIds(record);
  if (ids.length === 0) return leftovers;
  for (const arn of spec.targetGroups) {
    await orLeftover(leftovers, `could not deregister the old targets from ${arn}`, `mackerel-replacer resume ${record.deployId}`, () =>
      deps.balancer.deregister(arn, ids, call),
    );
  }
  if (leftovers.length > 0) return leftovers;
  deps.emit({ type: 'step.done', phase: 'cutover', what: 'deregistered the old targets', ids });
  deps.emit({ type: 'instances.marked', mark: 'deregistered', ids });
  // A signal stops the wait, not the deploy's record of it: the step stays cutover, and resume drains again.
  const waits = { signal: AbortSignal.any([call.signal, run.signal]) };
  await awaitDrained(spec, ids, deps, waits, 'cutover', run.drainMs).catch((error: unknown) => {
    if (run.signal.aborted) return;
    leftovers.push({
      what: `old instances ${ids.join(', ')} are deregistered but still running: ${message(error)}`,
      fix: `mackerel-replacer resume ${record.deployId}, once they have drained`,
    });
  });
  return leftovers;
};

/**
 * Terminates the snapshot's instances (or `only` these of them), each re-checked against EC2
 * ownership right before. One that fails the check is skipped and reported; one already going
 * away counts as done.
 */
export const terminateOld = async (run: Deployment, only?: readonly string[]): Promise<Leftover[]> => {
  const { spec, deps, record, subnets } = run;
  const leftovers: Leftover[] = [];
  const call = { signal: deps.clock.deadline(STEP_MS) };
  const ids = (only ?? oldIds(record)).filter((id) => !record.terminated.includes(id));
  let instances: Map<string, Instance>;
  try {
    // The deploy tagged its old instances before launching: one listing of that tag describes them,
    // and only those it lacks (terminated, or untagged since) are asked for by id.
    const tagged = await deps.fleet.findByTag(TAG_REPLACED_BY, record.deployId, call);
    instances = await describeRest(deps.fleet, ids, tagged, call);
  } catch (error) {
    return [{ what: `could not re-check the old instances: ${message(error)}`, fix: `mackerel-replacer resume ${record.deployId}` }];
  }
  const owned: string[] = [];
  for (const id of ids) {
    const instance = instances.get(id);
    if (!instance) {
      deps.emit({ type: 'warning', message: `old instance ${id} is no longer visible in EC2; nothing to terminate` });
      record.terminated.push(id);
      continue;
    }
    const problem = ownershipProblem(spec, subnets, instance);
    if (problem) {
      leftovers.push({
        what: `skipped ${id}: it ${problem}`,
        fix: `check ${id}; terminate it by hand only if it really is an old ${spec.role}`,
      });
    } else if (isEnding(instance.state)) {
      record.terminated.push(id);
    } else {
      owned.push(id);
    }
  }
  const done = await orLeftover(
    leftovers,
    `could not terminate the old instances ${owned.join(', ')}`,
    `mackerel-replacer resume ${record.deployId}`,
    () => deps.fleet.terminate(owned, call),
  );
  if (done && owned.length > 0) {
    record.terminated.push(...owned);
    deps.emit({ type: 'step.done', phase: 'terminate', what: 'terminated the old instances', ids: owned });
    deps.emit({ type: 'instances.marked', mark: 'terminated', ids: owned });
  }
  await save(run);
  return leftovers;
};

/** Retires the Mackerel hosts of the old instances that were terminated, and the stale hosts allowed (not yet retired). */
export const retireOld = async (run: Deployment): Promise<Leftover[]> => {
  const { spec, deps, record } = run;
  const leftovers: Leftover[] = [];
  const call = { signal: deps.clock.deadline(STEP_MS) };
  const gone = new Set(record.terminated);
  const wanted = new Set(record.snapshot.filter((member) => gone.has(member.instanceId)).map((member) => member.hostId));
  for (const hostId of record.staleHosts ?? []) wanted.add(hostId);
  await orLeftover(leftovers, 'could not retire the old Mackerel hosts', `mackerel-replacer resume ${record.deployId}`, async () => {
    const live = await retireHosts(spec, deps.monitor, (host) => wanted.has(host.id), call);
    if (live.length > 0) deps.emit({ type: 'step.done', phase: 'retire', what: 'retired the old hosts', ids: live });
  });
  return leftovers;
};
