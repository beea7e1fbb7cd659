// What "good" means once a deploy keeps the old fleet, rolls back after cutover or runs hooks,
// judged from the sandbox's event log (or the fakes'), each check returning its violations.
import { TG_ARN } from './sandbox-world.js';
import { type Evidence, type Violation, eventsOf, newIds, oldIds } from './evidence.js';

const terminatesOld = (old: Set<string>) => (event: { type: string; instanceId?: string }) =>
  event.type === 'instance.terminating' && old.has(event.instanceId ?? '');

/** A kept old fleet is terminated by `finish` or `shrink` (and a resume of either) only: never before the operator first ran one. */
export const keptUntilFinished = (ev: Evidence): Violation[] => {
  if (!ev.options.keep) return [];
  const old = new Set(oldIds(ev));
  const firstFinish = ev.commands.find((run) => run.command === 'finish' || run.command === 'shrink')?.from ?? ev.events.length;
  return ev.events
    .slice(0, firstFinish)
    .filter(terminatesOld(old))
    .map((event) => ({
      invariant: 'kept',
      detail: `old ${event.instanceId} was terminated at t=${event.t}, before any finish or shrink of the deploy that keeps it`,
    }));
};

/** A held deploy switches in `cutover` (and a resume of it) only: no old target deregistered, no old host silenced, before the operator ran it. */
export const heldUntilCutover = (ev: Evidence): Violation[] => {
  if (!ev.options.hold) return [];
  const old = new Set(oldIds(ev));
  const oldHosts = new Set(ev.before.hosts.filter((host) => old.has(host.customIdentifier?.split('.')[0] ?? '')).map((host) => host.id));
  const cutover = ev.commands.find((run) => run.command === 'cutover')?.from ?? ev.events.length;
  return ev.events
    .slice(0, cutover)
    .filter(
      (event) =>
        (event.type === 'target.deregistered' && old.has(event.instanceId ?? '')) ||
        (event.type === 'host.status' && event.status === 'maintenance' && oldHosts.has(event.hostId ?? '')),
    )
    .map((event) => ({
      invariant: 'held',
      detail: `old ${event.instanceId ?? `host ${event.hostId}`} was taken out of service (${event.type}) at t=${event.t}, before the held deploy's cutover`,
    }));
};

/**
 * Once the old fleet was taken out of service (targets deregistered, hosts silenced), no new
 * instance goes (deregistered or terminated) before every old target is healthy again and every
 * old host back in the status it had: a rollback restores the old fleet first.
 */
export const restoredBeforeNewGoes = (ev: Evidence): Violation[] => {
  const old = new Set(oldIds(ev));
  const fresh = new Set(newIds(ev));
  const hostStatus = new Map(ev.before.hosts.filter((host) => !host.isRetired).map((host) => [host.id, host.status]));
  const oldHosts = new Set(ev.before.hosts.filter((host) => old.has(host.customIdentifier?.split('.')[0] ?? '')).map((host) => host.id));
  // What is out of service, by target or host, and how.
  const away = new Map<string, string>();
  for (const event of ev.events) {
    const id = event.instanceId ?? '';
    // After an old termination the old fleet cannot come back: a rollback is refused from there.
    if (terminatesOld(old)(event)) return [];
    if (event.targetGroupArn === TG_ARN && old.has(id)) {
      if (event.type === 'target.deregistered') away.set(id, `old target ${id} (deregistered)`);
      if (event.type === 'target.healthy') away.delete(id);
    }
    const hostId = event.hostId ?? '';
    if (event.type === 'host.status' && oldHosts.has(hostId)) {
      if (event.status === hostStatus.get(hostId)) away.delete(hostId);
      else away.set(hostId, `old host ${hostId} (${event.status})`);
    }
    const goes = event.type === 'instance.terminating' || (event.type === 'target.deregistered' && event.targetGroupArn === TG_ARN);
    if (goes && fresh.has(id) && away.size > 0) {
      return [
        {
          invariant: 'restored',
          detail: `new ${id} went (${event.type}) at t=${event.t} while ${[...away.values()].join(', ')} ${away.size > 1 ? 'were' : 'was'} not back in service`,
        },
      ];
    }
  }
  return [];
};

/** A failed beforeTerminate leaves the old fleet running, and the command ends incomplete (exit 4). */
export const failedBeforeTerminateKeepsOld = (ev: Evidence): Violation[] => {
  const old = new Set(oldIds(ev));
  return ev.commands.flatMap((run, i) => {
    if (run.killed || !/hook beforeTerminate failed/.test(run.stdout)) return [];
    const problems: string[] = [];
    if (run.code !== 4) problems.push(`exited ${run.code}, not 4`);
    const killed = eventsOf(ev, i).filter(terminatesOld(old));
    if (killed.length > 0) problems.push(`terminated old ${killed.map((event) => event.instanceId).join(', ')}`);
    return problems.map((problem) => ({
      invariant: 'beforeTerminate',
      detail: `${run.command} (command ${i + 1}) saw beforeTerminate fail, but ${problem}`,
    }));
  });
};
