/**
 * Errors the client raises: {@link SjeHttpError} for an error answer of the
 * executor, and {@link SjeError}s with a {@link ClientErrorCode} when no
 * usable answer came back.
 * @module
 */
import { SjeError } from '@sje/core';

/** Codes of errors raised by the client itself (no answer, or an unreadable one). */
export const ClientErrorCode = {
  /** The executor could not be reached (connection refused, reset, DNS). Retryable. */
  NETWORK: 'SJE_ERR_NETWORK',
  /** No answer within the client's `timeoutMs`. Retryable. */
  REQUEST_TIMEOUT: 'SJE_ERR_REQUEST_TIMEOUT',
  /** The answer was not the JSON the API promises. */
  BAD_RESPONSE: 'SJE_ERR_BAD_RESPONSE',
  /** `waitFor` gave up before the task reached a final status. */
  WAIT_TIMEOUT: 'SJE_ERR_WAIT_TIMEOUT',
} as const;

/** One of {@link ClientErrorCode}. */
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** Options of {@link SjeHttpError}. */
export interface SjeHttpErrorOptions {
  /** `error.details` of the answer. */
  details?: Record<string, unknown>;
  /** `Retry-After` of the answer, in milliseconds. */
  retryAfterMs?: number;
}

const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);

/**
 * An error answer of the executor: `{ "error": { "code", "message", "details"? } }`
 * with its HTTP status. Retryable for 429, 502, 503 and 504.
 * @example
 * ```ts
 * try {
 *   await client.status('unknown-id');
 * } catch (err) {
 *   if (err instanceof SjeHttpError && err.code === 'SJE_ERR_TASK_NOT_FOUND') console.log('no such task');
 * }
 * ```
 */
export class SjeHttpError extends SjeError {
  /** HTTP status of the answer. */
  readonly status: number;
  /** `error.details` of the answer (e.g. `field` and `reason` of a validation error). */
  readonly details: Record<string, unknown> | undefined;
  /** How long the executor asked to wait before retrying (`Retry-After`), in ms. */
  readonly retryAfterMs: number | undefined;

  constructor(status: number, code: string, message: string, options: SjeHttpErrorOptions = {}) {
    super(code, message, options.details === undefined ? { retryable: RETRYABLE_STATUSES.has(status) } : { retryable: RETRYABLE_STATUSES.has(status), data: options.details });
    this.name = 'SjeHttpError';
    this.status = status;
    this.details = options.details;
    this.retryAfterMs = options.retryAfterMs;
  }
}
