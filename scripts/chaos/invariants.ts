// DESIGN.md's invariants, judged from what the sandbox saw. Each check returns its violations.
import { TG_ARN } from './sandbox-world.js';
import { checkEndState } from './end-state.js';
import { type Event, type Evidence, type Violation, hostsOf, newIds, oldIds } from './evidence.js';

const touchesOld = (old: Set<string>) => (event: Event) =>
  event.instanceId !== undefined &&
  old.has(event.instanceId) &&
  (event.type === 'target.deregistered' || event.type === 'instance.terminating');

/** 1. No old target is deregistered and no old instance terminated before every new one was working and (web) healthy. */
const nothingOldDiesEarly = (ev: Evidence): Violation[] => {
  const cut = ev.events.findIndex(touchesOld(new Set(oldIds(ev))));
  if (cut < 0) return [];
  const first = ev.events[cut]!;
  const prior = ev.events.slice(0, cut);
  const what = `old ${first.instanceId} was ${first.type === 'instance.terminating' ? 'terminated' : 'deregistered'} at t=${first.t}`;
  return newIds(ev).flatMap((id) => {
    const hostIds = new Set(hostsOf(ev.after, id).map((host) => host.id));
    const lacks: string[] = [];
    if (prior.some((e) => e.instanceId === id && (e.type === 'instance.terminating' || e.type === 'instance.terminated')))
      lacks.push('alive');
    if (!prior.some((e) => e.type === 'host.status' && e.status === 'working' && hostIds.has(e.hostId ?? '')))
      lacks.push('working in Mackerel');
    if (ev.role === 'web' && !prior.some((e) => e.type === 'target.healthy' && e.instanceId === id && e.targetGroupArn === TG_ARN)) {
      lacks.push('healthy');
    }
    return lacks.length > 0 ? [{ invariant: '1', detail: `${what}, before new ${id} was ${lacks.join(' and ')}` }] : [];
  });
};

/** 2. The tool terminates only the snapshot's instances and its own launches. */
const onlySnapshotDies = (ev: Evidence): Violation[] => {
  const allowed = new Set([...oldIds(ev), ...newIds(ev)]);
  return ev.events
    .filter((e) => e.type === 'instance.terminating' && !allowed.has(e.instanceId ?? ''))
    .map((e) => ({ invariant: '2', detail: `terminated ${e.instanceId}, neither an old ${ev.role} nor launched by the deploy` }));
};

/** 4. Never more instances than the plan, whatever was retried, lost or resumed. */
const launchesWithinPlan = (ev: Evidence): Violation[] => {
  const launched = newIds(ev);
  return launched.length > ev.planned
    ? [{ invariant: '4', detail: `${launched.length} instances launched for a plan of ${ev.planned}: ${launched.join(', ')}` }]
    : [];
};

/** 5. Web: healthy targets never fewer than the old fleet had. */
const capacityHolds = (ev: Evidence): Violation[] => {
  if (ev.role !== 'web') return [];
  const was = ev.before.targetGroups.find((group) => group.arn === TG_ARN)!.healthy;
  const low = ev.after.targetGroups.find((group) => group.arn === TG_ARN)!.minHealthy;
  return low < was ? [{ invariant: '5', detail: `healthy targets fell to ${low}, below the old fleet's ${was}` }] : [];
};

/** 6. No secret in any output or any file the tool wrote. */
const secretsStaySecret = (ev: Evidence): Violation[] => {
  const places = [
    ...ev.commands.flatMap((run, i) => [
      { where: `stdout of command ${i + 1} (${run.command})`, text: run.stdout },
      { where: `stderr of command ${i + 1} (${run.command})`, text: run.stderr },
    ]),
    ...ev.files.map((file) => ({ where: file.path, text: file.text })),
  ];
  return places.flatMap(({ where, text }) =>
    ev.secrets.filter((secret) => text.includes(secret)).map(() => ({ invariant: '6', detail: `a secret appears in ${where}` })),
  );
};

/** Every violation of the run; empty when it kept every invariant. */
export const checkInvariants = (ev: Evidence): Violation[] => [
  ...nothingOldDiesEarly(ev),
  ...onlySnapshotDies(ev),
  ...checkEndState(ev),
  ...launchesWithinPlan(ev),
  ...capacityHolds(ev),
  ...secretsStaySecret(ev),
];
