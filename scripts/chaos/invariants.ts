// DESIGN.md's invariants, judged from what the sandbox saw. Each check returns its violations.
import { TG_ARN } from './sandbox-world.js';
import { checkEndState } from './end-state.js';
import { failedBeforeTerminateKeepsOld, heldUntilCutover, keptUntilFinished, restoredBeforeNewGoes } from './window-invariants.js';
import { type Event, type Evidence, type Violation, hostsOf, inWaves, newIds, oldIds } from './evidence.js';

const touchesOld = (old: Set<string>) => (event: Event) =>
  event.instanceId !== undefined &&
  old.has(event.instanceId) &&
  (event.type === 'target.deregistered' || event.type === 'instance.terminating');

/**
 * 1. No old target is deregistered and no old instance terminated before every new one launched so
 * far was working and (web) healthy: in a deploy in waves, every new one of this wave and the earlier.
 * No old instance is terminated while one of those is gone.
 */
const nothingOldDiesEarly = (ev: Evidence): Violation[] => {
  const old = new Set(oldIds(ev));
  const fresh = new Set(newIds(ev));
  const launched = new Set<string>();
  const dead = new Set<string>();
  const working = new Set<string>();
  const healthy = new Set<string>();
  const judged = new Set<string>();
  // One wave: every new instance must be ready before the first old one is touched.
  const due = inWaves(ev) ? launched : fresh;
  const violations: Violation[] = [];
  for (const event of ev.events) {
    const id = event.instanceId ?? '';
    if (event.type === 'instance.launched' && fresh.has(id)) launched.add(id);
    if (event.type === 'instance.terminating' || event.type === 'instance.terminated') dead.add(id);
    if (event.type === 'host.status' && event.status === 'working') working.add(event.hostId ?? '');
    if (event.type === 'target.healthy' && event.targetGroupArn === TG_ARN) healthy.add(id);
    if (!touchesOld(old)(event)) continue;
    const what = `old ${id} was ${event.type === 'instance.terminating' ? 'terminated' : 'deregistered'} at t=${event.t}`;
    const gone = [...due].filter((newId) => dead.has(newId));
    if (event.type === 'instance.terminating' && gone.length > 0)
      violations.push({ invariant: '1', detail: `${what}, while new ${gone.join(', ')} had gone` });
    for (const newId of due) {
      if (judged.has(newId)) continue;
      const lacks: string[] = [];
      if (dead.has(newId)) lacks.push('alive');
      if (!hostsOf(ev.after, newId).some((host) => working.has(host.id))) lacks.push('working in Mackerel');
      if (ev.role === 'web' && !healthy.has(newId)) lacks.push('healthy');
      judged.add(newId);
      if (lacks.length > 0) violations.push({ invariant: '1', detail: `${what}, before new ${newId} was ${lacks.join(' and ')}` });
    }
  }
  return violations;
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
  ...keptUntilFinished(ev),
  ...heldUntilCutover(ev),
  ...restoredBeforeNewGoes(ev),
  ...failedBeforeTerminateKeepsOld(ev),
];
