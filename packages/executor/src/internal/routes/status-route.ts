/**
 * `GET /status/:task_id`: the task's view from the task store, or the
 * "accepted, not yet recorded" answer for a task this executor accepted a
 * moment ago. With `executor.status_reads: store_first` (the default) the
 * view is read from the task store itself when the active task-manager has
 * named a store this executor can reach — its SQLite file on this host, or
 * its PostgreSQL tables (see `store-task-reader.ts`) — and otherwise as
 * with `ops_first`: from the
 * task-managers' ops endpoints — one keep-alive HTTP hop to the active
 * task-manager — and from the query over RabbitMQ when none of them answers;
 * with `broker_first` the query goes first. Either way, while the broker is
 * away (or the task-manager does not answer the query in time) the ops
 * endpoints not yet asked are the last resort.
 */
import { ErrorCode, isValidTaskId, SjeError, type TaskView } from '@sje/core';
import type { Request, RequestHandler, Response } from 'express';
import { isQueryUnavailable, OpsTaskReader } from '../ops-task-reader.js';
import type { RouteContext } from '../route-context.js';
import { StoreTaskReader } from '../store-task-reader.js';

/** Reads and checks the `:task_id` path parameter. */
export function taskIdParam(req: Request): string {
  const id = req.params['task_id'];
  if (!isValidTaskId(id)) {
    throw new SjeError(ErrorCode.VALIDATION, 'task_id must be 1-200 characters of [A-Za-z0-9._:-]', {
      data: { field: 'task_id', reason: 'invalid task id' },
    });
  }
  return id;
}

/** The handler of `GET /status/:task_id`. */
export function statusRoute(ctx: RouteContext): RequestHandler {
  const { config, logger, broker } = ctx.deps;
  const ops = new OpsTaskReader({
    urls: config.executor.task_manager_urls,
    opsToken: config.security.ops_token,
    prefix: broker.topology.prefix,
    logger,
  });
  const reads = config.executor.status_reads;
  // The store is trusted only once a task-manager's ops endpoint has named it: without one, never read.
  const storeReads =
    ops.enabled && reads === 'store_first'
      ? new StoreTaskReader({ identify: () => ops.getStoreIdentity(), postgresUrl: config.task_manager.postgres_url, logger })
      : undefined;
  storeReads?.start();
  ctx.deps.onClose?.(() => {
    storeReads?.close();
    ops.close();
  });
  const opsFirst = ops.enabled && reads !== 'broker_first';
  return async (req: Request, res: Response): Promise<void> => {
    try {
      const taskId = taskIdParam(req);
      const tried = new Set<string>();
      let source: 'store' | 'ops' | 'broker' = 'store';
      let view: TaskView | null | undefined = await storeReads?.getTask(taskId);
      if (view === undefined && opsFirst) {
        source = 'ops';
        view = await ops.getTask(taskId, { skipResting: true, tried });
      }
      if (view === undefined) {
        try {
          source = 'broker';
          [view] = await ctx.taskManager.getTasks([taskId]);
        } catch (err) {
          if (!ops.enabled || !isQueryUnavailable(err)) throw err;
          source = 'ops';
          view = await ops.getTask(taskId, { tried });
          if (view === undefined) throw err;
        }
      }
      ctx.metrics.statusReads.inc({ source });
      if (view) {
        res.status(200).json(view);
        return;
      }
      const accepted = ctx.accepted.get(taskId);
      if (accepted) {
        res.status(200).json({ task_id: taskId, function: accepted.function, status: 'pending', attempt: 0, accepted: true });
        return;
      }
      throw new SjeError(ErrorCode.TASK_NOT_FOUND, `task ${taskId} not found`, { data: { task_id: taskId } });
    } catch (err) {
      ctx.fail(res, err);
    }
  };
}
