/**
 * `GET /workflows/:workflow_id`, `POST /workflows/:workflow_id/cancel`,
 * `POST /approve/:task_id` and `POST /reject/:task_id`.
 */
import { ErrorCode, isValidTaskId, SjeError } from '@sje/core';
import type { Request, RequestHandler, Response } from 'express';
import { readApprovalBody } from '../approval-body.js';
import type { RouteContext } from '../route-context.js';
import { WorkflowQueries } from '../workflow-queries.js';
import { taskIdParam } from './status-route.js';

/** The handlers of the workflow and approval routes. */
export interface WorkflowRoutes {
  /** `GET /workflows/:workflow_id`. */
  get: RequestHandler;
  /** `POST /workflows/:workflow_id/cancel`. */
  cancel: RequestHandler;
  /** `POST /approve/:task_id`. */
  approve: RequestHandler;
  /** `POST /reject/:task_id`. */
  reject: RequestHandler;
}

/** Reads and checks the `:workflow_id` path parameter. */
export function workflowIdParam(req: Request): string {
  const id = req.params['workflow_id'];
  if (!isValidTaskId(id)) {
    throw new SjeError(ErrorCode.VALIDATION, 'workflow_id must be 1-200 characters of [A-Za-z0-9._:-]', {
      data: { field: 'workflow_id', reason: 'invalid workflow id' },
    });
  }
  return id;
}

function workflowNotFound(id: string): SjeError {
  return new SjeError(ErrorCode.WORKFLOW_NOT_FOUND, `workflow ${id} not found`, { data: { workflow_id: id } });
}

/** Builds the workflow and approval handlers, sharing one task-manager client. */
export function workflowRoutes(ctx: RouteContext): WorkflowRoutes {
  const queries = new WorkflowQueries(ctx.deps.broker, ctx.deps.config.executor.query_timeout_ms);

  const decide = (approve: boolean): RequestHandler => {
    return async (req: Request, res: Response): Promise<void> => {
      try {
        const taskId = taskIdParam(req);
        const { comment } = await readApprovalBody(req, ctx.deps.config.executor.body_limit);
        const reply = await queries.decideApproval(taskId, approve, comment);
        if (reply.task === null) {
          if (ctx.accepted.get(taskId) !== undefined) {
            // Accepted a moment ago and not recorded yet: it cannot be waiting for a decision.
            throw new SjeError(ErrorCode.NOT_WAITING_APPROVAL, `task ${taskId} is not waiting for approval (status pending)`, {
              data: { task_id: taskId, status: 'pending' },
            });
          }
          throw new SjeError(ErrorCode.TASK_NOT_FOUND, `task ${taskId} not found`, { data: { task_id: taskId } });
        }
        if (!reply.changed) {
          throw new SjeError(ErrorCode.NOT_WAITING_APPROVAL, `task ${taskId} is not waiting for approval (status ${reply.task.status})`, {
            data: { task_id: taskId, status: reply.task.status },
          });
        }
        res.status(200).json({ task_id: taskId, status: reply.task.status });
      } catch (err) {
        ctx.fail(res, err);
      }
    };
  };

  return {
    get: async (req: Request, res: Response): Promise<void> => {
      try {
        const id = workflowIdParam(req);
        const view = await queries.getWorkflow(id);
        if (view === null) throw workflowNotFound(id);
        res.status(200).json(view);
      } catch (err) {
        ctx.fail(res, err);
      }
    },
    cancel: async (req: Request, res: Response): Promise<void> => {
      try {
        const id = workflowIdParam(req);
        const view = await queries.cancelWorkflow(id);
        if (view === null) throw workflowNotFound(id);
        res.status(200).json(view);
      } catch (err) {
        ctx.fail(res, err);
      }
    },
    approve: decide(true),
    reject: decide(false),
  };
}
