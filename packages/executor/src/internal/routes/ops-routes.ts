/**
 * `GET /healthz`, `GET /readyz` and `GET /metrics`.
 */
import type { Request, RequestHandler, Response } from 'express';
import type { RouteContext } from '../route-context.js';

/** `GET /healthz`: the process is alive. */
export function healthzRoute(): RequestHandler {
  return (_req: Request, res: Response): void => {
    res.status(200).json({ status: 'ok' });
  };
}

/** `GET /readyz`: 200 when the broker is connected and the executor is not shutting down. */
export function readyzRoute(ctx: RouteContext): RequestHandler {
  return (_req: Request, res: Response): void => {
    const checks = { broker: ctx.deps.broker.connected, shutting_down: ctx.isShuttingDown() };
    const ready = checks.broker && !checks.shutting_down;
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
  };
}

/** `GET /metrics`: the service's Prometheus registry as text. */
export function metricsRoute(ctx: RouteContext): RequestHandler {
  return async (_req: Request, res: Response): Promise<void> => {
    try {
      const text = await ctx.deps.metrics.metrics();
      res.status(200).type(ctx.deps.metrics.contentType).send(text);
    } catch (err) {
      ctx.fail(res, err);
    }
  };
}
