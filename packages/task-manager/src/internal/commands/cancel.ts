/**
 * `cancel`: a waiting task becomes `cancelled` at once (its dispatch, if any,
 * is refused at claim time); a running one becomes `cancelled` and its worker
 * is told to abort it.
 */
import { isFinalStatus, type AbortCommand, type TaskStatus } from '@sje/core';
import type { TaskRecord } from '../store/task-record.js';
import { transition } from '../transitions.js';
import type { UnitOfWork } from '../unit-of-work.js';
import type { CommandContext } from './command-context.js';

/** What a cancel did. */
export interface CancelResult {
  record: TaskRecord | undefined;
  previous?: TaskStatus;
  changed: boolean;
}

/** Applies a cancel request. */
export async function applyCancel(uow: UnitOfWork, ctx: CommandContext, taskId: string): Promise<CancelResult> {
  const record = await uow.get(taskId);
  if (!record) return { record: undefined, changed: false };
  const previous = record.status;
  if (isFinalStatus(previous)) return { record, previous, changed: false };
  if (previous === 'running') {
    const abort: AbortCommand = { type: 'abort', task_id: record.task_id, reason: 'cancelled' };
    if (record.lease_id !== undefined) abort.lease_id = record.lease_id;
    uow.send({ exchange: ctx.topology.exchanges.control, routing_key: ctx.topology.routingKeys.controlBroadcast, body: abort });
  }
  transition(uow, ctx.topology, record, 'cancelled', { reason: 'cancelled by request' });
  await ctx.dependencies.onBlocked(uow, record);
  return { record, previous, changed: true };
}
