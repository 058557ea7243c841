/**
 * Applies a state transition to a record: checks it against core's state
 * machine, stamps times, records history and raises the state event.
 */
import { canTransition, ErrorCode, isFinalStatus, SjeError, type TaskEvent, type TaskStatus, type Topology } from '@sje/core';
import { queueWaitMs, runMs, type TaskRecord, workerOf } from '@sje/store';
import type { UnitOfWork } from './unit-of-work.js';

/** Details recorded with a transition. */
export interface TransitionDetails {
  reason?: string;
}

/** Builds the state event of a record's current state. */
export function buildEvent(record: TaskRecord, previous: TaskStatus | undefined, at: string, reason?: string): TaskEvent {
  const event: TaskEvent = {
    type: 'task_event',
    task_id: record.task_id,
    function: record.function,
    queue: record.queue,
    status: record.status,
    attempt: record.attempt,
    at,
    labels: record.labels,
  };
  if (previous !== undefined) event.previous_status = previous;
  if (record.workflow_id !== undefined) event.workflow_id = record.workflow_id;
  if (record.tenant !== undefined) event.tenant = record.tenant;
  const worker = workerOf(record);
  if (worker !== undefined) event.worker = worker;
  if (record.status === 'succeeded' && record.result !== undefined) event.result = record.result;
  if (record.error !== undefined && isFinalStatus(record.status)) event.error = record.error;
  if (record.status === 'retrying' && record.error !== undefined) event.error = record.error;
  if (reason !== undefined) event.reason = reason;
  const wait = record.status === 'running' ? queueWaitMs(record) : undefined;
  if (wait !== undefined) event.queue_wait_ms = wait;
  const run = isFinalStatus(record.status) ? runMs(record) : undefined;
  if (run !== undefined) event.run_ms = run;
  return event;
}

/** Moves a task to `to`, or throws if the state machine forbids it. */
export function transition(uow: UnitOfWork, topology: Topology, record: TaskRecord, to: TaskStatus, details: TransitionDetails = {}): void {
  const from = record.status;
  if (!canTransition(from, to)) {
    throw new SjeError(ErrorCode.INTERNAL, `illegal transition ${from} → ${to} for task ${record.task_id}`, { data: { task_id: record.task_id, from, to } });
  }
  const at = uow.nowIso;
  if (from === 'running' && record.worker_id !== undefined) uow.assignments.noteSlot(record.worker_id, -1, record);
  if (to === 'running' && record.worker_id !== undefined) uow.assignments.noteSlot(record.worker_id, 1);
  if (from === 'queued') uow.assignments.noteWaiting(record.queue, -1, record.lease_id);
  if (to === 'queued') uow.assignments.noteWaiting(record.queue, 1);
  record.status = to;
  if (to === 'queued') record.queued_at = at;
  if (to === 'running') record.started_at = at;
  if (isFinalStatus(to)) record.finished_at = at;
  if (to !== 'pending' && to !== 'retrying') delete record.not_before;
  const entry: TaskRecord['history'][number] = { status: to, at, attempt: record.attempt };
  if (details.reason !== undefined) entry.reason = details.reason;
  if (to === 'running' && record.worker_id !== undefined) entry.worker_id = record.worker_id;
  record.history.push(entry);
  uow.touch(record);
  uow.noteTransition(record, from);
  recordEvent(uow, topology, buildEvent(record, from, at, details.reason));
}

/** Queues a state event for publication and for the plugins. */
export function recordEvent(uow: UnitOfWork, topology: Topology, event: TaskEvent, routingStatus: string = event.status): void {
  uow.events.push(event);
  uow.send({ exchange: topology.exchanges.events, routing_key: topology.eventKey(routingStatus, event.function), body: event });
}
