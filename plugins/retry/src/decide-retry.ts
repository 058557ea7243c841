/**
 * The retry verdict: the task's own policy over the plugin's defaults.
 * @module
 */
import type { InterceptorCalls, RetryDecision, RetryPolicy } from '@sje/core';
import { backoffDelay, type BackoffParams } from './backoff.js';
import type { RetryOptions } from './retry-options.js';

/** What {@link decideRetry} looks at: the task, the error of its last run, and how that run ended. */
export type RetryInput = InterceptorCalls['retryDecision']['input'];

/** A task's policy with every field filled in. */
export type EffectivePolicy = Required<RetryPolicy>;

/**
 * The policy that applies to a task: each field of `task.retry` when set,
 * else the plugin's default.
 * @example
 * ```ts
 * effectivePolicy({ max_attempts: 3 }, DEFAULT_RETRY_OPTIONS).backoff; // 'exponential'
 * ```
 */
export function effectivePolicy(retry: RetryPolicy | undefined, defaults: RetryOptions): EffectivePolicy {
  return {
    max_attempts: retry?.max_attempts ?? defaults.default_max_attempts,
    backoff: retry?.backoff ?? defaults.backoff,
    delay_ms: retry?.delay_ms ?? defaults.delay_ms,
    max_delay_ms: retry?.max_delay_ms ?? defaults.max_delay_ms,
    jitter: retry?.jitter ?? defaults.jitter,
  };
}

/**
 * Decides whether a failed or timed-out run is retried, and after how long.
 * Never retries an error marked `retryable: false`, a timeout when
 * `retry_timeouts` is off, or a task that used all its attempts.
 * @param random - a source of numbers in `[0, 1)` for jitter. @defaultValue Math.random
 * @example
 * ```ts
 * decideRetry({ task, error, outcome: 'failed' }, DEFAULT_RETRY_OPTIONS);
 * // { retry: true, delay_ms: 734, reason: 'attempt 1 of 3 failed; retrying in 734 ms' }
 * ```
 */
export function decideRetry(input: RetryInput, defaults: RetryOptions, random: () => number = Math.random): RetryDecision {
  const { task, error, outcome } = input;
  const policy = effectivePolicy(task.retry, defaults);
  const what = outcome === 'timed_out' ? 'timed out' : 'failed';
  if (error?.retryable === false) {
    return { retry: false, reason: `not retried: error ${error.code} is not retryable` };
  }
  if (outcome === 'timed_out' && !defaults.retry_timeouts) {
    return { retry: false, reason: 'not retried: timed-out runs are not retried (retry_timeouts is off)' };
  }
  if (task.attempt >= policy.max_attempts) {
    return {
      retry: false,
      reason: policy.max_attempts === 1 ? `not retried: the task allows 1 attempt` : `not retried: all ${policy.max_attempts} attempts used`,
    };
  }
  const params: BackoffParams = { attempt: task.attempt, ...policy };
  const delay = backoffDelay(params, random);
  return { retry: true, delay_ms: delay, reason: `attempt ${task.attempt} of ${policy.max_attempts} ${what}; retrying in ${delay} ms` };
}
