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

export type Api = 'EC2' | 'ELBv2' | 'Service Quotas' | 'Mackerel';

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
