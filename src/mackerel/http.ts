// One Mackerel API call over undici: headers, JSON, timeouts, retries, and errors that name the
// call, the cause and the fix without ever echoing the API key.
import { maskSecrets } from '../shared/mask.js';
import { STATUS_CODES } from 'node:http';
import { type Dispatcher, request } from 'undici';
import { ApiError } from '../rollout/errors.js';
import type { Call } from '../rollout/ports.js';
import { AttemptFailed, isConnectionCode, parseRetryAfter, type RetryNotice, type RetryPolicy, withRetry } from './retry.js';

export interface Endpoint {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly query?: URLSearchParams;
  readonly body?: unknown;
  /** What a 404 means for this call. */
  readonly notFound: string;
}

export interface TransportOptions {
  readonly apiKey: string;
  readonly apiBase: string;
  readonly dispatcher?: Dispatcher;
  readonly retry: RetryPolicy;
  readonly onRetry?: (notice: RetryNotice & { readonly operation: string }) => void;
}

/** Sends the call and returns the parsed JSON body (undefined when empty). */
export type Send = (endpoint: Endpoint, call: Call) => Promise<unknown>;

const timeoutMs = 30_000;

const redact = (text: string, apiKey: string): string => maskSecrets(text, [apiKey]);

const connectionReason = (code: string, origin: string): string => {
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
      return `${origin} sent no response headers within ${timeoutMs / 1000} s`;
    case 'UND_ERR_BODY_TIMEOUT':
      return `${origin} stalled for ${timeoutMs / 1000} s while sending the response body`;
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return `connecting to ${origin} timed out`;
    case 'ECONNREFUSED':
      return `${origin} refused the connection`;
    default:
      return `the connection to ${origin} was lost`;
  }
};

// undici's messages are rebuilt, or redacted when the code is unfamiliar: never passed through as they are.
const transportFailure = (error: unknown, origin: string, apiKey: string): AttemptFailed => {
  const code = (error as { code?: unknown } | null)?.code;
  const known = typeof code === 'string' && /^[A-Z0-9_]+$/.test(code) ? code : 'UNKNOWN';
  if (isConnectionCode(known)) return new AttemptFailed(known, connectionReason(known, origin));
  const message = error instanceof Error ? error.message : String(error);
  return new AttemptFailed(known, redact(`request to ${origin} failed: ${message}`, apiKey));
};

/** Mackerel answers `{"error":{"message":"..."}}`, sometimes `{"error":"..."}`. */
const apiMessage = (text: string): string | undefined => {
  try {
    const { error } = JSON.parse(text) as { error?: unknown };
    const message = typeof error === 'string' ? error : (error as { message?: unknown } | undefined)?.message;
    return typeof message === 'string' && message !== '' ? message : undefined;
  } catch {
    return undefined;
  }
};

const statusFailure = (response: Dispatcher.ResponseData, text: string, apiKey: string): AttemptFailed => {
  const status = response.statusCode;
  const reason = apiMessage(text) ?? STATUS_CODES[status] ?? `HTTP ${status}`;
  const header = response.headers['retry-after'];
  const retryAfter = status === 429 ? parseRetryAfter(Array.isArray(header) ? header[0] : header, Date.now()) : undefined;
  return new AttemptFailed(String(status), redact(reason, apiKey), retryAfter);
};

const parseBody = (text: string, status: number, origin: string): unknown => {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new AttemptFailed('BAD_RESPONSE', `${origin} answered ${status} with a body that is not JSON`);
  }
};

const attempt = async (endpoint: Endpoint, options: TransportOptions, signal: AbortSignal): Promise<unknown> => {
  const base = options.apiBase.replace(/\/+$/, '');
  const origin = new URL(base).origin;
  const query = endpoint.query ? `?${endpoint.query}` : '';
  const hasBody = endpoint.body !== undefined;
  let response: Dispatcher.ResponseData;
  let text: string;
  try {
    response = await request(`${base}${endpoint.path}${query}`, {
      method: endpoint.method,
      headers: {
        'x-api-key': options.apiKey,
        'user-agent': 'mackerel-replacer',
        ...(hasBody ? { 'content-type': 'application/json' } : {}),
      },
      body: hasBody ? JSON.stringify(endpoint.body) : undefined,
      signal,
      dispatcher: options.dispatcher,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    text = await response.body.text();
  } catch (error) {
    signal.throwIfAborted();
    throw transportFailure(error, origin, options.apiKey);
  }
  if (response.statusCode < 200 || response.statusCode >= 300) throw statusFailure(response, text, options.apiKey);
  return parseBody(text, response.statusCode, origin);
};

const hint = (code: string, endpoint: Endpoint, origin: string): string | undefined => {
  if (code === '401') return 'the API key was rejected: check MACKEREL_APIKEY';
  if (code === '403') {
    const permission = endpoint.method === 'GET' ? 'Read' : 'Write';
    return `the API key lacks ${permission} permission, or this machine's IP is outside the organization's allowed range`;
  }
  if (code === '404') return endpoint.notFound;
  if (code === '429' || /^5\d\d$/.test(code)) return 'Mackerel is throttling or failing; retry later';
  if (isConnectionCode(code)) return `could not reach ${origin}: check the network, any proxy, and MACKEREL_APIBASE`;
  if (code === 'BAD_RESPONSE') return `${origin} does not answer like the Mackerel API: check MACKEREL_APIBASE`;
  return undefined;
};

export const createSend =
  (options: TransportOptions): Send =>
  async (endpoint, { signal }) => {
    const operation = `${endpoint.method} ${endpoint.path}`;
    const onRetry = options.onRetry;
    let attempts = 0;
    try {
      return await withRetry(
        () => {
          attempts += 1;
          return attempt(endpoint, options, signal);
        },
        { policy: options.retry, signal, onRetry: onRetry && ((notice) => onRetry({ ...notice, operation })) },
      );
    } catch (error) {
      if (!(error instanceof AttemptFailed)) throw error;
      const reason = attempts > 1 ? `${error.reason} (after ${attempts} attempts)` : error.reason;
      throw new ApiError('Mackerel', operation, error.code, reason, hint(error.code, endpoint, new URL(options.apiBase).origin));
    }
  };
