// The Monitor port over the Mackerel API v0.
import { chunk } from '../shared/chunk.js';
import type { Dispatcher } from 'undici';
import { UsageError } from '../rollout/errors.js';
import type { Annotation, Call, Monitor } from '../rollout/ports.js';
import { createSend, type Endpoint, type TransportOptions } from './http.js';
import { toAlertPage, toLatest } from './gates.js';
import { customIdentifierOf, toHosts } from './hosts.js';
import type { RetryPolicy } from './retry.js';

export interface MackerelClientOptions {
  readonly apiKey: string;
  /** `MACKEREL_APIBASE`, or https://api.mackerelio.com. */
  readonly apiBase: string;
  /** @default undici's global dispatcher */
  readonly dispatcher?: Dispatcher;
  /** @default { retries: 5, minTimeoutMs: 1000, maxTimeoutMs: 30000 } */
  readonly retry?: RetryPolicy;
  /** Told before each retry, so a caller can show throttling or outages. */
  readonly onRetry?: TransportOptions['onRetry'];
}

const defaultRetry: RetryPolicy = { retries: 5, minTimeoutMs: 1000, maxTimeoutMs: 30_000 };

/** The API refuses bulk calls with more ids than this. */
const bulkLimit = 30;

const hostsPath = '/api/v0/hosts';

// A Mackerel host id is about 11 characters, so 100 of them keep the query near 2 KB: far below
// the 8 KB a URL may have on common servers and proxies, and few requests even for 10,000 hosts.
const hostsPerLatest = 100;

/** The API's page size of alerts, and its maximum. */
const alertsPerPage = 100;

/** Without an explicit filter the API lists only working and standby hosts. */
const everyStatus = ['working', 'standby', 'maintenance', 'poweroff'] as const;

const missingHosts = (ids: readonly string[]): string =>
  `some of these hosts do not exist in Mackerel or are already retired: ${ids.join(', ')}`;

/** Cuts to at most `max` UTF-16 units without splitting a surrogate pair. */
const truncate = (text: string, max: number): string => {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
};

const annotationBody = (annotation: Annotation) => {
  const from = Math.floor(annotation.from / 1000);
  return {
    title: truncate(annotation.title, 250),
    description: truncate(annotation.description, 1024),
    from,
    to: Math.max(from, Math.ceil(annotation.to / 1000)),
    service: annotation.service,
    // Without roles the annotation covers the whole service.
    ...(annotation.roles.length > 0 ? { roles: [...annotation.roles] } : {}),
  };
};

const assertApiBase = (apiBase: string): void => {
  const protocol = URL.canParse(apiBase) ? new URL(apiBase).protocol : '';
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new UsageError(
      `the Mackerel API base "${apiBase}" is not an http(s) URL`,
      'set MACKEREL_APIBASE to a URL such as https://api.mackerelio.com, or unset it',
    );
  }
};

export const createMackerelClient = (options: MackerelClientOptions): Monitor => {
  assertApiBase(options.apiBase);
  const send = createSend({ ...options, retry: options.retry ?? defaultRetry });
  const bulk = async (ids: readonly string[], endpoint: (chunk: string[]) => Endpoint, call: Call) => {
    for (const ids30 of chunk(ids, bulkLimit)) await send(endpoint(ids30), call);
  };
  return {
    hosts: async (service, role, call) => {
      const query = new URLSearchParams({ service, role });
      for (const status of everyStatus) query.append('status', status);
      const notFound = `service "${service}" or its role "${role}" does not exist in Mackerel`;
      const body = await send({ method: 'GET', path: hostsPath, query, notFound }, call);
      return toHosts(body, `GET ${hostsPath}`);
    },
    everyHost: async (call) => {
      const query = new URLSearchParams();
      for (const status of everyStatus) query.append('status', status);
      const body = await send({ method: 'GET', path: hostsPath, query, notFound: 'the hosts listing is not found' }, call);
      return toHosts(body, `GET ${hostsPath}`);
    },
    hostOfInstance: async (instanceId, call) => {
      const query = new URLSearchParams({ customIdentifier: customIdentifierOf(instanceId) });
      for (const status of everyStatus) query.append('status', status);
      const body = await send({ method: 'GET', path: hostsPath, query, notFound: 'the hosts listing is not found' }, call);
      return toHosts(body, `GET ${hostsPath}`)[0];
    },
    setStatus: (ids, status, call) =>
      bulk(
        ids,
        (chunk) => ({
          method: 'POST',
          path: `${hostsPath}/bulk-update-statuses`,
          body: { status, ids: chunk },
          notFound: missingHosts(chunk),
        }),
        call,
      ),
    retire: (ids, call) =>
      bulk(
        ids,
        (chunk) => ({ method: 'POST', path: `${hostsPath}/bulk-retire`, body: { ids: chunk }, notFound: missingHosts(chunk) }),
        call,
      ),
    annotate: async (annotation, call) => {
      const roles = annotation.roles.length > 0 ? ` or one of its roles (${annotation.roles.join(', ')})` : '';
      const notFound = `service "${annotation.service}"${roles} does not exist in Mackerel`;
      await send({ method: 'POST', path: '/api/v0/graph-annotations', body: annotationBody(annotation), notFound }, call);
    },
    latestMetrics: async (hostIds, metric, call) => {
      const path = '/api/v0/tsdb/latest';
      const pages = await Promise.all(
        chunk(hostIds, hostsPerLatest).map(async (ids) => {
          const query = new URLSearchParams(ids.map((id) => ['hostId', id]));
          query.append('name', metric);
          const body = await send({ method: 'GET', path, query, notFound: missingHosts(ids) }, call);
          return toLatest(body, metric, `GET ${path}`);
        }),
      );
      return new Map(pages.flatMap((page) => [...page]));
    },
    openAlerts: async (call) => {
      const path = '/api/v0/alerts';
      const alerts = [];
      let nextId: string | undefined;
      do {
        const query = new URLSearchParams({ limit: String(alertsPerPage), ...(nextId !== undefined && { nextId }) });
        const page = toAlertPage(
          await send({ method: 'GET', path, query, notFound: 'the alerts listing is not found' }, call),
          `GET ${path}`,
        );
        alerts.push(...page.alerts);
        nextId = page.nextId;
      } while (nextId !== undefined);
      return alerts;
    },
  };
};
