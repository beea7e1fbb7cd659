import { z } from 'zod';
import { ALERTS_PAGE_MAX, alertsPage } from './alerts.js';
import { createHost, hostJson, retireHost, setHostStatus, updateHost } from './hosts.js';
import { latestMetrics, storeMetrics } from './metrics.js';
import { HOST_STATUSES, type HostStatus, type SimHost, type World } from './world.js';

/** A Mackerel API error: `{"error":{"message":…}}` with this status. */
export class MackerelError extends Error {
  override readonly name = 'MackerelError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** An answer already serialized, sent as it is. */
export class JsonText {
  constructor(readonly text: string) {}
}

export interface MackerelRequest {
  readonly world: World;
  readonly now: number;
  /** Path segments captured by the route (`:id`). */
  readonly args: readonly string[];
  readonly query: URLSearchParams;
  readonly body: string;
}

type Handler = (request: MackerelRequest) => unknown;

const name = /^[A-Za-z0-9][A-Za-z0-9_-]+$/;
const ids = z.array(z.string()).max(30, 'at most 30 ids per request');

const parseBody = <T>(schema: z.ZodType<T>, body: string): T => {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new MackerelError(400, 'Invalid JSON body');
  }
  const result = schema.safeParse(json);
  if (!result.success) throw new MackerelError(400, z.prettifyError(result.error));
  return result.data;
};

/** A retired host can still be read, by its id only. */
const hostOf = (world: World, id: string): SimHost => {
  const host = world.hosts.get(id);
  if (!host) throw new MackerelError(404, 'Host Not Found.');
  return host;
};

// Retirement cannot be undone: a retired host is not found by anything that would change it.
const liveHostOf = (world: World, id: string): SimHost => {
  const host = hostOf(world, id);
  if (host.isRetired) throw new MackerelError(404, 'Host Not Found.');
  return host;
};

/** All or nothing: one unknown or retired id fails the whole call (the harsh reading of "404 if some ids are unknown"). */
const liveHostsOf = (world: World, hostIds: readonly string[]): SimHost[] => {
  const hosts = hostIds.map((id) => world.hosts.get(id));
  if (hosts.some((host) => host === undefined || host.isRetired)) throw new MackerelError(404, 'Some of the hosts were not found.');
  return hosts as SimHost[];
};

// The query read once; every agent looks its host up by customIdentifier, so that one is indexed.
const listHosts: Handler = ({ world, query }) => {
  const service = query.get('service');
  const roles = query.getAll('role');
  const wanted = query.getAll('status');
  const statuses = new Set<string>(wanted.length > 0 ? wanted : ['working', 'standby']);
  const customIdentifier = query.get('customIdentifier');
  const hostName = query.get('name');
  const hosts: SimHost[] = [];
  const candidates = customIdentifier === null ? world.hosts.values() : (world.hostsByCustomIdentifier.get(customIdentifier) ?? []);
  for (const host of candidates) {
    if (hostName !== null && host.name !== hostName) continue;
    if (host.isRetired || !statuses.has(host.status)) continue;
    if (service !== null) {
      const hostRoles = host.roles[service];
      if (hostRoles === undefined || (roles.length > 0 && !roles.some((role) => hostRoles.includes(role)))) continue;
    }
    hosts.push(host);
  }
  return new JsonText(`{"hosts":[${hosts.map(hostJson).join(',')}]}`);
};

const hostBody = z.object({
  name: z.string().min(1),
  displayName: z.string().optional(),
  customIdentifier: z.string().nullable().optional(),
  memo: z.string().optional(),
  meta: z.record(z.string(), z.unknown()).optional(),
  interfaces: z.array(z.record(z.string(), z.unknown())).optional(),
  roleFullnames: z
    .array(
      z
        .string()
        .refine((full) => full.split(':').length === 2 && full.split(':').every((part) => name.test(part)), 'must be "Service:role"'),
    )
    .optional(),
});

const statusBody = z.object({ status: z.enum(HOST_STATUSES) });
const bulkStatusBody = z.object({ status: z.enum(HOST_STATUSES), ids });

const setStatuses = (world: World, hosts: readonly SimHost[], status: HostStatus, now: number) => {
  for (const host of hosts) setHostStatus(world, host, status, now);
  return { success: true };
};

const retire = (world: World, hosts: readonly SimHost[], now: number) => {
  for (const host of hosts) retireHost(world, host, now);
  return { success: true };
};

const annotationBody = z
  .object({
    title: z.string().min(1).max(250),
    description: z.string().max(1024).optional(),
    from: z.number().int(),
    to: z.number().int(),
    service: z.string().min(1),
    roles: z.array(z.string()).optional(),
  })
  .refine((a) => a.from <= a.to, 'from must not be after to');

const annotate: Handler = ({ world, now, body }) => {
  const annotation = parseBody(annotationBody, body);
  const roles = world.services.get(annotation.service);
  if (!roles) throw new MackerelError(404, `Service not found: ${annotation.service}`);
  const unknown = (annotation.roles ?? []).find((role) => !roles.has(role));
  if (unknown !== undefined) throw new MackerelError(404, `Role not found: ${annotation.service}:${unknown}`);
  const stored = { id: world.nextId('annotation'), ...annotation };
  world.annotations.push(stored);
  world.record({ t: now, type: 'annotation.created', annotationId: stored.id });
  return stored;
};

const metricValues = z.array(
  z.object({ hostId: z.string().min(1), name: z.string().regex(/^[A-Za-z0-9._-]+$/), time: z.number().int(), value: z.number() }),
);

/** POST /api/v0/tsdb: every host must exist and not be retired, or nothing is stored. */
const postMetrics: Handler = ({ world, body }) => {
  const values = parseBody(metricValues, body);
  liveHostsOf(world, [...new Set(values.map((value) => value.hostId))]);
  storeMetrics(world, values);
  return { success: true };
};

/**
 * GET /api/v0/tsdb/latest: hostId and name required. An unknown host id fails the whole call with
 * 404: the documentation does not say, and the harsher reading is the one a client must survive.
 */
const getLatest: Handler = ({ world, query }) => {
  const hostIds = query.getAll('hostId');
  const names = query.getAll('name');
  if (hostIds.length === 0 || names.length === 0) throw new MackerelError(400, 'hostId and name are required');
  for (const id of hostIds) hostOf(world, id);
  return { tsdbLatest: latestMetrics(world, hostIds, names) };
};

/** GET /api/v0/alerts: `limit` 1..100 (default 100), `nextId` an alert id, `withClosed` true or false. */
const listAlerts: Handler = ({ world, query }) => {
  const limitText = query.get('limit');
  const limit = limitText === null ? ALERTS_PAGE_MAX : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > ALERTS_PAGE_MAX) {
    throw new MackerelError(400, `limit must be an integer from 1 to ${ALERTS_PAGE_MAX}`);
  }
  const after = query.get('nextId') ?? undefined;
  const page = alertsPage(world, { withClosed: query.get('withClosed') === 'true', limit, ...(after !== undefined && { after }) });
  if (!page) throw new MackerelError(404, 'Alert Not Found.');
  return page;
};

const routes: readonly (readonly [method: string, path: string, handle: Handler])[] = [
  ['GET', '/api/v0/hosts', listHosts],
  ['GET', '/api/v0/hosts.json', listHosts],
  ['GET', '/api/v0/hosts/:id', ({ world, args }) => new JsonText(`{"host":${hostJson(hostOf(world, args[0]!))}}`)],
  ['POST', '/api/v0/hosts', ({ world, now, body }) => ({ id: createHost(world, parseBody(hostBody, body), now).id })],
  [
    'PUT',
    '/api/v0/hosts/:id',
    ({ world, args, body }) => {
      const host = liveHostOf(world, args[0]!);
      updateHost(world, host, parseBody(hostBody, body));
      return { id: host.id };
    },
  ],
  [
    'POST',
    '/api/v0/hosts/bulk-update-statuses',
    ({ world, now, body }) => {
      const { status, ids: hostIds } = parseBody(bulkStatusBody, body);
      return setStatuses(world, liveHostsOf(world, hostIds), status, now);
    },
  ],
  [
    'POST',
    '/api/v0/hosts/bulk-retire',
    ({ world, now, body }) => retire(world, liveHostsOf(world, parseBody(z.object({ ids }), body).ids), now),
  ],
  [
    'POST',
    '/api/v0/hosts/:id/status',
    ({ world, now, args, body }) => setStatuses(world, [liveHostOf(world, args[0]!)], parseBody(statusBody, body).status, now),
  ],
  ['POST', '/api/v0/hosts/:id/retire', ({ world, now, args }) => retire(world, [liveHostOf(world, args[0]!)], now)],
  ['POST', '/api/v0/graph-annotations', annotate],
  ['POST', '/api/v0/tsdb', postMetrics],
  ['GET', '/api/v0/tsdb/latest', getLatest],
  ['GET', '/api/v0/alerts', listAlerts],
];

export interface MackerelRoute {
  /** `METHOD /path` with `:id` for captured segments: the action in the request log and in faults. */
  readonly action: string;
  readonly handle?: Handler;
  readonly args: readonly string[];
}

export const findMackerelRoute = (method: string, path: string): MackerelRoute => {
  const segments = path.split('/');
  for (const [routeMethod, routePath, handle] of routes) {
    const pattern = routePath.split('/');
    if (routeMethod !== method || pattern.length !== segments.length) continue;
    if (pattern.every((part, i) => part === ':id' || part === segments[i])) {
      return { action: `${method} ${routePath}`, handle, args: segments.filter((_, i) => pattern[i] === ':id') };
    }
  }
  return { action: `${method} ${path}`, args: [] };
};
