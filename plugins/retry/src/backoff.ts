/**
 * Backoff maths of the retry policy: pure functions, no I/O, no clock.
 * @module
 */

/** The shape of the wait between attempts. */
export type BackoffKind = 'fixed' | 'exponential';

/** Inputs of {@link backoffDelay}. */
export interface BackoffParams {
  /** The attempt that just ended (1 for the first run). */
  attempt: number;
  /** `fixed`: the same wait every time; `exponential`: doubles after each attempt. */
  backoff: BackoffKind;
  /** The first (or, for `fixed`, every) wait in milliseconds. */
  delay_ms: number;
  /** Upper bound of one wait in milliseconds, applied to both shapes. */
  max_delay_ms: number;
  /** Draw the wait uniformly between half of it and all of it. */
  jitter: boolean;
}

/**
 * The wait before the next attempt, before jitter: `fixed` → `delay_ms`;
 * `exponential` → `delay_ms * 2^(attempt-1)`; either capped at `max_delay_ms`.
 * @example
 * ```ts
 * baseDelay({ attempt: 3, backoff: 'exponential', delay_ms: 1000, max_delay_ms: 300_000, jitter: false }); // 4000
 * ```
 */
export function baseDelay(params: BackoffParams): number {
  const attempt = Math.max(1, Math.floor(params.attempt));
  const delay = Math.max(0, params.delay_ms);
  const cap = Math.max(0, params.max_delay_ms);
  const raw = params.backoff === 'fixed' ? delay : delay * 2 ** (attempt - 1);
  return Math.floor(Math.min(cap, raw));
}

/**
 * Applies jitter to a wait: an integer drawn uniformly in
 * `[ceil(delay/2), delay]`, so a jittered wait is never longer than the
 * un-jittered one and never shorter than half of it.
 * @param random - a source of numbers in `[0, 1)`. @defaultValue Math.random
 * @example
 * ```ts
 * jitterDelay(1000, () => 0); // 500
 * ```
 */
export function jitterDelay(delay: number, random: () => number = Math.random): number {
  const high = Math.max(0, Math.floor(delay));
  const low = Math.ceil(high / 2);
  const r = Math.min(Math.max(random(), 0), 1 - Number.EPSILON);
  return low + Math.floor(r * (high - low + 1));
}

/**
 * The wait in milliseconds before the attempt that follows `params.attempt`.
 * @param random - a source of numbers in `[0, 1)`, used only with jitter. @defaultValue Math.random
 * @example
 * ```ts
 * backoffDelay({ attempt: 2, backoff: 'exponential', delay_ms: 500, max_delay_ms: 60_000, jitter: true }); // 500..1000
 * ```
 */
export function backoffDelay(params: BackoffParams, random: () => number = Math.random): number {
  const base = baseDelay(params);
  return params.jitter ? jitterDelay(base, random) : base;
}
