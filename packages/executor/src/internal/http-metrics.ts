/**
 * The REST API's own Prometheus metrics: requests by route and status, their
 * duration, tasks accepted, and where `/status` found its answers.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** The API's metrics, registered in the service registry. */
export interface HttpMetrics {
  /** Counts requests and times them; route label is the matched route pattern. */
  middleware: RequestHandler;
  /** Tasks accepted (201), by request kind. */
  tasksAccepted: Counter<'kind'>;
  /** `GET /status` reads by where the answer came from: `store` (the task store itself), `ops` (an ops endpoint) or `broker` (the query). */
  statusReads: Counter<'source'>;
}

function existing<T>(registry: Registry, name: string): T | undefined {
  return registry.getSingleMetric(name) as T | undefined;
}

/** The counter `name` of `registry`, made with `help` and `labels` if it is not there yet. */
function counter<L extends string>(registry: Registry, name: string, help: string, labels: readonly L[]): Counter<L> {
  return existing<Counter<L>>(registry, name) ?? new Counter({ name, help, labelNames: labels, registers: [registry] });
}

/** Creates (or reuses, for a second app on the same registry) the API metrics. */
export function createHttpMetrics(registry: Registry): HttpMetrics {
  const requests = counter(
    registry,
    'sje_executor_http_requests_total',
    'HTTP requests answered by the executor, by method, route and status.',
    ['method', 'route', 'status'] as const,
  );
  const duration =
    existing<Histogram<'method' | 'route'>>(registry, 'sje_executor_http_request_duration_seconds') ??
    new Histogram({
      name: 'sje_executor_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by method and route.',
      labelNames: ['method', 'route'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
  const tasksAccepted = counter(
    registry,
    'sje_executor_tasks_accepted_total',
    'Tasks accepted by POST /submit (answered 201), by request kind (single or batch).',
    ['kind'] as const,
  );
  const statusReads = counter(
    registry,
    'sje_executor_status_reads_total',
    'GET /status reads answered, by where the answer came from: store (the task store itself, read by this executor), ops (a task-manager ops endpoint) or broker (the query over RabbitMQ).',
    ['source'] as const,
  );
  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const routePath: unknown = (req.route as { path?: unknown } | undefined)?.path;
      const route = typeof routePath === 'string' ? routePath : 'unmatched';
      requests.inc({ method: req.method, route, status: String(res.statusCode) });
      duration.observe({ method: req.method, route }, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
  return { middleware, tasksAccepted, statusReads };
}
