/**
 * `POST /submit`: one task or a `{ tasks: [...] }` batch.
 */
import type { Request, RequestHandler, Response } from 'express';
import { readJsonBody } from '../json-body.js';
import type { RouteContext } from '../route-context.js';
import { SubmitVetoError } from '../submit-service.js';

/** The handler of `POST /submit`. */
export function submitRoute(ctx: RouteContext): RequestHandler {
  return async (req: Request, res: Response): Promise<void> => {
    try {
      const body = await readJsonBody(req, ctx.deps.config.executor.body_limit);
      const answer = await ctx.submit.submit(body);
      if (answer.accepted.length > 0) ctx.metrics.tasksAccepted.inc({ kind: answer.kind }, answer.accepted.length);
      res.status(answer.status).json(answer.body);
    } catch (err) {
      // A plugin's veto keeps its own code; an unknown code is a client error (400), not ours.
      if (err instanceof SubmitVetoError) ctx.fail(res, err.veto, 400);
      else ctx.fail(res, err);
    }
  };
}
