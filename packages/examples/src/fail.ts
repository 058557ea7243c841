import { NonRetryableError } from '@sje/core';

/** Parameters of {@link fail}. */
export interface FailParams {
  /** The error message. @defaultValue 'failed on purpose' */
  message?: string;
  /** `false` throws a `NonRetryableError`, so no retry policy retries the task. @defaultValue true */
  retryable?: boolean;
}

/**
 * Always throws: an `Error` with `message`, or a `NonRetryableError` when
 * `retryable` is `false`. Useful to try retry policies.
 * @example
 * ```ts
 * fail({ message: 'boom', retryable: false }); // throws NonRetryableError('boom')
 * ```
 */
export function fail(params: FailParams): never {
  const message = typeof params.message === 'string' && params.message.length > 0 ? params.message : 'failed on purpose';
  if (params.retryable === false) throw new NonRetryableError(message);
  throw new Error(message);
}
