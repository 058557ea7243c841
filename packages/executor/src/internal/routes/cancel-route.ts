/**
 * `POST /cancel/:task_id`: a `cancel_task` query, answered with the task's
 * new status. A task accepted a moment ago that the task-manager has not
 * recorded yet is cancelled through a `cancel` command queued behind its
 * submit (202). When no task has the id but a workflow does, the whole
 * workflow is cancelled and its view is the answer.
 */
import { ErrorCode, SjeError, type CancelCommand } from '@sje/core';
import type { Request, RequestHandler, Response } from 'express';
import type { RouteContext } from '../route-context.js';
import { WorkflowQueries } from '../workflow-queries.js';
import { taskIdParam } from './status-route.js';

/** The handler of `POST /cancel/:task_id`. */
export function cancelRoute(ctx: RouteContext): RequestHandler {
  const workflows = new WorkflowQueries(ctx.deps.broker, ctx.deps.config.executor.query_timeout_ms);
  return async (req: Request, res: Response): Promise<void> => {
    try {
      const taskId = taskIdParam(req);
      const reply = await ctx.taskManager.cancelTask(taskId);
      if (reply.task === null) {
        if (ctx.accepted.get(taskId) === undefined) {
          const workflow = await workflows.cancelWorkflow(taskId);
          if (workflow !== null) {
            res.status(200).json(workflow);
            return;
          }
          throw new SjeError(ErrorCode.TASK_NOT_FOUND, `task ${taskId} not found`, { data: { task_id: taskId } });
        }
        const command: CancelCommand = { type: 'cancel', task_id: taskId, requested_at: new Date().toISOString() };
        await ctx.commands.publish(command, ctx.deps.config.executor.publish_timeout_ms);
        res.status(202).json({ task_id: taskId, status: 'pending', accepted: true, cancel_requested: true });
        return;
      }
      if (!reply.changed) {
        throw new SjeError(ErrorCode.TASK_ALREADY_FINAL, `task ${taskId} is already ${reply.task.status}`, {
          data: { task_id: taskId, status: reply.task.status },
        });
      }
      res.status(200).json({ task_id: taskId, status: reply.task.status });
    } catch (err) {
      ctx.fail(res, err);
    }
  };
}
