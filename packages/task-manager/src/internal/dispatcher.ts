/**
 * Hands a task to its worker pool: a fresh lease, `queued`, and a `dispatch`
 * message (with the results of its dependencies) in the outbox.
 */
import { uuidv7, type DispatchMessage, type LeaseRef, type Topology } from '@sje/core';
import type { TaskRecord } from '@sje/store';
import { transition } from './transitions.js';
import type { UnitOfWork } from './unit-of-work.js';

/** Options of {@link enqueueTask}. */
export interface EnqueueOptions {
  /** A new attempt (first run or a retry) rather than a re-run of the same attempt. */
  newAttempt: boolean;
  reason?: string;
  /** A worker not to assign the task to (the one that just gave it back). */
  avoid?: string;
}

/**
 * Moves a task to `queued` under a new lease and queues its dispatch. At the
 * end of the batch the assignment book may hand it to a worker with a free
 * slot instead (see `assignments.ts`).
 */
export async function enqueueTask(uow: UnitOfWork, topology: Topology, record: TaskRecord, options: EnqueueOptions): Promise<void> {
  if (options.newAttempt) record.attempt += 1;
  const leaseId = uuidv7();
  if (record.status === 'running' && record.worker_id !== undefined) uow.assignments.noteSlot(record.worker_id, -1, record);
  record.lease_id = leaseId;
  delete record.worker_id;
  delete record.worker_host;
  delete record.progress;
  delete record.started_at;
  transition(uow, topology, record, 'queued', options.reason === undefined ? {} : { reason: options.reason });
  const deps = record.depends_on.length > 0 ? await uow.getMany(record.depends_on) : undefined;
  if (options.avoid !== undefined) uow.assignments.avoid.set(leaseId, options.avoid);
  sendDispatch(uow, topology, record, leaseId, deps);
}

/** Queues the dispatch of `record` under `leaseId` to its pool's queue. */
function sendDispatch(uow: UnitOfWork, topology: Topology, record: TaskRecord, leaseId: string, deps?: ReadonlyMap<string, TaskRecord>): void {
  uow.send({ exchange: topology.exchanges.tasks, routing_key: record.queue, body: dispatchOf(record, leaseId, deps), priority: record.priority });
}

/**
 * The records of tasks `ids` and of every task they depend on (whose results
 * their dispatches carry), each read once for all of them.
 */
export async function readWithDependencies(uow: UnitOfWork, ids: readonly string[]): Promise<{ records: Map<string, TaskRecord>; deps: Map<string, TaskRecord> | undefined }> {
  const records = await uow.getMany(ids);
  const depIds = new Set<string>();
  for (const record of records.values()) for (const id of record.depends_on) depIds.add(id);
  const deps = depIds.size > 0 ? await uow.getMany([...depIds]) : undefined;
  return { records, deps };
}

/**
 * Sends to their pool queues the dispatches of tasks still queued under the
 * leases given (a task that moved on since is left out): held tasks no
 * worker runs, and at start-up every queued task of the store. A dispatch
 * that is also still in a pool queue makes a duplicate, whose claim is
 * refused once the lease has left `queued`.
 */
export async function redispatch(uow: UnitOfWork, topology: Topology, leases: readonly LeaseRef[]): Promise<void> {
  const { records, deps } = await readWithDependencies(uow, leases.map((l) => l.task_id));
  for (const { task_id, lease_id } of leases) {
    const record = records.get(task_id);
    if (record?.status !== 'queued' || record.lease_id !== lease_id || lease_id === undefined) continue;
    sendDispatch(uow, topology, record, lease_id, deps);
  }
}

/**
 * The `dispatch` of a queued record under lease `leaseId` (its current one),
 * with the results of its dependencies (`deps`: their records, when it has any).
 */
export function dispatchOf(record: TaskRecord, leaseId: string, deps?: ReadonlyMap<string, TaskRecord>): DispatchMessage {
  const message: DispatchMessage = {
    type: 'dispatch',
    task_id: record.task_id,
    lease_id: leaseId,
    function: record.function,
    params: record.params,
    attempt: record.attempt,
    queue: record.queue,
    priority: record.priority,
    labels: record.labels,
  };
  if (record.timeout_ms !== undefined) message.timeout_ms = record.timeout_ms;
  if (record.workflow_id !== undefined) message.workflow_id = record.workflow_id;
  if (record.depends_on.length > 0) {
    const results: Record<string, unknown> = {};
    for (const id of record.depends_on) results[id] = deps?.get(id)?.result ?? null;
    message.dependencies = results;
  }
  return message;
}

/**
 * A waiting task may go on: an approval gate starts waiting for its decision,
 * any other task is queued.
 */
export async function releaseTask(uow: UnitOfWork, topology: Topology, record: TaskRecord, reason: string): Promise<void> {
  if (record.kind === 'approval') {
    transition(uow, topology, record, 'waiting_approval', { reason });
    return;
  }
  await enqueueTask(uow, topology, record, { newAttempt: true, reason });
}

/** Whether a waiting task may be queued now (no dependency left, not delayed). */
export function isDue(record: TaskRecord, nowIso: string): boolean {
  return record.deps_remaining === 0 && (record.not_before === undefined || record.not_before <= nowIso);
}
