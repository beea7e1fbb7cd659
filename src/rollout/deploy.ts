import { randomBytes } from 'node:crypto';
import { type Deps, announce, timed } from './context.js';
import { type Outcome, drive } from './drive.js';
import { abandon, checkLock } from './lock.js';
import { type Plan, type ReviewedPlan, makePlan, planDifferences, reviewedPlan } from './plan.js';
import { UsageError } from './errors.js';
import { checkPermissions, checkTargetQuota, preflight } from './preflight.js';
import { findPromotion, shipSpec } from './promotion.js';
import type { DeployRecord } from './record.js';
import { type Snapshot, type SnapshotOptions, takeSnapshot } from './snapshot.js';
import type { RoleSpec } from './spec.js';

export type { Deps } from './context.js';
export type { Outcome, Summary } from './drive.js';

export interface ReplaceOptions extends SnapshotOptions {
  readonly deployId: string;
  readonly dryRun: boolean;
  /** A deploy known dead whose lock is to be ignored. */
  readonly forceUnlock?: string;
  /** The plan an operator reviewed: the deploy goes ahead only if the world still gives exactly it. */
  readonly reviewed?: ReviewedPlan;
  /** `--var`: values for the user data's variables, over the role's `vars:`. */
  readonly vars?: Readonly<Record<string, string>>;
  /** `--promote-from`: launch the image and variables of this environment's last successful deploy of the role. */
  readonly promoteFrom?: string;
}

/** What newDeployId makes. */
export const DEPLOY_ID = /^[0-9]{8}-[0-9]{6}-[0-9a-f]{4}$/;

/** `20261123-153600-3fa9`: sortable, short enough for ClientTokens, unique enough per env/role. */
export const newDeployId = (now: number): string => {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(2).toString('hex')}`;
};

/**
 * A new deploy: preflight → snapshot → plan, then (unless a dry run) the journal record and the
 * rest of the flow. Throws only before anything was changed.
 */
export const replace = async (
  given: RoleSpec,
  options: ReplaceOptions,
  deps: Deps,
  signal: AbortSignal,
): Promise<Outcome | { readonly kind: 'planned'; readonly plan: Plan; readonly snapshot: Snapshot }> => {
  const { deployId } = options;
  const startedAt = deps.clock.now();
  const phaseMs = {};
  const early = { deps, phaseMs };
  announce(deps, 'replace', deployId, given);
  const call = { signal };
  const { spec, vars, promotion, resolved } = await timed(early, 'preflight', async () => {
    const promotion =
      options.promoteFrom === undefined ? undefined : await findPromotion({ env: options.promoteFrom, role: given.role }, deps.fleet, call);
    if (promotion) deps.emit({ type: 'promotion.found', promotion });
    const shipping = shipSpec(given, options.vars ?? {}, promotion);
    const found = await preflight(shipping.spec, deps, call);
    if (!options.dryRun) await checkLock(shipping.spec, deps, call, { forceUnlock: options.forceUnlock });
    return { ...shipping, promotion, resolved: found };
  });
  deps.emit({ type: 'image.resolved', image: resolved.image });
  const snapshot = await timed(early, 'snapshot', () => takeSnapshot(spec, resolved.subnets, deps, call, options));
  deps.emit({ type: 'snapshot.taken', members: snapshot.members });
  const plan = await timed(early, 'plan', async () => {
    const made = { ...makePlan(spec, deployId, resolved.image, resolved.subnets, snapshot), vars, ...(promotion && { promotion }) };
    if (options.reviewed) {
      const differences = planDifferences(options.reviewed, reviewedPlan(spec, made, snapshot));
      if (differences.length > 0) {
        throw new UsageError(
          `the role changed since the plan was reviewed:\n  ${differences.join('\n  ')}`,
          'review a new plan (mackerel-replacer plan --out FILE) and apply that one',
        );
      }
    }
    await checkTargetQuota(spec, made, deps.balancer, call);
    await checkPermissions(spec, made, snapshot, deps, call, { write: !options.dryRun, startedAt, runner: deps.runner });
    return made;
  });
  deps.emit({ type: 'plan.made', plan });
  if (options.dryRun) return { kind: 'planned', plan, snapshot };

  const record: DeployRecord = {
    version: 1,
    deployId,
    env: spec.env,
    role: spec.role,
    service: spec.service,
    runner: deps.runner,
    startedAt,
    updatedAt: startedAt,
    status: 'running',
    step: 'launch',
    image: resolved.image,
    vars: spec.vars ?? {},
    ...(promotion && { promotedFrom: { env: promotion.env, deployId: promotion.deployId } }),
    snapshot: snapshot.members,
    staleHosts: snapshot.stale.map((host) => host.hostId),
    launches: plan.launches,
    launched: {},
    registeredGroups: [],
    cutoverBegun: false,
    terminated: [],
    leftovers: [],
    ...(options.forceUnlock && { unlocked: options.forceUnlock }),
  };
  if (options.forceUnlock) await abandon(deps, options.forceUnlock);
  await deps.journal.save(record);
  return drive({ spec, deps, record, subnets: resolved.subnets, drainMs: resolved.drainMs, signal, phaseMs });
};
