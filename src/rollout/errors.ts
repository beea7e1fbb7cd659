// Errors the tool raises on purpose. Anything else reaching the CLI is a bug (exit 1).

/** Bad flags or config, or a preflight/snapshot check failed: nothing was changed (exit 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** A config file problem: names the file, the field path and what is allowed. */
export class ConfigError extends UsageError {
  constructor(
    readonly file: string,
    readonly path: string,
    readonly problem: string,
  ) {
    super(path ? `${file}: ${path}: ${problem}` : `${file}: ${problem}`);
  }
}

export type Api = 'EC2' | 'ELBv2' | 'Service Quotas' | 'STS' | 'Mackerel';

/** A call to AWS or Mackerel failed after its retries: says which call, why, and what to do. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly api: Api,
    readonly operation: string,
    /** The service's own error code (`InsufficientInstanceCapacity`, `429`, …). */
    readonly code: string,
    readonly reason: string,
    readonly hint?: string,
  ) {
    super(`${api} ${operation} failed: ${code}: ${reason}`);
  }
}

/**
 * The journal could not keep a deploy's record (disk full, read-only, I/O error, folder gone): the
 * deploy stops as on a signal and undoes what it started; the record there is out of date.
 */
export class JournalError extends Error {
  override readonly name = 'JournalError';
}

/** The message of anything thrown, for a progress line or a leftover. */
export const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** A connection dropped, refused or timed out: no answer at all (undici's codes and Node's). */
export const CONNECTION_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
]);

/** AWS's codes for throttling and for its own failures (5xx). */
const AWS_TRANSIENT = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'Unavailable',
  'TimeoutError',
]);

/** A call that failed after its retries for a reason that may heal: throttling, a 5xx, a dropped connection. */
export const isTransient = (error: unknown): error is ApiError =>
  error instanceof ApiError && (AWS_TRANSIENT.has(error.code) || CONNECTION_CODES.has(error.code) || /^(429|5\d\d)$/.test(error.code));
