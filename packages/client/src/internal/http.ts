/**
 * One JSON request to the executor with a timeout, turning error answers
 * into {@link SjeHttpError} and transport failures into client errors.
 */
import { SjeError } from '@sje/core';
import { ClientErrorCode, SjeHttpError, type SjeHttpErrorOptions } from '../errors.js';

/** How requests are made. */
export interface HttpSettings {
  /** Base URL without a trailing slash. */
  baseUrl: string;
  apiKey?: string;
  timeoutMs: number;
  fetch: typeof fetch;
}

/** A successful answer. */
export interface JsonAnswer<T> {
  status: number;
  body: T;
}

function parseRetryAfter(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function errorFromBody(status: number, body: unknown, retryAfterMs: number | undefined): SjeHttpError {
  const options: SjeHttpErrorOptions = {};
  if (retryAfterMs !== undefined) options.retryAfterMs = retryAfterMs;
  const error = typeof body === 'object' && body !== null ? (body as { error?: unknown }).error : undefined;
  if (typeof error === 'object' && error !== null) {
    const { code, message, details } = error as { code?: unknown; message?: unknown; details?: unknown };
    if (typeof details === 'object' && details !== null && !Array.isArray(details)) options.details = details as Record<string, unknown>;
    if (typeof code === 'string') return new SjeHttpError(status, code, typeof message === 'string' ? message : code, options);
  }
  return new SjeHttpError(status, ClientErrorCode.BAD_RESPONSE, `the executor answered ${status} without an SJE error body`, options);
}

/**
 * Sends `method path` with an optional JSON body and returns the parsed JSON answer.
 * @throws SjeHttpError for a non-2xx answer; SjeError with a {@link ClientErrorCode} when there is no usable answer.
 */
export async function requestJson<T>(settings: HttpSettings, method: 'GET' | 'POST', path: string, body?: unknown): Promise<JsonAnswer<T>> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (settings.apiKey !== undefined) headers['authorization'] = `Bearer ${settings.apiKey}`;
  const init: RequestInit = { method, headers, signal: AbortSignal.timeout(settings.timeoutMs) };
  if (body !== undefined) init.body = JSON.stringify(body);
  const url = `${settings.baseUrl}${path}`;
  let res: Response;
  let text: string;
  try {
    res = await settings.fetch(url, init);
    text = await res.text();
  } catch (err) {
    const name = (err as { name?: unknown }).name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      throw new SjeError(ClientErrorCode.REQUEST_TIMEOUT, `no answer from ${method} ${url} within ${settings.timeoutMs} ms`, { retryable: true, cause: err });
    }
    throw new SjeError(ClientErrorCode.NETWORK, `${method} ${url} failed: ${(err as Error).message}`, { retryable: true, cause: err });
  }
  let parsed: unknown;
  try {
    parsed = text.length === 0 ? undefined : (JSON.parse(text) as unknown);
  } catch {
    parsed = undefined;
  }
  if (!res.ok) throw errorFromBody(res.status, parsed, parseRetryAfter(res.headers.get('retry-after')));
  if (typeof parsed !== 'object' || parsed === null) {
    throw new SjeError(ClientErrorCode.BAD_RESPONSE, `${method} ${url} answered ${res.status} without a JSON object`);
  }
  return { status: res.status, body: parsed as T };
}
