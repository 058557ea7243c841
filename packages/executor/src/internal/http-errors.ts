/**
 * The one place that maps SJE error codes to HTTP statuses, and writes the
 * JSON error body `{ "error": { "code", "message", "details"? } }`.
 */
import { ErrorCode, SjeError, type Logger } from '@sje/core';
import type { Response } from 'express';

/** Codes only the HTTP layer raises (no counterpart on the wire). */
export const HttpErrorCode = {
  METHOD_NOT_ALLOWED: 'SJE_ERR_METHOD_NOT_ALLOWED',
} as const;

const STATUS_BY_CODE: ReadonlyMap<string, number> = new Map<string, number>([
  [ErrorCode.INVALID_JSON, 400],
  [ErrorCode.VALIDATION, 400],
  [ErrorCode.DEPENDENCY_CYCLE, 400],
  [ErrorCode.UNKNOWN_DEPENDENCY, 400],
  [ErrorCode.FUNCTION_NOT_ALLOWED, 400],
  [ErrorCode.UNAUTHORIZED, 401],
  [ErrorCode.FORBIDDEN, 403],
  [ErrorCode.NOT_FOUND, 404],
  [ErrorCode.TASK_NOT_FOUND, 404],
  [ErrorCode.WORKFLOW_NOT_FOUND, 404],
  [ErrorCode.TEMPLATE_NOT_FOUND, 404],
  [HttpErrorCode.METHOD_NOT_ALLOWED, 405],
  [ErrorCode.TASK_ID_CONFLICT, 409],
  [ErrorCode.TASK_ALREADY_FINAL, 409],
  [ErrorCode.NOT_WAITING_APPROVAL, 409],
  [ErrorCode.PAYLOAD_TOO_LARGE, 413],
  [ErrorCode.BATCH_TOO_LARGE, 413],
  [ErrorCode.RESULT_TOO_LARGE, 413],
  [ErrorCode.UNSUPPORTED_MEDIA_TYPE, 415],
  [ErrorCode.RATE_LIMITED, 429],
  [ErrorCode.INTERNAL, 500],
  [ErrorCode.MESSAGE_INVALID, 502],
  [ErrorCode.BROKER_UNAVAILABLE, 503],
  [ErrorCode.TASK_MANAGER_UNAVAILABLE, 503],
  [ErrorCode.SHUTTING_DOWN, 503],
]);

/** Codes for plain HTTP errors raised by the framework (e.g. a malformed URL escape). */
const CODE_BY_STATUS: ReadonlyMap<number, string> = new Map<number, string>([
  [404, ErrorCode.NOT_FOUND],
  [405, HttpErrorCode.METHOD_NOT_ALLOWED],
  [413, ErrorCode.PAYLOAD_TOO_LARGE],
  [415, ErrorCode.UNSUPPORTED_MEDIA_TYPE],
]);

/** The HTTP status of an error code, if the code is one the API knows. */
export function httpStatusFor(code: string): number | undefined {
  return STATUS_BY_CODE.get(code);
}

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

/** An error turned into what goes on the wire. */
export interface HttpError {
  status: number;
  body: ErrorBody;
}

/**
 * Turns anything thrown into an HTTP error. An {@link SjeError} with a code
 * from the table keeps its code and message; one with another code gets
 * `unknownCodeStatus` (500 by default, where code and message are replaced by
 * a generic internal error). Anything else is an internal error: its message
 * and stack never reach the client.
 */
export function toHttpError(err: unknown, unknownCodeStatus = 500): HttpError {
  if (err instanceof SjeError) {
    const status = httpStatusFor(err.code) ?? unknownCodeStatus;
    if (status >= 500 && httpStatusFor(err.code) === undefined) return internalError();
    return { status, body: errorBody(err.code, err.message, err.data) };
  }
  const status = httpStatusOf(err);
  if (status !== undefined && status >= 400 && status < 500) {
    const code = CODE_BY_STATUS.get(status) ?? ErrorCode.VALIDATION;
    return { status: CODE_BY_STATUS.has(status) ? status : 400, body: errorBody(code, 'malformed request') };
  }
  return internalError();
}

function internalError(): HttpError {
  return { status: 500, body: errorBody(ErrorCode.INTERNAL, 'internal error') };
}

function errorBody(code: string, message: string, details?: Record<string, unknown>): ErrorBody {
  const body: ErrorBody = { error: { code, message } };
  if (details !== undefined && Object.keys(details).length > 0) body.error.details = details;
  return body;
}

function httpStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { status, statusCode } = err as { status?: unknown; statusCode?: unknown };
  if (typeof status === 'number') return status;
  if (typeof statusCode === 'number') return statusCode;
  return undefined;
}

/** What {@link sendError} needs besides the error. */
export interface SendErrorOptions {
  /** `Retry-After` (seconds) sent with every 503. */
  retryAfterS: number;
  logger: Logger;
  /** `unknownCodeStatus` of {@link toHttpError}. */
  unknownCodeStatus?: number;
}

/** Answers `res` with the JSON error of `err` (and `Retry-After` on 503). */
export function sendError(res: Response, err: unknown, options: SendErrorOptions): void {
  const { status, body } = toHttpError(err, options.unknownCodeStatus);
  if (status >= 500) {
    const detail = err instanceof Error ? { err: err.message, stack: err.stack } : { err: String(err) };
    if (status === 503) options.logger.warn('request answered 503', { code: body.error.code, err: detail.err });
    else options.logger.error('request failed', { code: body.error.code, ...detail });
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (status === 503) res.setHeader('Retry-After', String(options.retryAfterS));
  if (status === 405 && err instanceof SjeError && Array.isArray(err.data?.['allow'])) {
    res.setHeader('Allow', (err.data['allow'] as string[]).join(', '));
  }
  res.status(status).json(body);
}
