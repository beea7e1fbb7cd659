import type { Emit } from './events.js';
import { type Balancer, type Call, type Clock, type Fleet, type Host, type Monitor, LOST_STATES } from './ports.js';
import { type HostsOfInstances, alertsVerdict, allGatesVerdict, metricsVerdict } from './mackerel-gates.js';
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
const registrationLook = (
  spec: RoleSpec,
  ids: readonly string[],
  deps: Pick<VerifyDeps, 'monitor' | 'emit' | 'clock'>,
  signal: AbortSignal,
  hostOf: Map<string, string>,
) => {
  const { monitor } = deps;
  const graceEnds = deps.clock.now() + (spec.roleGrace ?? 0);
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
    for (const host of roleHosts) if (host.instanceId !== undefined && wanted.has(host.instanceId)) hostOf.set(host.instanceId, host.id);
    const withinRoleGrace = deps.clock.now() < graceEnds;
    const verdict = registrationVerdict(roleFullname, ids, { roleHosts, lookedUp, earlierClaims: claims, withinRoleGrace });
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
 * Every new target healthy in every target group; one continuously unhealthy for
 * `timeouts.unhealthy` fails at once.
 */
const healthLook = (spec: RoleSpec, ids: readonly string[], deps: VerifyDeps, signal: AbortSignal) => {
  let since = new Map<string, number>();
  const markHealthy = marker(deps.emit, 'healthy');
  return async (): Promise<Verdict> => {
    const groups = await observeGroups(deps.balancer, spec.targetGroups, { signal });
    const now = deps.clock.now();
    markHealthy(healthyEverywhere(ids, groups));
    since = unhealthySince(since, ids, groups, now);
    const stuck = [...since].find(([, from]) => now - from >= spec.timeouts.unhealthy);
    if (stuck) return { kind: 'failed', reason: `${stuck[0]} unhealthy for ${Math.round((now - stuck[1]) / 1000)}s` };
    return healthVerdict(ids, groups);
  };
};

/**
 * Target health that passes only while every new instance is still registered: a host retired, or
 * moved to another role, during `stableFor` starts it again or fails it. Mackerel is asked only
 * once the targets are healthy.
 */
const whileRegistered = (health: () => Promise<Verdict>, registration: () => Promise<Verdict>) => async (): Promise<Verdict> => {
  const verdict = await health();
  return verdict.kind === 'passed' ? registration() : verdict;
};

/** A look that passes once `look` has passed at every look for `stableFor`. */
const stable = (look: () => Promise<Verdict>, spec: RoleSpec, clock: Clock, what: string) => {
  let passingSince: number | undefined;
  return async (): Promise<Verdict> => {
    const verdict = await look();
    const now = clock.now();
    passingSince = verdict.kind === 'passed' ? (passingSince ?? now) : undefined;
    return stableVerdict(verdict, passingSince, now, spec.stableFor, what);
  };
};

/**
 * Both gates at once: every new instance working or standby in Mackerel and (web mode) healthy in every
 * target group, while a watcher fails the lot as soon as AWS takes an instance away. Each poll is
 * one call for all instances. The first failure stops the others. A role with Mackerel gates
 * (metrics, alerts) looks at every gate together instead: see everyGate.
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
  const hostOf = new Map<string, string>();
  const registration = registrationLook(spec, ids, deps, signal, hostOf);
  const health = spec.targetGroups.length > 0 ? healthLook(spec, ids, deps, signal) : undefined;
  const gates =
    spec.gates?.metrics || spec.gates?.alerts
      ? [watch('gates', everyGate(spec, ids, deps, signal, { registration, health, hostOf }))]
      : [
          watch('registered in Mackerel', registration),
          ...(health
            ? [
                watch(
                  'healthy in the target groups',
                  stable(whileRegistered(health, registration), spec, deps.clock, 'every new target healthy'),
                ),
              ]
            : []),
        ];
  // The watcher never passes; it ends when the gates do, so it has no deadline of its own. It asks
  // only for the deploy's lost instances: usually none, so one call whatever the fleet's size.
  const lost = () => deps.fleet.findByTag(TAG_DEPLOY, deployId, { signal }, { states: LOST_STATES });
  const watcher = watch('new instances alive', async () => aliveVerdict(ids, await lost()), Infinity);
  await Promise.all(gates);
  if (firstFailure === undefined) stop.abort();
  await watcher;
  if (firstFailure !== undefined) throw firstFailure;
};

/**
 * Every configured gate at each look, concurrently, one look each (the metrics look is one request
 * per 100 hosts, the alerts look one per page of 100 alerts): `stableFor` counts from the first
 * look at which all of them pass, and any gate that stops passing starts it again. The metrics and
 * alerts gates judge the hosts the registration gate had found before the look.
 */
const everyGate = (
  spec: RoleSpec,
  ids: readonly string[],
  deps: VerifyDeps,
  signal: AbortSignal,
  looks: { registration: () => Promise<Verdict>; health?: () => Promise<Verdict>; hostOf: ReadonlyMap<string, string> },
) => {
  const { metrics, alerts } = spec.gates ?? {};
  const gates: { gate: string; look: (hostOf: HostsOfInstances) => Promise<Verdict> }[] = [
    { gate: 'registered in Mackerel', look: looks.registration },
  ];
  if (looks.health) gates.push({ gate: 'healthy in the target groups', look: looks.health });
  if (metrics) {
    gates.push({
      gate: `metrics flowing (${metrics.name})`,
      look: async (hostOf) => {
        const latest = hostOf.size > 0 ? await deps.monitor.latestMetrics([...hostOf.values()], metrics.name, { signal }) : new Map();
        return metricsVerdict(ids, hostOf, latest, metrics, deps.clock.now());
      },
    });
  }
  if (alerts) {
    gates.push({
      gate: `no open ${alerts.statuses.join('/')} alert`,
      look: async (hostOf) => alertsVerdict(ids, hostOf, hostOf.size > 0 ? await deps.monitor.openAlerts({ signal }) : [], alerts.statuses),
    });
  }
  return stable(
    async () => {
      const hostOf = new Map(looks.hostOf);
      return allGatesVerdict(await Promise.all(gates.map(async ({ gate, look }) => ({ gate, verdict: await look(hostOf) }))));
    },
    spec,
    deps.clock,
    'every gate passing',
  );
};

/** The instances healthy in every target group at this look. */
const healthyEverywhere = (ids: readonly string[], groups: readonly GroupHealth[]): string[] => {
  const healthy = groups.map((group) => new Set(group.targets.filter((target) => target.state === 'healthy').map((target) => target.id)));
  return ids.filter((id) => healthy.every((inGroup) => inGroup.has(id)));
};
