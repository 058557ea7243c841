import { ErrorCode, serializeError, SjeError, type RunOutcome, type SerializedError } from '@sje/core';
import type { AbortReason } from '../task-handler.js';

/** How a run ended, before it is put on the wire. */
export interface RunReport {
  outcome: RunOutcome;
  /** A succeeded run's result as JSON: made once, and put into the outcome report as it is. */
  resultJson?: string;
  error?: SerializedError;
}

/** What a handler's call came to: its value, or what it threw. */
export type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * The JSON of a handler's result: `undefined` becomes `null`, anything
 * `JSON.stringify` refuses (BigInt, cycles, a bare function) is an error, and
 * so is a result whose JSON is larger than `maxBytes` (`worker.max_result_bytes`):
 * it fails with `SJE_ERR_RESULT_TOO_LARGE`, never cut short.
 */
export function toJsonResult(value: unknown, maxBytes = Infinity): { ok: true; json: string } | { ok: false; error: SerializedError } {
  if (value === undefined) return { ok: true, json: 'null' };
  let text: string | undefined;
  let reason = 'it has no JSON form';
  try {
    text = JSON.stringify(value);
  } catch (err) {
    reason = err instanceof Error ? err.message : String(err);
  }
  if (text === undefined) {
    const error = new SjeError(ErrorCode.RESULT_NOT_SERIALIZABLE, `the handler's result is not JSON-serializable: ${reason}`, { retryable: false });
    return { ok: false, error: serializeError(error) };
  }
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) {
    const error = new SjeError(ErrorCode.RESULT_TOO_LARGE, `the handler's result is ${bytes} bytes of JSON, more than the ${maxBytes} allowed (worker.max_result_bytes)`, {
      retryable: false,
      data: { bytes, max_bytes: maxBytes },
    });
    return { ok: false, error: serializeError(error) };
  }
  return { ok: true, json: text };
}

/** The report of a run whose handler settled on its own; a result over `maxResultBytes` fails the run. */
export function settledReport(settled: Settled, maxResultBytes = Infinity): RunReport {
  if (!settled.ok) return { outcome: 'failed', error: serializeError(settled.error) };
  const json = toJsonResult(settled.value, maxResultBytes);
  return json.ok ? { outcome: 'succeeded', resultJson: json.json } : { outcome: 'failed', error: json.error };
}

/** The report of a run ended by its abort signal. */
export function abortReport(reason: AbortReason, timeoutMs?: number): RunReport {
  switch (reason) {
    case 'timed_out': {
      const message = timeoutMs === undefined ? 'the task timed out' : `the task did not finish within its timeout of ${timeoutMs} ms`;
      return { outcome: 'timed_out', error: serializeError(new SjeError(ErrorCode.TASK_TIMEOUT, message, { retryable: true })) };
    }
    case 'cancelled':
      return { outcome: 'cancelled', error: serializeError(new SjeError(ErrorCode.TASK_CANCELLED, 'the task was cancelled')) };
    case 'lease_lost':
      return {
        outcome: 'cancelled',
        error: serializeError(new SjeError(ErrorCode.TASK_CANCELLED, 'the run was aborted: the task-manager no longer holds its lease')),
      };
    case 'shutdown':
      return {
        outcome: 'requeue',
        error: serializeError(new SjeError(ErrorCode.SHUTTING_DOWN, 'the worker shut down before the task finished', { retryable: true })),
      };
  }
}
