/**
 * The executor's HTTP application (express 5): the REST API and the ops
 * endpoints, with every error answered as JSON.
 * @module
 */
import { ErrorCode, SjeError } from '@sje/core';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { AppDeps } from './app-deps.js';
import { AcceptedTasks } from './internal/accepted-tasks.js';
import { createApiSecurity } from './internal/auth/api-security.js';
import { CommandPublisher } from './internal/confirmed-publish.js';
import { HttpErrorCode, sendError } from './internal/http-errors.js';
import { createHttpMetrics } from './internal/http-metrics.js';
import type { RouteContext } from './internal/route-context.js';
import { cancelRoute } from './internal/routes/cancel-route.js';
import { healthzRoute, metricsRoute, readyzRoute } from './internal/routes/ops-routes.js';
import { statusRoute } from './internal/routes/status-route.js';
import { submitRoute } from './internal/routes/submit-route.js';
import { workflowRoutes } from './internal/routes/workflow-routes.js';
import { SubmitService } from './internal/submit-service.js';
import { TaskManagerClient } from './internal/task-manager-client.js';
import { TemplateCatalog } from './internal/workflow-templates.js';

function methodNotAllowed(allow: string[]) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    next(new SjeError(HttpErrorCode.METHOD_NOT_ALLOWED, `${req.method} is not allowed on ${req.path}; use ${allow.join(' or ')}`, { data: { allow } }));
  };
}

/**
 * Builds the express application of the REST API. It does not listen and
 * does not connect: the broker in `deps` is used as it is.
 * @example
 * ```ts
 * const rt = await createRuntime('executor', config);
 * const app = createApp({ config, logger: rt.logger, broker: rt.broker, plugins: rt.plugins, metrics: rt.metrics });
 * app.listen(8080);
 * ```
 */
export function createApp(appDeps: AppDeps): express.Express {
  // API keys, tenant scoping and submit limits (see internal/auth).
  const security = createApiSecurity(appDeps);
  const deps = security.deps;
  const isShuttingDown = deps.isShuttingDown ?? ((): boolean => false);
  const taskManager = new TaskManagerClient(deps.broker, deps.config.executor.query_timeout_ms);
  const accepted = new AcceptedTasks({
    ttlMs: deps.acceptedTtlMs ?? 300_000,
    maxEntries: deps.acceptedMaxEntries ?? 100_000,
    visible: security.acceptedVisible,
  });
  const metrics = createHttpMetrics(deps.metrics);
  const commands = new CommandPublisher(deps.broker);
  const submit = new SubmitService({
    publisher: commands,
    broker: deps.broker,
    taskManager,
    plugins: deps.plugins,
    accepted,
    logger: deps.logger,
    maxBatch: deps.config.executor.max_batch,
    publishTimeoutMs: deps.config.executor.publish_timeout_ms,
    // Checked here, so that an invalid template stops the executor at start-up.
    templates: TemplateCatalog.fromConfig(deps.config.workflows),
    guard: security.guard,
  });
  const ctx: RouteContext = {
    deps,
    taskManager,
    accepted,
    submit,
    commands,
    isShuttingDown,
    metrics,
    fail: (res, err, unknownCodeStatus) => {
      const options: Parameters<typeof sendError>[2] = { retryAfterS: deps.config.executor.retry_after_s, logger: deps.logger };
      if (unknownCodeStatus !== undefined) options.unknownCodeStatus = unknownCodeStatus;
      sendError(res, err, options);
    },
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', false);
  app.use(metrics.middleware);
  app.use(security.middleware((res, err) => ctx.fail(res, err)));

  const refuseWhileShuttingDown = (_req: Request, _res: Response, next: NextFunction): void => {
    if (isShuttingDown()) next(new SjeError(ErrorCode.SHUTTING_DOWN, 'the executor is shutting down', { retryable: true }));
    else next();
  };

  app.post('/submit', refuseWhileShuttingDown, submitRoute(ctx));
  app.all('/submit', methodNotAllowed(['POST']));
  app.get('/status/:task_id', refuseWhileShuttingDown, statusRoute(ctx));
  app.all('/status/:task_id', methodNotAllowed(['GET']));
  app.post('/cancel/:task_id', refuseWhileShuttingDown, cancelRoute(ctx));
  app.all('/cancel/:task_id', methodNotAllowed(['POST']));
  const workflows = workflowRoutes(ctx);
  app.get('/workflows/:workflow_id', refuseWhileShuttingDown, workflows.get);
  app.all('/workflows/:workflow_id', methodNotAllowed(['GET']));
  app.post('/workflows/:workflow_id/cancel', refuseWhileShuttingDown, workflows.cancel);
  app.all('/workflows/:workflow_id/cancel', methodNotAllowed(['POST']));
  app.post('/approve/:task_id', refuseWhileShuttingDown, workflows.approve);
  app.all('/approve/:task_id', methodNotAllowed(['POST']));
  app.post('/reject/:task_id', refuseWhileShuttingDown, workflows.reject);
  app.all('/reject/:task_id', methodNotAllowed(['POST']));
  app.get('/healthz', healthzRoute());
  app.all('/healthz', methodNotAllowed(['GET']));
  app.get('/readyz', readyzRoute(ctx));
  app.all('/readyz', methodNotAllowed(['GET']));
  app.get('/metrics', metricsRoute(ctx));
  app.all('/metrics', methodNotAllowed(['GET']));

  app.use((req: Request, _res: Response, next: NextFunction) => {
    next(new SjeError(ErrorCode.NOT_FOUND, `no route ${req.method} ${req.path}`));
  });
  // Express recognises an error handler by its four parameters.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    ctx.fail(res, err);
  });
  return app;
}
