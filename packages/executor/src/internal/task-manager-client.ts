/**
 * Queries to the task-manager over request/reply (`get_tasks`,
 * `cancel_task`), with the reply checked for shape and type.
 */
import type { CancelTaskReply, TaskView } from '@sje/core';
import type { BrokerPort } from '../app-deps.js';
import { askTaskManager, invalidReply, isTaskView } from './task-manager-query.js';

/** Most ids in one `get_tasks` query (the query schema's limit). */
export const MAX_IDS_PER_QUERY = 10_000;

/** Asks the task-manager about tasks. Every call waits at most `timeoutMs`. */
export class TaskManagerClient {
  constructor(
    private readonly broker: BrokerPort,
    private readonly timeoutMs: number,
  ) {}

  /**
   * The tasks `ids`, in order, `null` where the task-manager does not know one.
   * @throws BrokerUnavailableError; SjeError `TASK_MANAGER_UNAVAILABLE` on timeout, `MESSAGE_INVALID` on a bad reply.
   */
  async getTasks(ids: readonly string[]): Promise<(TaskView | null)[]> {
    const chunks: string[][] = [];
    for (let i = 0; i < ids.length; i += MAX_IDS_PER_QUERY) chunks.push(ids.slice(i, i + MAX_IDS_PER_QUERY));
    const replies = await Promise.all(
      chunks.map(async (chunk) => {
        const reply = await askTaskManager(this.broker, { type: 'get_tasks', task_ids: chunk }, this.timeoutMs);
        if (reply.type !== 'tasks') throw invalidReply(`expected 'tasks', got '${reply.type}'`);
        if (!Array.isArray(reply.tasks) || reply.tasks.length !== chunk.length) {
          throw invalidReply(`expected ${chunk.length} tasks`);
        }
        return reply.tasks.map((task, i) => {
          if (task === null) return null;
          if (!isTaskView(task, chunk[i])) throw invalidReply(`entry ${i} is not task ${chunk[i]}`);
          return task;
        });
      }),
    );
    return replies.flat();
  }

  /**
   * Cancels a task now (a `cancel_task` query) and returns the task-manager's answer.
   * @throws as {@link TaskManagerClient.getTasks}.
   */
  async cancelTask(taskId: string): Promise<CancelTaskReply> {
    const reply = await askTaskManager(this.broker, { type: 'cancel_task', task_id: taskId }, this.timeoutMs);
    if (reply.type !== 'cancel_result') throw invalidReply(`expected 'cancel_result', got '${reply.type}'`);
    if (reply.task !== null && !isTaskView(reply.task, taskId)) throw invalidReply(`the task is not ${taskId}`);
    if (typeof reply.changed !== 'boolean') throw invalidReply("'changed' is missing");
    return reply;
  }
}
