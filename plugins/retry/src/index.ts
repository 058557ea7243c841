/**
 * `@sje/plugin-retry`: the retry policy of SJE. For a failed or timed-out
 * run, the task-manager asks the `retryDecision` interceptor; this plugin
 * answers from the task's `retry` policy over the plugin's defaults, with
 * fixed or exponential backoff, a cap and jitter. The task-manager persists
 * the wait (`retrying` with `not_before`).
 *
 * @example
 * ```yaml
 * plugins:
 *   - name: retry
 *     options: { default_max_attempts: 3, backoff: exponential, delay_ms: 1000, max_delay_ms: 300000 }
 * ```
 * ```ts
 * import retry, { backoffDelay } from '@sje/plugin-retry';
 * await host.register(retry, { default_max_attempts: 3 });
 * backoffDelay({ attempt: 2, backoff: 'exponential', delay_ms: 1000, max_delay_ms: 60_000, jitter: false }); // 2000
 * ```
 * @module
 */
import { createRetryPlugin } from './retry-plugin.js';

export { backoffDelay, baseDelay, jitterDelay } from './backoff.js';
export type { BackoffKind, BackoffParams } from './backoff.js';
export { decideRetry, effectivePolicy } from './decide-retry.js';
export type { EffectivePolicy, RetryInput } from './decide-retry.js';
export { DEFAULT_RETRY_OPTIONS, parseRetryOptions } from './retry-options.js';
export type { RetryOptions } from './retry-options.js';
export { createRetryPlugin } from './retry-plugin.js';
export type { CreateRetryPluginOptions } from './retry-plugin.js';

/** The `retry` plugin, as loaded by name from the configuration. */
const retryPlugin = createRetryPlugin();
export default retryPlugin;
