/**
 * The `retry` plugin object: answers the task-manager's `retryDecision` call.
 * @module
 */
import type { SjePlugin } from '@sje/core';
import { decideRetry } from './decide-retry.js';
import { DEFAULT_RETRY_OPTIONS, parseRetryOptions, type RetryOptions } from './retry-options.js';

/** Options of {@link createRetryPlugin}. */
export interface CreateRetryPluginOptions {
  /** A source of numbers in `[0, 1)` for jitter. @defaultValue Math.random */
  random?: () => number;
}

/**
 * Builds a fresh `retry` plugin (each instance keeps its own validated options).
 * The interceptor answers without calling `next`: it is the retry policy. A
 * plugin registered before it wraps it and may change its verdict.
 * @example
 * ```ts
 * await host.register(createRetryPlugin(), { default_max_attempts: 3, backoff: 'fixed' });
 * ```
 */
export function createRetryPlugin(options: CreateRetryPluginOptions = {}): SjePlugin {
  let settings: RetryOptions = { ...DEFAULT_RETRY_OPTIONS };
  const random = options.random ?? Math.random;
  return {
    name: 'retry',
    setup(ctx) {
      settings = parseRetryOptions(ctx.options);
    },
    interceptors: {
      retryDecision: async (input) => decideRetry(input, settings, random),
    },
  };
}
