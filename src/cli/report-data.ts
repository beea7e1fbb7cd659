// What `--report` writes: one deploy run, gathered from the engine's events as they come.
import type { DeployAction, DeployEvent, Mark, Mode, Phase } from '../rollout/events.js';
import type { Member } from '../rollout/snapshot.js';
import type { JsonOutcome } from './render-json.js';

/** `launched` is when EC2 returned the instance; the rest are the engine's marks. */
export type ReportMark = 'launched' | Mark;

export interface ReportInstance {
  readonly id: string;
  /** Absent for a new instance found only by the deploy's tag during a rollback. */
  readonly az?: string;
  readonly side: 'old' | 'new';
  /** In the order they happened; `afterMs` counts from the report's `startedAt`. */
  readonly marks: readonly { readonly mark: ReportMark; readonly at: string; readonly afterMs: number }[];
}

export interface Report {
  readonly version: 1;
  readonly deployId?: string;
  readonly action?: DeployAction;
  readonly env?: string;
  readonly role?: string;
  readonly service?: string;
  readonly mode?: Mode;
  readonly startedAt: string;
  readonly endedAt: string;
  readonly outcome: JsonOutcome & { readonly exitCode: number };
  readonly image: { readonly old: readonly string[]; readonly new?: { readonly id: string; readonly name: string } };
  readonly phases: readonly { readonly phase: Phase; readonly afterMs: number; readonly ms?: number }[];
  readonly plan: readonly {
    readonly az: string;
    readonly old: readonly Pick<Member, 'instanceId' | 'hostId' | 'hostName' | 'hostStatus' | 'imageId'>[];
    readonly launches: number;
    readonly new: readonly string[];
  }[];
  readonly instances: readonly ReportInstance[];
  readonly warnings: readonly string[];
}

interface Seen {
  start: number;
  started?: Extract<DeployEvent, { type: 'deploy.started' }>;
  image?: { id: string; name: string };
  members: readonly Member[];
  launches: Map<string, number>;
  launched: Map<string, string[]>;
  phases: { phase: Phase; at: number; ms?: number }[];
  marks: Map<string, { mark: ReportMark; at: number }[]>;
  warnings: string[];
}

const fresh = (start: number): Seen => ({
  start,
  members: [],
  launches: new Map(),
  launched: new Map(),
  phases: [],
  marks: new Map(),
  warnings: [],
});

/** Collects events (each with the time it came) and builds the report once the run has ended. */
export const reportCollector = (start: number) => {
  let seen = fresh(start);
  const mark = (ids: readonly string[], name: ReportMark, at: number) => {
    for (const id of ids) seen.marks.set(id, [...(seen.marks.get(id) ?? []), { mark: name, at }]);
  };
  const add = (event: DeployEvent, at: number): void => {
    switch (event.type) {
      case 'deploy.started':
        // A replace that asks first plans once, then starts again: the report is of the deploy itself.
        seen = { ...fresh(at), started: event };
        return;
      case 'image.resolved':
        seen.image = { id: event.image.id, name: event.image.name };
        return;
      case 'snapshot.taken':
        seen.members = event.members;
        return;
      case 'plan.made':
        for (const launch of event.plan.launches) seen.launches.set(launch.az, launch.count);
        return;
      case 'record.loaded':
        seen.image = { id: event.image.id, name: event.image.name };
        seen.members = event.members;
        for (const [az, ids] of Object.entries(event.launched)) {
          seen.launches.set(az, ids.length);
          seen.launched.set(az, [...ids]);
        }
        return;
      case 'launch.done':
        seen.launched.set(event.launch.az, [...event.instanceIds]);
        mark(event.instanceIds, 'launched', at);
        return;
      case 'instances.marked':
        mark(event.ids, event.mark, at);
        return;
      case 'phase.started':
        seen.phases.push({ phase: event.phase, at });
        return;
      case 'phase.done': {
        const open = seen.phases.findLast((phase) => phase.phase === event.phase && phase.ms === undefined);
        if (open) open.ms = event.ms;
        return;
      }
      case 'warning':
        seen.warnings.push(event.message);
        return;
      default:
        return;
    }
  };
  const finish = (outcome: JsonOutcome, exitCode: number, end: number): Report => build(seen, { ...outcome, exitCode }, end);
  return { add, finish };
};

const build = (seen: Seen, outcome: Report['outcome'], end: number): Report => {
  const iso = (at: number) => new Date(at).toISOString();
  const azs = [...new Set([...seen.launches.keys(), ...seen.launched.keys(), ...seen.members.map((member) => member.az)])];
  const azOf = new Map<string, string>();
  for (const [az, ids] of seen.launched) for (const id of ids) azOf.set(id, az);
  const oldIds = new Set(seen.members.map((member) => member.instanceId));
  const instance = (id: string, side: 'old' | 'new', az: string | undefined): ReportInstance => ({
    id,
    ...(az !== undefined && { az }),
    side,
    marks: (seen.marks.get(id) ?? []).map(({ mark, at }) => ({ mark, at: iso(at), afterMs: at - seen.start })),
  });
  const started = seen.started;
  return {
    version: 1,
    ...(started && {
      deployId: started.deployId,
      action: started.action,
      env: started.env,
      role: started.role,
      service: started.service,
      mode: started.mode,
    }),
    startedAt: iso(seen.start),
    endedAt: iso(end),
    outcome,
    image: { old: [...new Set(seen.members.map((member) => member.imageId))], ...(seen.image && { new: seen.image }) },
    phases: seen.phases.map(({ phase, at, ms }) => ({ phase, afterMs: at - seen.start, ...(ms !== undefined && { ms }) })),
    plan: azs.map((az) => ({
      az,
      old: seen.members
        .filter((member) => member.az === az)
        .map(({ instanceId, hostId, hostName, hostStatus, imageId }) => ({ instanceId, hostId, hostName, hostStatus, imageId })),
      launches: seen.launches.get(az) ?? 0,
      new: seen.launched.get(az) ?? [],
    })),
    instances: [
      ...seen.members.map((member) => instance(member.instanceId, 'old', member.az)),
      ...[...seen.launched.values()].flat().map((id) => instance(id, 'new', azOf.get(id))),
      // Found by the deploy's tag only (a launch whose answer never came back), during a rollback.
      ...[...seen.marks.keys()].filter((id) => !oldIds.has(id) && !azOf.has(id)).map((id) => instance(id, 'new', undefined)),
    ],
    warnings: seen.warnings,
  };
};
