// Domain errors. Codes are a closed set; tests and callers match on `code`,
// never on message text. Native (fs-style) errors keep their errno `code` and
// are wrapped with context via `withContext`, which preserves them as `cause`.

export const ErrorCodes = [
  'OSTREE_OBJECT_NOT_FOUND',
  'OSTREE_CORRUPT_OBJECT',
  'OSTREE_REF_NOT_FOUND',
  'OSTREE_INVALID_ARGUMENT',
  'OSTREE_INVALID_CHECKSUM',
  'OSTREE_INVALID_REF',
  'OSTREE_REPO_NOT_FOUND',
  'OSTREE_UNSUPPORTED_MODE',
  'OSTREE_UNSUPPORTED_FILE_TYPE',
  'OSTREE_EXISTS',
  'OSTREE_LOCKED',
  'OSTREE_ABORTED',
  'OSTREE_CONFIG',
  'OSTREE_IO',
  'OSTREE_NOT_FOUND',
  'OSTREE_REMOTE_NOT_FOUND',
  'OSTREE_GPG_VERIFY_FAILED',
  'OSTREE_SIGN_VERIFY_FAILED',
  'OSTREE_HTTP',
  'OSTREE_NETWORK',
  'OSTREE_TIMEOUT',
  'OSTREE_INVALID_STATE',
  'OSTREE_NO_ROLLBACK_TARGET',
] as const;

export type ErrorCode = (typeof ErrorCodes)[number];

/**
 * The one error class of the library for domain failures: `code` is one of
 * {@link ErrorCodes} (stable, match on it, never on the message), `data` holds
 * structured facts (e.g. `{ remote }`) and `cause` keeps the underlying error.
 * I/O failures from `fs` or the native addon stay errno-style errors
 * (`code: 'ENOENT'`, …), usually with context added to the message.
 *
 * @example
 * import { Repo, OstreeError } from 'node-ostree';
 * try {
 *   await Repo.open('/srv/missing');
 * } catch (e) {
 *   if (e instanceof OstreeError && e.code === 'OSTREE_REPO_NOT_FOUND') console.error('no repository there');
 *   else throw e;
 * }
 */
export class OstreeError extends Error {
  readonly code: ErrorCode;
  readonly data: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; data?: Record<string, unknown> } = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'OstreeError';
    this.code = code;
    this.data = options.data ?? {};
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, data: this.data };
  }
}

/** An error from `fs` or the native addon (errno-style). */
export interface ErrnoError extends Error {
  code?: string;
  errno?: number;
  syscall?: string;
  path?: string;
}

export function isErrno(err: unknown, code?: string): err is ErrnoError {
  return err instanceof Error && typeof (err as ErrnoError).code === 'string' && (code === undefined || (err as ErrnoError).code === code);
}

/**
 * Add a context prefix to an error while keeping its code (glnx_prefix_error).
 * OstreeErrors stay OstreeErrors; errno errors keep `code`/`errno`/`syscall`/`path`.
 */
export function withContext(prefix: string, err: unknown): Error {
  if (err instanceof OstreeError) {
    return new OstreeError(err.code, `${prefix}: ${err.message}`, { cause: err, data: err.data });
  }
  if (isErrno(err)) {
    const e = new Error(`${prefix}: ${err.message}`, { cause: err }) as ErrnoError;
    e.code = err.code;
    if (err.errno !== undefined) e.errno = err.errno;
    if (err.syscall !== undefined) e.syscall = err.syscall;
    if (err.path !== undefined) e.path = err.path;
    return e;
  }
  return err instanceof Error ? err : new Error(String(err));
}

export function throwAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new OstreeError('OSTREE_ABORTED', 'Operation was cancelled', { cause: signal.reason });
}

/** g_strerror() texts for the errors a local lookup can hit. */
export function describeErrno(code: string): string {
  const table: Record<string, string> = {
    ENOENT: 'No such file or directory',
    EACCES: 'Permission denied',
    ENOTDIR: 'Not a directory',
    ELOOP: 'Too many levels of symbolic links',
    ENAMETOOLONG: 'File name too long',
    EISDIR: 'Is a directory',
  };
  return table[code] ?? code;
}
