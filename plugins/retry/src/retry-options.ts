/**
 * The retry plugin's options (`plugins: [{ name: retry, options: {...} }]`)
 * and their validation.
 * @module
 */
import { ErrorCode, SjeError } from '@sje/core';
import type { BackoffKind } from './backoff.js';

/** The retry plugin's options once validated, every default filled in. */
export interface RetryOptions {
  /** Attempts (including the first) of a task that sets no `retry.max_attempts`. @defaultValue 1 (no retry) */
  default_max_attempts: number;
  /** Backoff shape of a task that sets no `retry.backoff`. @defaultValue 'exponential' */
  backoff: BackoffKind;
  /** First (or, for `fixed`, every) wait in ms. @defaultValue 1000 */
  delay_ms: number;
  /** Upper bound of one wait in ms. @defaultValue 300000 */
  max_delay_ms: number;
  /** Draw each wait uniformly between half of it and all of it. @defaultValue true */
  jitter: boolean;
  /** Whether a `timed_out` run is retried like a failed one. @defaultValue true */
  retry_timeouts: boolean;
}

/** Defaults of every option: no retry unless the task asks for one. */
export const DEFAULT_RETRY_OPTIONS: Readonly<RetryOptions> = {
  default_max_attempts: 1,
  backoff: 'exponential',
  delay_ms: 1000,
  max_delay_ms: 300_000,
  jitter: true,
  retry_timeouts: true,
};

const MAX_ATTEMPTS = 100;
const MAX_DELAY = 86_400_000;

function invalid(option: string, message: string, value: unknown): SjeError {
  return new SjeError(ErrorCode.PLUGIN_INVALID, `plugin 'retry': option '${option}' ${message} (got ${JSON.stringify(value)})`, {
    data: { plugin: 'retry', option },
  });
}

function integer(options: Record<string, unknown>, key: keyof RetryOptions, min: number, max: number): number | undefined {
  const v = options[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw invalid(key, `must be an integer from ${min} to ${max}`, v);
  return v;
}

function bool(options: Record<string, unknown>, key: keyof RetryOptions): boolean | undefined {
  const v = options[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw invalid(key, 'must be true or false', v);
  return v;
}

/**
 * Validates the plugin's YAML options and fills in defaults; throws
 * `SJE_ERR_PLUGIN_INVALID` naming the bad option.
 * @example
 * ```ts
 * parseRetryOptions({ backoff: 'fixed' }).delay_ms; // 1000
 * ```
 */
export function parseRetryOptions(options: Record<string, unknown>): RetryOptions {
  for (const key of Object.keys(options)) {
    if (!(key in DEFAULT_RETRY_OPTIONS)) {
      throw invalid(key, `is unknown (known: ${Object.keys(DEFAULT_RETRY_OPTIONS).join(', ')})`, options[key]);
    }
  }
  const backoff = options['backoff'];
  if (backoff !== undefined && backoff !== 'fixed' && backoff !== 'exponential') throw invalid('backoff', "must be 'fixed' or 'exponential'", backoff);
  const out: RetryOptions = {
    default_max_attempts: integer(options, 'default_max_attempts', 1, MAX_ATTEMPTS) ?? DEFAULT_RETRY_OPTIONS.default_max_attempts,
    backoff: backoff ?? DEFAULT_RETRY_OPTIONS.backoff,
    delay_ms: integer(options, 'delay_ms', 0, MAX_DELAY) ?? DEFAULT_RETRY_OPTIONS.delay_ms,
    max_delay_ms: integer(options, 'max_delay_ms', 0, MAX_DELAY) ?? DEFAULT_RETRY_OPTIONS.max_delay_ms,
    jitter: bool(options, 'jitter') ?? DEFAULT_RETRY_OPTIONS.jitter,
    retry_timeouts: bool(options, 'retry_timeouts') ?? DEFAULT_RETRY_OPTIONS.retry_timeouts,
  };
  return out;
}
