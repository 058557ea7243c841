/**
 * `GET /status/:task_id`: the task's view from the task-manager, or the
 * "accepted, not yet recorded" answer for a task this executor accepted a
 * moment ago.
 */
import { ErrorCode, isValidTaskId, SjeError } from '@sje/core';
import type { Request, RequestHandler, Response } from 'express';
import type { RouteContext } from '../route-context.js';

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
  return async (req: Request, res: Response): Promise<void> => {
    try {
      const taskId = taskIdParam(req);
      const [view] = await ctx.taskManager.getTasks([taskId]);
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
