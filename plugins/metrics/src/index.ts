/**
 * `@sje/plugin-metrics`: Prometheus metrics for every SJE service, registered
 * in the service's own registry and served on its `/metrics`:
 * submits (executor); outcomes, retries, queue wait, run time, tasks in
 * flight and workers online (task-manager); handler runs (worker).
 *
 * @example
 * ```yaml
 * plugins:
 *   - name: metrics
 *     options: { buckets: [0.001, 0.01, 0.1, 1, 10, 60, 600, 3600] }
 * ```
 * ```ts
 * import metrics from '@sje/plugin-metrics';
 * await host.register(metrics, {});
 * ```
 * @module
 */
import { createMetricsPlugin } from './metrics-plugin.js';

export { createMetricsPlugin } from './metrics-plugin.js';
export { DEFAULT_BUCKETS, parseMetricsOptions } from './metrics-options.js';
export type { MetricsOptions } from './metrics-options.js';

/** The `metrics` plugin, as loaded by name from the configuration. */
const metricsPlugin = createMetricsPlugin();
export default metricsPlugin;
