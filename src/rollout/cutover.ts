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
import { launchedIds, oldIds, oldMembers, servedIds } from './record.js';
import { NotServing, checkServing } from './serving.js';
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
 * away counts as done. One that lacks this deploy's replaced-by tag, or is one of the new fleet's,
 * means the record disagrees with AWS: nothing is terminated. Throws NotServing when the new fleet
 * does not serve (serving.ts).
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
  const disagreements = disagreeing(run, ids, instances);
  if (disagreements.length > 0) return disagreements;
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
  if (owned.length > 0) {
    const checked = await checkServing(run, call).then(
      () => true,
      (error: unknown) => {
        if (error instanceof NotServing) throw error;
        leftovers.push({ what: `could not re-check the new fleet: ${message(error)}`, fix: `mackerel-replacer resume ${record.deployId}` });
        return false;
      },
    );
    if (!checked) return leftovers;
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

/** The instances about to be terminated that this deploy did not mark as its old fleet, or that are its new fleet: one leftover naming them all. */
const disagreeing = (run: Deployment, ids: readonly string[], instances: ReadonlyMap<string, Instance>): Leftover[] => {
  const { record } = run;
  const fresh = new Set([...servedIds(record), ...launchedIds(record)]);
  const problems = ids.flatMap((id) => {
    const instance = instances.get(id);
    if (!instance || isEnding(instance.state)) return [];
    if (fresh.has(id)) return [`${id} is one of the new instances`];
    const mark = instance.tags[TAG_REPLACED_BY];
    return mark === record.deployId ? [] : [`${id} carries ${TAG_REPLACED_BY}=${mark ?? '(none)'}, not ${record.deployId}`];
  });
  if (problems.length === 0) return [];
  return [
    {
      what: `the record of deploy ${record.deployId} disagrees with AWS about the old fleet: ${problems.join('; ')}; nothing was terminated`,
      fix: `check the record against AWS (mackerel-replacer status ${record.deployId}); terminate the old instances by hand only once the new fleet serves`,
    },
  ];
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
