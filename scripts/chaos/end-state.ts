// Invariant 3 (no orphans) and the exit codes: how the run ended must match what the world shows.
import { TG_ARN } from './sandbox-world.js';
import { refusedWindowResume } from './operator.js';
import { type CommandRun, type Evidence, type Violation, completedWaves, hostsOf, newIds, oldIds } from './evidence.js';

const serving = new Set(['initial', 'healthy', 'unhealthy', 'unused']);
const gone = new Set(['shutting-down', 'terminated']);

const orphan = (detail: string): Violation => ({ invariant: '3', detail });

const targetsOf = (ev: Evidence) => (ev.role === 'web' ? ev.after.targetGroups.find((group) => group.arn === TG_ARN)!.targets : []);
const stateOf = (ev: Evidence, id: string) => ev.after.instances.find((instance) => instance.id === id)?.state;

/** Replaced: the old fleet gone, the plan's new instances running, working and healthy. */
const replacedWorld = (ev: Evidence, olds = oldIds(ev), fresh = newIds(ev), planned = ev.planned, outcome = 'replaced'): Violation[] => {
  const problems: string[] = [];
  for (const id of olds) {
    if (!gone.has(stateOf(ev, id) ?? 'terminated')) problems.push(`old ${id} is ${stateOf(ev, id)}`);
    if (hostsOf(ev.after, id).some((host) => !host.isRetired)) problems.push(`old ${id}'s host is not retired`);
    if (targetsOf(ev).some((target) => target.id === id)) problems.push(`old ${id} is still a target`);
  }
  if (fresh.length !== planned) problems.push(`${fresh.length} new instances for a plan of ${planned}`);
  for (const id of fresh) {
    if (stateOf(ev, id) !== 'running') problems.push(`new ${id} is ${stateOf(ev, id)}`);
    if (!hostsOf(ev.after, id).some((host) => !host.isRetired && host.status === 'working')) problems.push(`new ${id} has no working host`);
    if (ev.role === 'web' && targetsOf(ev).find((target) => target.id === id)?.state !== 'healthy')
      problems.push(`new ${id} is not a healthy target`);
  }
  return problems.map((problem) => orphan(`${outcome}, but ${problem}`));
};

/** Rolled back or refused: nothing new left running, registered or in Mackerel; the old fleet as it was. */
const untouchedWorld = (ev: Evidence, outcome: string, olds = oldIds(ev), fresh = newIds(ev)): Violation[] => {
  const problems: string[] = [];
  for (const id of fresh) {
    if (!gone.has(stateOf(ev, id) ?? 'terminated')) problems.push(`new ${id} is ${stateOf(ev, id)}`);
    for (const host of hostsOf(ev.after, id).filter((h) => !h.isRetired)) {
      const at = (type: string, key: 'hostId' | 'instanceId', value: string) =>
        ev.events.find((e) => e.type === type && e[key] === value)?.t;
      problems.push(
        `new ${id} has a live Mackerel host ${host.id} (${host.status}, registered at t=${at('host.registered', 'hostId', host.id)}; ` +
          `the instance was terminated at t=${at('instance.terminating', 'instanceId', id)})`,
      );
    }
    const target = targetsOf(ev).find((t) => t.id === id);
    if (target && serving.has(target.state)) problems.push(`new ${id} is still a target (${target.state})`);
  }
  for (const id of olds) {
    if (stateOf(ev, id) !== 'running') problems.push(`old ${id} is ${stateOf(ev, id)}`);
    for (const host of hostsOf(ev.after, id)) {
      const was = hostsOf(ev.before, id).find((h) => h.id === host.id);
      if (host.isRetired || host.status !== was?.status)
        problems.push(`old ${id}'s host is ${host.isRetired ? 'retired' : host.status}, was ${was?.status}`);
    }
    if (ev.role === 'web' && targetsOf(ev).find((target) => target.id === id)?.state !== 'healthy')
      problems.push(`old ${id} is not a healthy target`);
  }
  return problems.map((problem) => orphan(`${outcome}, but ${problem}`));
};

/** Rolled back: the waves completed before the failed one stay replaced, the rest is untouched. */
const rolledBackWorld = (ev: Evidence): Violation[] => {
  const done = completedWaves(ev);
  if (!done) return untouchedWorld(ev, 'rolled back');
  const replaced = new Set(done.replaced);
  const served = new Set(done.served);
  return [
    ...replacedWorld(ev, done.replaced, done.served, done.served.length, 'rolled back after completed waves'),
    ...untouchedWorld(
      ev,
      'rolled back',
      oldIds(ev).filter((id) => !replaced.has(id)),
      newIds(ev).filter((id) => !served.has(id)),
    ),
  ];
};

const exit = (detail: string): Violation => ({ invariant: 'exit', detail });

/** What a recovery run beside another says: the other holds the deploy, or has already finished it. */
const OTHER_AT_WORK = /is being worked on by|cannot be rolled back|can no longer be rolled back/;

/** Exit 4 must name what is left and the command that finishes it. */
const namesLeftovers = (ev: Evidence, run: CommandRun): boolean =>
  run.stderr.includes(`INCOMPLETE: deploy ${ev.deployId}`) && /\n {2}- .+\n {6}\S/.test(run.stderr);

const checkCodes = (ev: Evidence): Violation[] => {
  const problems: Violation[] = [];
  ev.commands.forEach((run, i) => {
    const said = `${run.command} (command ${i + 1}) exited ${run.code}`;
    if (run.killed) return;
    if (run.code === 1) problems.push(exit(`${said}, an internal error: ${run.stderr.slice(0, 400)}`));
    if (run.code === 4 && !namesLeftovers(ev, run)) problems.push(exit(`${said} without naming what is left: ${run.stderr.slice(0, 400)}`));
    const refusedRollback = run.command === 'rollback' && run.code === 2 && /can no longer be rolled back/.test(run.stderr);
    const followed = ev.commands[i + 1] !== undefined;
    if (
      run.code === 2 &&
      i > 0 &&
      !(refusedRollback && ev.commands[i + 1]?.command === 'resume') &&
      !(refusedWindowResume(run) && followed) &&
      !(run.concurrent && OTHER_AT_WORK.test(run.stderr))
    ) {
      problems.push(exit(`${said}: ${run.stderr.slice(0, 400)}`));
    }
  });
  const last = ev.commands.at(-1)!;
  const expected: Record<string, readonly number[]> = {
    replaced: [0],
    'rolled-back': last.command === 'rollback' ? [0] : [3, 0],
    refused: [2],
  };
  const outcome = ev.status ?? 'refused';
  if (!expected[outcome]?.includes(last.code)) problems.push(exit(`the deploy ended ${outcome}, but ${last.command} exited ${last.code}`));
  return problems;
};

const healthyTargets = (state: Evidence['before']): number =>
  state.targetGroups.find((group) => group.arn === TG_ARN)!.targets.filter((target) => target.state === 'healthy').length;

/**
 * However it ended, the role still serves: never both fleets gone, and no success (exit 0) while
 * the role has fewer healthy targets than before the run.
 */
const stillServes = (ev: Evidence): Violation[] => {
  const problems: Violation[] = [];
  const running = [...oldIds(ev), ...newIds(ev)].filter((id) => !gone.has(stateOf(ev, id) ?? 'terminated'));
  if (running.length === 0) problems.push({ invariant: 'serving', detail: 'both fleets are gone: no instance of the role runs' });
  const last = ev.commands.at(-1)!;
  if (ev.role === 'web' && last.code === 0 && healthyTargets(ev.after) < healthyTargets(ev.before)) {
    problems.push({
      invariant: 'serving',
      detail: `${last.command} exited 0 with ${healthyTargets(ev.after)} healthy targets; the role had ${healthyTargets(ev.before)}`,
    });
  }
  return problems;
};

/** 3, the exit codes, and that the role still serves. */
export const checkEndState = (ev: Evidence): Violation[] => [...endState(ev), ...stillServes(ev)];

const endState = (ev: Evidence): Violation[] => {
  const codes = checkCodes(ev);
  switch (ev.status) {
    case 'replaced':
      return [...codes, ...replacedWorld(ev)];
    case 'rolled-back':
      return [...codes, ...rolledBackWorld(ev)];
    case undefined:
      return [...codes, ...untouchedWorld(ev, 'refused'), ...newIds(ev).map((id) => orphan(`refused, but ${id} was launched`))];
    default:
      return [...codes, orphan(`the deploy was left ${ev.status}`)];
  }
};
