/**
 * The `metrics` plugin object: Prometheus metrics of the service it runs in,
 * registered in that service's registry (served on `/metrics`).
 * @module
 */
import type { SjePlugin } from '@sje/core';
import { ExecutorMetrics } from './internal/executor-metrics.js';
import { TaskManagerMetrics } from './internal/task-manager-metrics.js';
import { WorkerMetrics } from './internal/worker-metrics.js';
import { parseMetricsOptions } from './metrics-options.js';

/**
 * Builds a fresh `metrics` plugin. In `setup` it registers only the metrics
 * of `ctx.service`; the hooks of other services are no-ops.
 * @example
 * ```ts
 * await host.register(createMetricsPlugin(), { buckets: [0.01, 0.1, 1, 10, 60] });
 * ```
 */
export function createMetricsPlugin(): SjePlugin {
  let executor: ExecutorMetrics | undefined;
  let taskManager: TaskManagerMetrics | undefined;
  let worker: WorkerMetrics | undefined;
  return {
    name: 'metrics',
    setup(ctx) {
      const { buckets } = parseMetricsOptions(ctx.options);
      if (ctx.service === 'executor') executor = new ExecutorMetrics(ctx.metrics);
      else if (ctx.service === 'task-manager') taskManager = new TaskManagerMetrics(ctx.metrics, buckets);
      else worker = new WorkerMetrics(ctx.metrics, buckets);
    },
    hooks: {
      afterSubmit: (payload) => executor?.afterSubmit(payload),
      onTaskStateChange: ({ event }) => taskManager?.onTaskStateChange(event),
      onWorkerOnline: (payload) => taskManager?.onWorkerOnline(payload),
      onWorkerOffline: (payload) => taskManager?.onWorkerOffline(payload),
      beforeExecute: () => worker?.beforeExecute(),
      afterExecute: (payload) => worker?.afterExecute(payload),
    },
  };
}
