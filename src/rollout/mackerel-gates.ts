// Pure judgements of the Mackerel gates a role may add (issue 11 §4): metrics flowing, no open alert.
import type { Alert, AlertStatus, MetricValue } from './ports.js';
import type { Verdict } from './wait.js';

/** New instance id → its host id, as the registration gate last saw them. */
export type HostsOfInstances = ReadonlyMap<string, string>;

const pending = (total: number, waitingFor: string[]): Verdict =>
  waitingFor.length === 0 ? { kind: 'passed' } : { kind: 'pending', done: total - waitingFor.length, total, waitingFor };

/**
 * Every new host has a value of the metric no older than `maxAge`. Ages count from the later of
 * the tool's clock and the newest value seen: an agent whose clock runs ahead of this machine's
 * cannot hide another that stopped posting.
 */
export const metricsVerdict = (
  ids: readonly string[],
  hostOf: HostsOfInstances,
  latest: ReadonlyMap<string, MetricValue>,
  gate: { readonly name: string; readonly maxAge: number },
  now: number,
): Verdict => {
  const reference = Math.max(now, ...[...latest.values()].map((value) => value.time));
  const waitingFor = ids.flatMap((id) => {
    const hostId = hostOf.get(id);
    if (hostId === undefined) return [`${id} (no host yet)`];
    const value = latest.get(hostId);
    if (value === undefined) return [`host ${hostId} (${id}): no ${gate.name} value yet`];
    const age = reference - value.time;
    return age > gate.maxAge ? [`host ${hostId} (${id}): last ${gate.name} value ${Math.round(age / 1000)}s old`] : [];
  });
  return pending(ids.length, waitingFor);
};

/** An open alert of a chosen status on a new host fails at once: the new fleet is not fit to serve. */
export const alertsVerdict = (
  ids: readonly string[],
  hostOf: HostsOfInstances,
  alerts: readonly Alert[],
  statuses: readonly AlertStatus[],
): Verdict => {
  const instanceOf = new Map([...hostOf].map(([instanceId, hostId]) => [hostId, instanceId]));
  const alert = alerts.find((a) => a.hostId !== undefined && instanceOf.has(a.hostId) && statuses.includes(a.status));
  if (alert) {
    return {
      kind: 'failed',
      reason: `alert ${alert.id} (${alert.status}, ${alert.type} monitor ${alert.monitorId}) is open on host ${alert.hostId} (${instanceOf.get(alert.hostId!)})`,
    };
  }
  return pending(
    ids.length,
    ids.filter((id) => !hostOf.has(id)).map((id) => `${id} (no host yet)`),
  );
};

/**
 * The gates' verdicts of one look as one: the first failure, named by its gate; passed when every
 * gate passed; otherwise what each gate still waits for.
 */
export const allGatesVerdict = (looks: readonly { readonly gate: string; readonly verdict: Verdict }[]): Verdict => {
  const failed = looks.find(({ verdict }) => verdict.kind === 'failed');
  if (failed?.verdict.kind === 'failed') return { kind: 'failed', reason: `${failed.gate}: ${failed.verdict.reason}` };
  const waiting = looks.flatMap(({ gate, verdict }) => (verdict.kind === 'pending' ? [{ gate, verdict }] : []));
  if (waiting.length === 0) return { kind: 'passed' };
  return {
    kind: 'pending',
    // Counted in gates: the gates' own counts are of different things (instances, targets).
    done: looks.length - waiting.length,
    total: looks.length,
    waitingFor: waiting.flatMap(({ gate, verdict }) => verdict.waitingFor.map((item) => `${gate}: ${item}`)),
  };
};
