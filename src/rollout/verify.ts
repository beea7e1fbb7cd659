import type { Emit } from './events.js';
import { type Balancer, type Call, type Clock, type Fleet, type Host, type Monitor, LOST_STATES } from './ports.js';
import { marker } from './marks.js';
import type { RoleSpec } from './spec.js';
import { TAG_DEPLOY } from './tags.js';
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
 * One hosts listing per look, whatever the fleet's size. While some new instances are missing from
 * the role, the listing is the organization's (every status): a host registered under other roles
 * or none, or one claiming another instance, is found at once without a call per instance. Once
 * every new instance is in the role, only the role is listed.
 */
const registrationLook = (spec: RoleSpec, ids: readonly string[], deps: Pick<VerifyDeps, 'monitor' | 'emit'>, signal: AbortSignal) => {
  const { monitor } = deps;
  const roleFullname = `${spec.service}:${spec.role}`;
  const wanted = new Set(ids);
  const markRegistered = marker(deps.emit, 'registered');
  let claims = new Map<string, string>();
  let missing = ids.length;
  return async (): Promise<Verdict> => {
    const { roleHosts, lookedUp } =
      missing > 0
        ? splitByRole(roleFullname, ids, await monitor.everyHost({ signal }))
        : { roleHosts: await monitor.hosts(spec.service, spec.role, { signal }), lookedUp: new Map<string, Host>() };
    markRegistered(
      roleHosts
        .filter(
          (host) =>
            host.instanceId !== undefined && wanted.has(host.instanceId) && (host.status === 'working' || host.status === 'standby'),
        )
        .map((host) => host.instanceId!),
    );
    const verdict = registrationVerdict(roleFullname, ids, { roleHosts, lookedUp, earlierClaims: claims });
    claims = claimsOf(ids, roleHosts, claims);
    const listed = new Set(roleHosts.map((host) => host.instanceId));
    missing = ids.filter((id) => !listed.has(id)).length;
    return verdict;
  };
};

/** The organization's hosts as the role's, and the hosts of new instances outside the role. */
const splitByRole = (roleFullname: string, ids: readonly string[], hosts: readonly Host[]) => {
  const wanted = new Set(ids);
  const roleHosts: Host[] = [];
  const lookedUp = new Map<string, Host>();
  for (const host of hosts) {
    if (host.roles.includes(roleFullname)) roleHosts.push(host);
    else if (host.instanceId !== undefined && wanted.has(host.instanceId)) lookedUp.set(host.instanceId, host);
  }
  return { roleHosts, lookedUp };
};

/**
 * Both gates at once: every new instance working or standby in Mackerel and (web mode) healthy in every
 * target group, while a watcher fails the lot as soon as AWS takes an instance away. Each poll is
 * one call for all instances. The first failure stops the others.
 */
export const verifyAll = async (spec: RoleSpec, deployId: string, ids: readonly string[], deps: VerifyDeps, call: Call): Promise<void> => {
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
  // The watcher never passes; it ends when the gates do, so it has no deadline of its own. It asks
  // only for the deploy's lost instances: usually none, so one call whatever the fleet's size.
  const lost = () => deps.fleet.findByTag(TAG_DEPLOY, deployId, { signal }, { states: LOST_STATES });
  const watcher = watch('new instances alive', async () => aliveVerdict(ids, await lost()), Infinity);
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
