/**
 * `cancel`: a waiting task becomes `cancelled` at once (its dispatch, if any,
 * is refused at claim time); a running one becomes `cancelled` and its worker
 * is told to abort it.
 */
import { isFinalStatus, type AbortCommand, type TaskStatus } from '@sje/core';
import type { TaskRecord } from '@sje/store';
import { transition } from '../transitions.js';
import type { UnitOfWork } from '../unit-of-work.js';
import type { CommandContext } from './command-context.js';

/** What a cancel did. */
export interface CancelResult {
  record: TaskRecord | undefined;
  previous?: TaskStatus;
  changed: boolean;
}

/** Cancels every task of a workflow that is not final; returns how many changed. */
export async function applyCancelWorkflow(uow: UnitOfWork, ctx: CommandContext, taskIds: readonly string[]): Promise<number> {
  let n = 0;
  for (const id of taskIds) if ((await applyCancel(uow, ctx, id)).changed) n += 1;
  return n;
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
    uow.send({ exchange: ctx.topology.exchanges.control, routing_key: ctx.topology.routingKeys.controlBroadcast, body: abort, transient: true });
  }
  transition(uow, ctx.topology, record, 'cancelled', { reason: 'cancelled by request' });
  await ctx.dependencies.onFinal(uow, record);
  return { record, previous, changed: true };
}
