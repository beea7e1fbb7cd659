// Pure judgements over one observation of the world. Each returns a Verdict for waitFor.
import { type Host, type Instance, type TargetHealth, isLost } from './ports.js';
import type { Verdict } from './wait.js';

export interface GroupHealth {
  readonly arn: string;
  readonly targets: readonly TargetHealth[];
}

const progress = (total: number, waitingFor: string[]): Verdict =>
  waitingFor.length === 0 ? { kind: 'passed' } : { kind: 'pending', done: total - waitingFor.length, total, waitingFor };

/** Every new instance running; one that died while booting fails the launch at once. */
export const bootVerdict = (ids: readonly string[], instances: readonly Instance[]): Verdict => {
  const byId = new Map(instances.map((instance) => [instance.id, instance]));
  const waitingFor: string[] = [];
  for (const id of ids) {
    const state = byId.get(id)?.state;
    if (state === 'running') continue;
    if (state !== undefined && isLost(state)) {
      return { kind: 'failed', reason: `${id} is ${state}` };
    }
    waitingFor.push(`${id} (${state ?? 'not visible yet'})`);
  }
  return progress(ids.length, waitingFor);
};

/** What Mackerel says of the new instances at one look. */
export interface Registrations {
  /** Every non-retired host of the role. */
  readonly roleHosts: readonly Host[];
  /** Some new instances missing from the role, looked up by their customIdentifier. */
  readonly lookedUp: ReadonlyMap<string, Host | undefined>;
  /** Host id → the new instance it stood for at earlier looks. */
  readonly earlierClaims: ReadonlyMap<string, string>;
  /** A host without the role may still gain it (its user data restarts the agent later): it is waited for, not failed. */
  readonly withinRoleGrace?: boolean;
}

const ID_FILE_FIX = "the image was baked with mackerel-agent's id file: delete /var/lib/mackerel-agent/id before baking the AMI";

/**
 * Gate (a): every new instance is a non-retired host of the role in `working` or `standby` (a
 * default agent leaves the organization's starting status). A host under other roles or none is
 * waited for within the role grace (user data may restart the agent with its role), then fails;
 * one host standing for two instances fails at once: waiting would not fix it.
 */
export const registrationVerdict = (roleFullname: string, ids: readonly string[], seen: Registrations): Verdict => {
  const wanted = new Set(ids);
  const claims = new Map<string, string>();
  for (const host of [...seen.roleHosts, ...[...seen.lookedUp.values()].filter((h) => h !== undefined)]) {
    const { instanceId, identifiedAs } = host;
    if (instanceId === undefined || !wanted.has(instanceId)) continue;
    if (identifiedAs !== undefined && identifiedAs !== instanceId) {
      return {
        kind: 'failed',
        reason: `instance ${instanceId} registered as host ${host.id}, which carries the customIdentifier of ${identifiedAs}: ${ID_FILE_FIX}`,
      };
    }
    const other = claims.get(host.id) ?? seen.earlierClaims.get(host.id);
    if (other !== undefined && other !== instanceId) {
      return { kind: 'failed', reason: `instances ${other} and ${instanceId} both registered as host ${host.id}: ${ID_FILE_FIX}` };
    }
    claims.set(host.id, instanceId);
  }
  const byInstance = new Map(seen.roleHosts.map((host) => [host.instanceId, host]));
  const waitingFor: string[] = [];
  for (const id of ids) {
    const host = byInstance.get(id);
    if (host) {
      if (host.status !== 'working' && host.status !== 'standby') waitingFor.push(`${id} (host ${host.id} is ${host.status})`);
      continue;
    }
    const elsewhere = seen.lookedUp.get(id);
    if (elsewhere && !elsewhere.roles.includes(roleFullname)) {
      const roles = elsewhere.roles.length > 0 ? `roles ${elsewhere.roles.join(', ')}` : 'no roles';
      if (seen.withinRoleGrace) {
        waitingFor.push(`${id} (host ${elsewhere.id} has ${roles}, not yet ${roleFullname})`);
        continue;
      }
      return {
        kind: 'failed',
        reason: `instance ${id} registered as host ${elsewhere.id} with ${roles}, not ${roleFullname}: set roles = ["${roleFullname}"] in its mackerel-agent.conf (user data that writes it must restart the agent: systemctl restart mackerel-agent)`,
      };
    }
    waitingFor.push(`${id} (not registered)`);
  }
  return progress(ids.length, waitingFor);
};

/** Host id → new instance, as this look shows them: the earlier claims of the next look. */
export const claimsOf = (ids: readonly string[], hosts: readonly Host[], earlier: ReadonlyMap<string, string>): Map<string, string> => {
  const wanted = new Set(ids);
  const claims = new Map(earlier);
  for (const host of hosts) {
    if (host.instanceId !== undefined && wanted.has(host.instanceId) && !claims.has(host.id)) claims.set(host.id, host.instanceId);
  }
  return claims;
};

/** Gate (b): every new instance healthy in every target group. */
export const healthVerdict = (ids: readonly string[], groups: readonly GroupHealth[]): Verdict => {
  const waitingFor = groups.flatMap((group) => {
    const byId = new Map(group.targets.map((target) => [target.id, target]));
    return ids.flatMap((id) => {
      const target = byId.get(id);
      if (target?.state === 'healthy') return [];
      const state = target ? `${target.state}${target.reason ? `: ${target.reason}` : ''}` : 'not registered';
      return [`${id} in ${groupName(group.arn)} (${state})`];
    });
  });
  return progress(ids.length * groups.length, waitingFor);
};

/** Every old target has left every group: absent or `unused`. */
export const drainVerdict = (ids: readonly string[], groups: readonly GroupHealth[]): Verdict => {
  const waitingFor = groups.flatMap((group) =>
    group.targets
      .filter((target) => ids.includes(target.id) && target.state !== 'unused')
      .map((target) => `${target.id} in ${groupName(group.arn)} (${target.state})`),
  );
  return progress(ids.length * groups.length, waitingFor);
};

/** `targetgroup/reactio-web/0123…` → `reactio-web`, for readable progress lines. */
export const groupName = (arn: string): string => arn.split(':targetgroup/')[1]?.split('/')[0] ?? arn;

/** New instances AWS has taken away: verification fails at once instead of waiting out its timeout. */
export const aliveVerdict = (ids: readonly string[], instances: readonly Instance[]): Verdict => {
  const byId = new Map(instances.map((instance) => [instance.id, instance]));
  const lost = ids.filter((id) => {
    const state = byId.get(id)?.state;
    return state !== undefined && isLost(state);
  });
  if (lost.length > 0) return { kind: 'failed', reason: lost.map((id) => `${id} is ${byId.get(id)!.state}`).join(', ') };
  return { kind: 'pending', done: ids.length, total: ids.length, waitingFor: [] };
};

/** When each new target turned unhealthy, carried from one look to the next; a healthy look resets it. */
export const unhealthySince = (
  previous: ReadonlyMap<string, number>,
  ids: readonly string[],
  groups: readonly GroupHealth[],
  now: number,
): Map<string, number> => {
  const next = new Map<string, number>();
  for (const group of groups) {
    for (const target of group.targets) {
      if (!ids.includes(target.id) || target.state !== 'unhealthy') continue;
      const key = `${target.id} in ${groupName(group.arn)}${target.reason ? ` (${target.reason})` : ''}`;
      next.set(key, previous.get(key) ?? now);
    }
  }
  return next;
};

/**
 * A passing health verdict counts only once it has held for `stableFor` without a break, so a
 * target that flaps right after its first healthy check never lets the old fleet go.
 */
export const stableVerdict = (
  verdict: Verdict,
  healthySince: number | undefined,
  now: number,
  stableFor: number,
  what = 'every new target healthy',
): Verdict => {
  if (verdict.kind !== 'passed' || healthySince === undefined) return verdict;
  const left = stableFor - (now - healthySince);
  if (left <= 0) return verdict;
  return {
    kind: 'pending',
    done: 0,
    total: 1,
    waitingFor: [`${what} for ${stableFor / 1000}s without a break`],
    passesInMs: left,
  };
};

/** Every instance terminated, or gone from EC2 altogether. */
export const goneVerdict = (ids: readonly string[], instances: readonly Instance[]): Verdict => {
  const waitingFor = instances.filter((i) => ids.includes(i.id) && i.state !== 'terminated').map((i) => `${i.id} (${i.state})`);
  return waitingFor.length === 0
    ? { kind: 'passed' }
    : { kind: 'pending', done: ids.length - waitingFor.length, total: ids.length, waitingFor };
};
