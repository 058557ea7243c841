/**
 * `outcome`: a run ended. Applied only for the task's current lease while it
 * is `running`, so a duplicate or late report changes nothing. Failures ask
 * the `retryDecision` interceptor whether to retry.
 */
import { ErrorCode, type OutcomeReport, type RetryDecision, type SerializedError } from '@sje/core';
import { enqueueTask } from '../dispatcher.js';
import { type TaskRecord, toView } from '@sje/store';
import { transition } from '../transitions.js';
import type { UnitOfWork } from '../unit-of-work.js';
import type { CommandContext } from './command-context.js';

/** Whether the report was applied (false: stale or duplicate). */
export async function applyOutcome(uow: UnitOfWork, ctx: CommandContext, report: OutcomeReport): Promise<boolean> {
  const record = await uow.get(report.task_id);
  if (!record || record.status !== 'running' || record.lease_id !== report.lease_id) {
    ctx.logger.debug('ignoring stale outcome report', { task_id: report.task_id, lease_id: report.lease_id, outcome: report.outcome });
    return false;
  }
  switch (report.outcome) {
    case 'succeeded':
      record.result = report.result ?? null;
      delete record.error;
      transition(uow, ctx.topology, record, 'succeeded');
      await ctx.dependencies.onFinal(uow, record);
      return true;
    case 'cancelled':
      record.error = report.error ?? { name: 'SjeError', code: ErrorCode.TASK_CANCELLED, message: 'cancelled', retryable: false };
      transition(uow, ctx.topology, record, 'cancelled', { reason: 'aborted by worker' });
      await ctx.dependencies.onFinal(uow, record);
      return true;
    case 'requeue':
      await enqueueTask(uow, ctx.topology, record, { newAttempt: false, reason: `worker ${report.worker_id} shut down`, avoid: report.worker_id });
      return true;
    case 'failed':
    case 'timed_out':
      await applyFailure(uow, ctx, record, report.outcome, report.error);
      return true;
  }
}

/** A run failed or timed out (also used for poison tasks): retry or end the task. */
export async function applyFailure(
  uow: UnitOfWork,
  ctx: CommandContext,
  record: TaskRecord,
  outcome: 'failed' | 'timed_out',
  error: SerializedError | undefined,
): Promise<void> {
  record.error = error ?? { name: 'SjeError', code: ErrorCode.HANDLER_ERROR, message: `task ${outcome}`, retryable: true };
  const decision: RetryDecision = await ctx.plugins.intercept('retryDecision', { task: toView(record), error: record.error, outcome }, async () => ({
    retry: false,
    reason: 'no retry policy',
  }));
  if (decision.retry) {
    const delay = Math.max(0, Math.round(decision.delay_ms ?? 0));
    record.not_before = new Date(uow.now.getTime() + delay).toISOString();
    transition(uow, ctx.topology, record, 'retrying', { reason: decision.reason ?? `retry in ${delay} ms` });
    if (delay === 0) await enqueueTask(uow, ctx.topology, record, { newAttempt: true, reason: 'retry' });
    else uow.noteDue(record.not_before);
    return;
  }
  transition(uow, ctx.topology, record, outcome, decision.reason === undefined ? {} : { reason: decision.reason });
  await ctx.dependencies.onFinal(uow, record);
}
