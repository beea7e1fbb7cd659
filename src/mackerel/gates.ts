// GET /api/v0/tsdb/latest and GET /api/v0/alerts responses mapped to the engine's types.
import { z } from 'zod';
import type { Alert, MetricValue } from '../rollout/ports.js';
import { parseResponse } from './hosts.js';

// A metric never posted may be left out or answered as null, by host or by name: both read as "no value".
const latestSchema = z.object({
  tsdbLatest: z.record(z.string(), z.record(z.string(), z.object({ time: z.number(), value: z.number() }).nullish()).nullish()),
});

const alertSchema = z.object({
  id: z.string(),
  status: z.enum(['OK', 'CRITICAL', 'WARNING', 'UNKNOWN']),
  monitorId: z.string(),
  type: z.string(),
  hostId: z.string().nullish(),
  openedAt: z.number(),
});

const alertsSchema = z.object({ alerts: z.array(alertSchema), nextId: z.string().nullish() });

/** Host id → the metric's value, for the hosts of this answer that have one. */
export const toLatest = (body: unknown, metric: string, operation: string): Map<string, MetricValue> => {
  const latest = new Map<string, MetricValue>();
  for (const [hostId, metrics] of Object.entries(parseResponse(latestSchema, body, operation).tsdbLatest)) {
    const value = metrics?.[metric];
    if (value) latest.set(hostId, { time: value.time * 1000, value: value.value });
  }
  return latest;
};

/** One page of alerts, and the cursor of the next page when there is one. */
export const toAlertPage = (body: unknown, operation: string): { alerts: Alert[]; nextId?: string } => {
  const page = parseResponse(alertsSchema, body, operation);
  const alerts = page.alerts.map(({ id, status, monitorId, type, hostId, openedAt }) => ({
    id,
    status,
    monitorId,
    type,
    ...(hostId ? { hostId } : {}),
    openedAt: openedAt * 1000,
  }));
  return page.nextId ? { alerts, nextId: page.nextId } : { alerts };
};
