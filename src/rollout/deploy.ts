import { randomBytes } from 'node:crypto';
import { cutOver } from './cutover.js';
import type { Emit, Mode, Phase } from './events.js';
import { launchAll, message } from './launch.js';
import type { Leftover } from './leftovers.js';
import { type Plan, makePlan } from './plan.js';
import type { Balancer, Clock, Fleet, Monitor } from './ports.js';
import { preflight } from './preflight.js';
import { type Created, rollBack } from './rollback.js';
import { type Snapshot, takeSnapshot } from './snapshot.js';
import type { RoleSpec } from './spec.js';
import { verifyAll } from './verify.js';

export interface Deps {
  readonly fleet: Fleet;
  readonly balancer: Balancer;
  readonly monitor: Monitor;
  readonly clock: Clock;
  readonly emit: Emit;
}

export interface Summary {
  readonly deployId: string;
  readonly oldImageIds: readonly string[];
  readonly newImageId: string;
  readonly perAz: readonly { az: string; old: readonly string[]; new: readonly string[] }[];
  readonly phaseMs: Readonly<Partial<Record<Phase, number>>>;
  readonly totalMs: number;
}

export type Outcome =
  | { readonly kind: 'planned'; readonly plan: Plan; readonly snapshot: Snapshot }
  | { readonly kind: 'replaced'; readonly summary: Summary }
  /** The new instances were undone; the old fleet is as it was. */
  | { readonly kind: 'rolled-back'; readonly reason: string; readonly aborted: boolean }
  /** A person must finish: each leftover names what is left and the command that finishes it. */
  | { readonly kind: 'incomplete'; readonly reason: string; readonly leftovers: readonly Leftover[] };

export interface ReplaceOptions {
  readonly deployId: string;
  readonly dryRun: boolean;
  /** Bounds the rollback, which must not obey the signal that may have caused it. */
  readonly rollbackTimeoutMs?: number;
}

/** `20261123-153600-3fa9`: sortable, short enough for ClientTokens, unique enough per env/role. */
export const newDeployId = (now: number): string => {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(2).toString('hex')}`;
};

/**
 * One deploy: preflight → snapshot → plan → launch → register → verify → cutover → terminate →
 * retire. Throws only before anything was launched (nothing changed); afterwards every failure
 * ends in an Outcome. `signal` interrupts only the phases that can be rolled back.
 */
export const replace = async (spec: RoleSpec, options: ReplaceOptions, deps: Deps, signal: AbortSignal): Promise<Outcome> => {
  const started = deps.clock.now();
  const phaseMs: Partial<Record<Phase, number>> = {};
  const timed = async <T>(phase: Phase, run: () => Promise<T>): Promise<T> => {
    deps.emit({ type: 'phase.started', phase });
    const t0 = deps.clock.now();
    const result = await run();
    phaseMs[phase] = deps.clock.now() - t0;
    deps.emit({ type: 'phase.done', phase, ms: phaseMs[phase] });
    return result;
  };
  const mode: Mode = spec.targetGroups.length > 0 ? 'web' : 'worker';
  const { deployId } = options;
  deps.emit({ type: 'deploy.started', deployId, env: spec.env, role: spec.role, service: spec.service, mode });
  const call = { signal };

  const resolved = await timed('preflight', () => preflight(spec, deps, call));
  deps.emit({ type: 'image.resolved', image: resolved.image });
  const snapshot = await timed('snapshot', () => takeSnapshot(spec, resolved.subnets, deps, call));
  deps.emit({ type: 'snapshot.taken', members: snapshot.members });
  const plan = await timed('plan', async () => makePlan(spec, deployId, resolved.image, resolved.subnets, snapshot));
  deps.emit({ type: 'plan.made', plan });
  if (options.dryRun) return { kind: 'planned', plan, snapshot };

  const created: Created = { deployId, instanceIds: new Set(), registeredGroups: new Set() };
  let newByAz: Map<string, string[]>;
  let newIds: string[];
  try {
    newByAz = await timed('launch', () =>
      launchAll(spec, plan, deps, call, (ids) => {
        for (const id of ids) created.instanceIds.add(id);
      }),
    );
    newIds = [...newByAz.values()].flat();
    if (mode === 'web') {
      await timed('register', async () => {
        for (const arn of spec.targetGroups) {
          created.registeredGroups.add(arn);
          await deps.balancer.register(arn, newIds, call);
        }
      });
    }
    await timed('verify', () => verifyAll(spec, newIds, deps, call));
  } catch (error) {
    const reason = signal.aborted ? 'interrupted' : message(error);
    deps.emit({ type: 'rollback.started', reason });
    const rollbackCall = { signal: AbortSignal.timeout(options.rollbackTimeoutMs ?? 10 * 60_000) };
    const leftovers = await timed('rollback', () => rollBack(spec, created, deps, rollbackCall));
    if (leftovers.length > 0) return { kind: 'incomplete', reason: `${reason}; the rollback is incomplete`, leftovers };
    return { kind: 'rolled-back', reason, aborted: signal.aborted };
  }

  // Verified: from here on the old fleet is retired, so an interrupt no longer applies.
  const finishCall = { signal: AbortSignal.timeout(spec.timeouts.drain + 10 * 60_000) };
  const { leftovers } = await cutOver(spec, snapshot, resolved.subnets, deps, finishCall, timed);
  await annotate(spec, plan, snapshot, started, deps, finishCall);
  if (leftovers.length > 0) {
    return { kind: 'incomplete', reason: 'the new fleet is serving, but the old one was not fully retired', leftovers };
  }
  return { kind: 'replaced', summary: summarize(plan, snapshot, newByAz, phaseMs, deps.clock.now() - started) };
};

const summarize = (
  plan: Plan,
  snapshot: Snapshot,
  newByAz: ReadonlyMap<string, string[]>,
  phaseMs: Summary['phaseMs'],
  totalMs: number,
): Summary => {
  const azs = [...new Set([...plan.launches.map((launch) => launch.az), ...snapshot.members.map((member) => member.az)])];
  return {
    deployId: plan.deployId,
    oldImageIds: [...new Set(snapshot.members.map((member) => member.imageId))],
    newImageId: plan.image.id,
    perAz: azs.map((az) => ({
      az,
      old: snapshot.members.filter((member) => member.az === az).map((member) => member.instanceId),
      new: newByAz.get(az) ?? [],
    })),
    phaseMs,
    totalMs,
  };
};

/** A graph annotation marks the deploy on the role's graphs; failing to write it is only a warning. */
const annotate = async (
  spec: RoleSpec,
  plan: Plan,
  snapshot: Snapshot,
  started: number,
  deps: Deps,
  call: { signal: AbortSignal },
): Promise<void> => {
  const oldImages = [...new Set(snapshot.members.map((member) => member.imageId))].join(', ') || 'none';
  try {
    await deps.monitor.annotate(
      {
        service: spec.service,
        roles: [spec.role],
        title: `mackerel-replacer: ${spec.role} replaced (${oldImages} -> ${plan.image.id})`,
        description: `deploy ${plan.deployId}: ${snapshot.members.length} old -> ${plan.newCount} new instances in ${spec.env}`,
        from: started,
        to: deps.clock.now(),
      },
      call,
    );
  } catch (error) {
    deps.emit({ type: 'warning', message: `could not write the graph annotation: ${message(error)}` });
  }
};
