import { ErrorCode, SjeError } from '@sje/core';
import type { TaskHandler } from '../task-handler.js';

/** The shape of a task function name (as the REST API accepts it). */
const FUNCTION_NAME = /^[A-Za-z0-9_.:-]{1,200}$/;

/**
 * Checks a handler record and returns it as a map. A value that is not a
 * function, or a name no task could carry, is an `SJE_ERR_HANDLER_INVALID`
 * naming it.
 */
export function validateHandlers(handlers: unknown, source = 'handlers'): Map<string, TaskHandler> {
  if (typeof handlers !== 'object' || handlers === null || Array.isArray(handlers)) {
    throw new SjeError(ErrorCode.HANDLER_INVALID, `${source} must be an object of functions keyed by task function name`);
  }
  const out = new Map<string, TaskHandler>();
  for (const [name, fn] of Object.entries(handlers)) {
    if (typeof fn !== 'function') {
      throw new SjeError(ErrorCode.HANDLER_INVALID, `handler '${name}' in ${source} must be a function, got ${fn === null ? 'null' : typeof fn}`, {
        data: { function: name },
      });
    }
    if (!FUNCTION_NAME.test(name)) {
      throw new SjeError(ErrorCode.HANDLER_INVALID, `handler name '${name}' in ${source} is not a valid task function name (1-200 chars of [A-Za-z0-9_.:-])`, {
        data: { function: name },
      });
    }
    out.set(name, fn as TaskHandler);
  }
  return out;
}
