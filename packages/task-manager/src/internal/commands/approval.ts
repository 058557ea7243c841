/**
 * Approval gates: a task of kind `approval` waits in `waiting_approval` until
 * a person approves it (→ `succeeded`, the comment in its history and
 * result) or rejects it (→ `failed`, so `all_success` dependents are skipped).
 */
import { ErrorCode, type TaskStatus } from '@sje/core';
import type { TaskRecord } from '@sje/store';
import { transition } from '../transitions.js';
import type { UnitOfWork } from '../unit-of-work.js';
import type { CommandContext } from './command-context.js';

/** What a decision did. */
export interface ApprovalResult {
  record: TaskRecord | undefined;
  previous?: TaskStatus;
  changed: boolean;
}

/** Approves or rejects a waiting approval gate. */
export async function applyApproval(uow: UnitOfWork, ctx: CommandContext, taskId: string, approve: boolean, comment?: string): Promise<ApprovalResult> {
  const record = await uow.get(taskId);
  if (!record) return { record: undefined, changed: false };
  const previous = record.status;
  if (previous !== 'waiting_approval') return { record, previous, changed: false };
  const note = comment === undefined || comment === '' ? '' : `: ${comment}`;
  if (approve) {
    record.result = comment === undefined ? { approved: true } : { approved: true, comment };
    transition(uow, ctx.topology, record, 'succeeded', { reason: `approved${note}` });
  } else {
    record.error = { name: 'SjeError', code: ErrorCode.APPROVAL_REJECTED, message: `rejected${note}`, retryable: false };
    transition(uow, ctx.topology, record, 'failed', { reason: `rejected${note}` });
  }
  await ctx.dependencies.onFinal(uow, record);
  return { record, previous, changed: true };
}
