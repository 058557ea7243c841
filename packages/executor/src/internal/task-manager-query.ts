/**
 * One query to the task-manager over request/reply: what every executor-side
 * query shares — the request with a timeout, an `error` reply turned back
 * into the error it carries, and the error for a reply of the wrong shape.
 */
import { ErrorCode, restoreError, SjeError, validators, type TaskManagerQuery, type TaskManagerReply, type TaskView } from '@sje/core';
import type { BrokerPort } from '../app-deps.js';

/** The error for a reply the executor cannot use. */
export function invalidReply(reason: string): SjeError {
  return new SjeError(ErrorCode.MESSAGE_INVALID, `the task-manager sent an invalid reply: ${reason}`);
}

/** Whether `value` looks like a task view (of task `id`, when given). */
export function isTaskView(value: unknown, id?: string): value is TaskView {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v['task_id'] === 'string' && (id === undefined || v['task_id'] === id) && typeof v['function'] === 'string' && typeof v['status'] === 'string';
}

/**
 * Sends a query and returns the reply; an `error` reply is thrown as the error it carries.
 * @throws BrokerUnavailableError; SjeError `TASK_MANAGER_UNAVAILABLE` on timeout.
 */
export async function askTaskManager(broker: BrokerPort, query: TaskManagerQuery, timeoutMs: number): Promise<Exclude<TaskManagerReply, { type: 'error' }>> {
  const reply = await broker.request(broker.topology.routingKeys.query, query, validators.reply, timeoutMs);
  if (reply.type === 'error') throw restoreError(reply.error);
  return reply;
}
