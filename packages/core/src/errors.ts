/**
 * Error classes with stable codes, and their wire form.
 *
 * Every error SJE raises on purpose is an {@link SjeError} with a stable `code`
 * (see `docs/errors.md`). Errors cross RabbitMQ as plain data
 * ({@link SerializedError}) and are restored with {@link restoreError}.
 * @module
 */

/** The catalog of error codes SJE uses. Stable: clients may match on them. */
export const ErrorCode = {
  // Input (HTTP 400 family)
  INVALID_JSON: 'SJE_ERR_INVALID_JSON',
  VALIDATION: 'SJE_ERR_VALIDATION',
  UNSUPPORTED_MEDIA_TYPE: 'SJE_ERR_UNSUPPORTED_MEDIA_TYPE',
  PAYLOAD_TOO_LARGE: 'SJE_ERR_PAYLOAD_TOO_LARGE',
  BATCH_TOO_LARGE: 'SJE_ERR_BATCH_TOO_LARGE',
  DEPENDENCY_CYCLE: 'SJE_ERR_DEPENDENCY_CYCLE',
  UNKNOWN_DEPENDENCY: 'SJE_ERR_UNKNOWN_DEPENDENCY',
  NOT_FOUND: 'SJE_ERR_NOT_FOUND',
  TASK_NOT_FOUND: 'SJE_ERR_TASK_NOT_FOUND',
  TASK_ID_CONFLICT: 'SJE_ERR_TASK_ID_CONFLICT',
  TASK_ALREADY_FINAL: 'SJE_ERR_TASK_ALREADY_FINAL',
  WORKFLOW_NOT_FOUND: 'SJE_ERR_WORKFLOW_NOT_FOUND',
  TEMPLATE_NOT_FOUND: 'SJE_ERR_TEMPLATE_NOT_FOUND',
  NOT_WAITING_APPROVAL: 'SJE_ERR_NOT_WAITING_APPROVAL',
  FUNCTION_NOT_ALLOWED: 'SJE_ERR_FUNCTION_NOT_ALLOWED',
  // Access (HTTP 401/403/429)
  UNAUTHORIZED: 'SJE_ERR_UNAUTHORIZED',
  FORBIDDEN: 'SJE_ERR_FORBIDDEN',
  RATE_LIMITED: 'SJE_ERR_RATE_LIMITED',
  // Availability (HTTP 503)
  BROKER_UNAVAILABLE: 'SJE_ERR_BROKER_UNAVAILABLE',
  TASK_MANAGER_UNAVAILABLE: 'SJE_ERR_TASK_MANAGER_UNAVAILABLE',
  SHUTTING_DOWN: 'SJE_ERR_SHUTTING_DOWN',
  // Configuration and start-up
  CONFIG_INVALID: 'SJE_ERR_CONFIG_INVALID',
  PLUGIN_INVALID: 'SJE_ERR_PLUGIN_INVALID',
  HANDLER_INVALID: 'SJE_ERR_HANDLER_INVALID',
  // Execution (carried in a task's `error`)
  HANDLER_ERROR: 'SJE_ERR_HANDLER_ERROR',
  NON_RETRYABLE: 'SJE_ERR_NON_RETRYABLE',
  UNKNOWN_FUNCTION: 'SJE_ERR_UNKNOWN_FUNCTION',
  TASK_TIMEOUT: 'SJE_ERR_TASK_TIMEOUT',
  TASK_CANCELLED: 'SJE_ERR_TASK_CANCELLED',
  WORKER_LOST: 'SJE_ERR_WORKER_LOST',
  POISON_TASK: 'SJE_ERR_POISON_TASK',
  APPROVAL_REJECTED: 'SJE_ERR_APPROVAL_REJECTED',
  RESULT_NOT_SERIALIZABLE: 'SJE_ERR_RESULT_NOT_SERIALIZABLE',
  RESULT_TOO_LARGE: 'SJE_ERR_RESULT_TOO_LARGE',
  // Messaging
  MESSAGE_INVALID: 'SJE_ERR_MESSAGE_INVALID',
  INTERNAL: 'SJE_ERR_INTERNAL',
} as const;

/** One of the stable error codes of {@link ErrorCode}. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Options for {@link SjeError}. */
export interface SjeErrorOptions {
  /** Whether repeating the operation may succeed. @defaultValue false */
  retryable?: boolean;
  /** Structured context (field names, ids); must be JSON-serializable. */
  data?: Record<string, unknown>;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * Base class of every error SJE raises on purpose.
 * @example
 * ```ts
 * throw new SjeError(ErrorCode.TASK_NOT_FOUND, `task ${id} not found`, { data: { task_id: id } });
 * ```
 */
export class SjeError extends Error {
  /** Stable code, e.g. `SJE_ERR_TASK_NOT_FOUND`. */
  readonly code: string;
  /** Whether repeating the operation may succeed. */
  readonly retryable: boolean;
  /** Structured context. */
  readonly data: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: SjeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SjeError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.data = options.data;
  }
}

/**
 * Thrown by a task handler to fail its task without any retry, whatever the
 * task's retry policy says.
 * @example
 * ```ts
 * if (!params.url) throw new NonRetryableError('url is required');
 * ```
 */
export class NonRetryableError extends SjeError {
  constructor(message: string, options: Omit<SjeErrorOptions, 'retryable'> & { code?: string } = {}) {
    super(options.code ?? ErrorCode.NON_RETRYABLE, message, { ...options, retryable: false });
    this.name = 'NonRetryableError';
  }
}

/** Raised when the broker cannot be reached right now. */
export class BrokerUnavailableError extends SjeError {
  constructor(message = 'the message broker is unreachable', cause?: unknown) {
    super(ErrorCode.BROKER_UNAVAILABLE, message, { retryable: true, cause });
    this.name = 'BrokerUnavailableError';
  }
}

/** Raised for invalid configuration; the message names the key. */
export class ConfigError extends SjeError {
  constructor(message: string, data?: Record<string, unknown>) {
    super(ErrorCode.CONFIG_INVALID, message, data === undefined ? {} : { data });
    this.name = 'ConfigError';
  }
}

/** The wire form of an error: plain JSON data. */
export interface SerializedError {
  name: string;
  code: string;
  message: string;
  retryable: boolean;
  data?: Record<string, unknown>;
}

/**
 * Turns any thrown value into its wire form. A plain `Error` becomes
 * `SJE_ERR_HANDLER_ERROR`, retryable; an {@link SjeError} keeps its code and
 * retryability. Stack traces never cross the wire.
 */
export function serializeError(err: unknown): SerializedError {
  if (err instanceof SjeError) {
    const out: SerializedError = { name: err.name, code: err.code, message: err.message, retryable: err.retryable };
    if (err.data !== undefined) out.data = err.data;
    return out;
  }
  if (err instanceof Error) {
    const rawCode = (err as { code?: unknown }).code;
    const code = typeof rawCode === 'string' ? rawCode : ErrorCode.HANDLER_ERROR;
    return { name: err.name || 'Error', code, message: err.message, retryable: true };
  }
  return { name: 'Error', code: ErrorCode.HANDLER_ERROR, message: String(err), retryable: true };
}

/** Rebuilds an {@link SjeError} from its wire form. */
export function restoreError(data: SerializedError): SjeError {
  const opts: SjeErrorOptions = { retryable: data.retryable };
  if (data.data !== undefined) opts.data = data.data;
  const err = new SjeError(data.code, data.message, opts);
  err.name = data.name;
  return err;
}
