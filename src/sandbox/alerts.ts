import type { SimAlert, World } from './world.js';

/** The API's page size of alerts by default, and its maximum. */
export const ALERTS_PAGE_MAX = 100;

/** Opens an alert on a host, as a monitor would. */
export const openAlert = (world: World, hostId: string, status: SimAlert['status'], type: SimAlert['type'], now: number): SimAlert => {
  const alert: SimAlert = {
    id: world.nextId('alert'),
    status,
    monitorId: `sbm-${type}`,
    type,
    hostId,
    openedAt: Math.floor(world.clock.epoch(now) / 1000),
  };
  world.alerts.push(alert);
  world.record({ t: now, type: 'alert.opened', alertId: alert.id, hostId });
  return alert;
};

/** Closes the host's open alerts with `reason`. */
export const closeAlertsOf = (world: World, hostId: string, reason: string, now: number): void => {
  for (const alert of world.alerts) {
    if (alert.hostId !== hostId || alert.closedAt !== undefined) continue;
    alert.status = 'OK';
    alert.closedAt = Math.floor(world.clock.epoch(now) / 1000);
    alert.reason = reason;
    world.record({ t: now, type: 'alert.closed', alertId: alert.id, hostId });
  }
};

/**
 * One page of GET /api/v0/alerts: newest first, only open ones unless `withClosed`, older than
 * the alert `nextId` names; `nextId` in the answer only when older ones remain. Undefined when
 * no alert has the id `after`.
 */
export const alertsPage = (
  world: World,
  options: { readonly withClosed: boolean; readonly limit: number; readonly after?: string },
): { alerts: SimAlert[]; nextId?: string } | undefined => {
  const cursor = options.after === undefined ? world.alerts.length : world.alerts.findIndex((alert) => alert.id === options.after);
  if (cursor < 0) return undefined;
  const older = world.alerts
    .slice(0, cursor)
    .filter((alert) => options.withClosed || alert.closedAt === undefined)
    .reverse();
  const alerts = older.slice(0, options.limit);
  const last = alerts.at(-1);
  return older.length > options.limit && last ? { alerts, nextId: last.id } : { alerts };
};
