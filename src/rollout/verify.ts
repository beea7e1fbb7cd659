import type { Emit } from './events.js';
import type { Balancer, Call, Clock, Fleet, Monitor } from './ports.js';
import { marker } from './marks.js';
import type { RoleSpec } from './spec.js';
import { type GroupHealth, aliveVerdict, claimsOf, healthVerdict, registrationVerdict, stableVerdict, unhealthySince } from './verdicts.js';
import { type Verdict, waitFor } from './wait.js';

export interface VerifyDeps {
  readonly fleet: Fleet;
  readonly balancer: Balancer;
  readonly monitor: Monitor;
  readonly clock: Clock;
  readonly emit: Emit;
}

/** One DescribeTargetHealth per target group, all groups at once. */
export const observeGroups = (balancer: Balancer, arns: readonly string[], call: Call): Promise<GroupHealth[]> =>
  Promise.all(arns.map(async (arn) => ({ arn, targets: await balancer.health(arn, call) })));

/**
 * New instances missing from the role are looked up by customIdentifier, a few per look in turn,
 * so a host registered under the wrong roles is found at once without a call per instance.
 */
const LOOKUPS_PER_LOOK = 3;

const registrationLook = (spec: RoleSpec, ids: readonly string[], deps: Pick<VerifyDeps, 'monitor' | 'emit'>, signal: AbortSignal) => {
  const { monitor } = deps;
  const wanted = new Set(ids);
  const markRegistered = marker(deps.emit, 'registered');
  let claims = new Map<string, string>();
  let turn = 0;
  return async (): Promise<Verdict> => {
    const roleHosts = await monitor.hosts(spec.service, spec.role, { signal });
    const listed = new Set(roleHosts.map((host) => host.instanceId));
    markRegistered(
      roleHosts
        .filter(
          (host) =>
            host.instanceId !== undefined && wanted.has(host.instanceId) && (host.status === 'working' || host.status === 'standby'),
        )
        .map((host) => host.instanceId!),
    );
    const missing = ids.filter((id) => !listed.has(id));
    const start = missing.length > 0 ? turn % missing.length : 0;
    const sample = [...missing, ...missing].slice(start, start + Math.min(LOOKUPS_PER_LOOK, missing.length));
    turn += LOOKUPS_PER_LOOK;
    const lookedUp = new Map(await Promise.all(sample.map(async (id) => [id, await monitor.hostOfInstance(id, { signal })] as const)));
    const verdict = registrationVerdict(`${spec.service}:${spec.role}`, ids, { roleHosts, lookedUp, earlierClaims: claims });
    claims = claimsOf(ids, roleHosts, claims);
    return verdict;
  };
};

/**
 * Both gates at once: every new instance working or standby in Mackerel and (web mode) healthy in every
 * target group, while a watcher fails the lot as soon as AWS takes an instance away. Each poll is
 * one call for all instances. The first failure stops the others.
 */
export const verifyAll = async (spec: RoleSpec, ids: readonly string[], deps: VerifyDeps, call: Call): Promise<void> => {
  const stop = new AbortController();
  const signal = AbortSignal.any([call.signal, stop.signal]);
  let firstFailure: unknown;
  const watch = (what: string, look: () => Promise<Verdict>, timeout = spec.timeouts.verify) =>
    waitFor(look, {
      clock: deps.clock,
      interval: spec.pollInterval,
      timeout,
      signal,
      what,
      report: { emit: deps.emit, phase: 'verify' },
    }).catch((error: unknown) => {
      if (!stop.signal.aborted) firstFailure ??= error;
      stop.abort();
    });
  const gates = [watch('registered in Mackerel', registrationLook(spec, ids, deps, signal))];
  if (spec.targetGroups.length > 0) {
    let since = new Map<string, number>();
    let allHealthySince: number | undefined;
    const markHealthy = marker(deps.emit, 'healthy');
    gates.push(
      watch('healthy in the target groups', async () => {
        const groups = await observeGroups(deps.balancer, spec.targetGroups, { signal });
        const now = deps.clock.now();
        markHealthy(healthyEverywhere(ids, groups));
        since = unhealthySince(since, ids, groups, now);
        const stuck = [...since].find(([, from]) => now - from >= spec.timeouts.unhealthy);
        if (stuck) return { kind: 'failed', reason: `${stuck[0]} unhealthy for ${Math.round((now - stuck[1]) / 1000)}s` };
        const verdict = healthVerdict(ids, groups);
        allHealthySince = verdict.kind === 'passed' ? (allHealthySince ?? now) : undefined;
        return stableVerdict(verdict, allHealthySince, now, spec.stableFor);
      }),
    );
  }
  // The watcher never passes; it ends when the gates do, so it has no deadline of its own.
  const watcher = watch('new instances alive', async () => aliveVerdict(ids, await deps.fleet.describe(ids, { signal })), Infinity);
  await Promise.all(gates);
  if (firstFailure === undefined) stop.abort();
  await watcher;
  if (firstFailure !== undefined) throw firstFailure;
};

/** The instances healthy in every target group at this look. */
const healthyEverywhere = (ids: readonly string[], groups: readonly GroupHealth[]): string[] => {
  const healthy = groups.map((group) => new Set(group.targets.filter((target) => target.state === 'healthy').map((target) => target.id)));
  return ids.filter((id) => healthy.every((inGroup) => inGroup.has(id)));
};
