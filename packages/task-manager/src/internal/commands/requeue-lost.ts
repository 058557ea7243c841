/**
 * A worker was lost (no heartbeat in time, or its lease is gone): each of its
 * running tasks is re-queued under a new lease, or failed as poison once it
 * has been handed out `maxDeliveries` times.
 */
import { ErrorCode } from '@sje/core';
import { enqueueTask } from '../dispatcher.js';
import type { TaskRecord } from '@sje/store';
import type { UnitOfWork } from '../unit-of-work.js';
import type { CommandContext } from './command-context.js';
import { applyFailure } from './outcome.js';

/** Re-queues (or fails as poison) the given running tasks of a lost worker; `reason` goes into their history. */
export async function requeueLostTasks(uow: UnitOfWork, ctx: CommandContext, workerId: string, running: TaskRecord[], reason = `worker ${workerId} lost`): Promise<number> {
  let n = 0;
  for (const stale of running) {
    const record = await uow.get(stale.task_id);
    if (!record || record.status !== 'running' || record.worker_id !== workerId) continue;
    n += 1;
    if (record.deliveries >= ctx.maxDeliveries) {
      ctx.logger.warn('task lost its worker too often; failing it as poison', { task_id: record.task_id, deliveries: record.deliveries });
      await applyFailure(uow, ctx, record, 'failed', {
        name: 'SjeError',
        code: ErrorCode.POISON_TASK,
        message: `the task's worker was lost ${record.deliveries} times (last: ${workerId}); not retried`,
        retryable: false,
      });
      continue;
    }
    await enqueueTask(uow, ctx.topology, record, { newAttempt: false, reason, avoid: workerId });
  }
  return n;
}
