/**
 * The dispatches the outbox names instead of holding (see
 * {@link OutboxMessage.dispatch_of}): when a stored batch must be published
 * after all — after a crash, or when the broker did not confirm it — each
 * dispatch is built again from its task's record, params and dependency
 * results included. A task that no longer waits under the lease named (it was
 * claimed, cancelled or queued again since) is left out: its dispatch went
 * out before, or a newer one stands for it.
 */
import type { DispatchMessage, DispatchMessages } from '@sje/core';
import { dispatchOf } from './dispatcher.js';
import type { DispatchRef, OutboxMessage, OutboxRow, TaskRecord } from './store/task-record.js';
import type { TaskStore } from './store/task-store.js';

/** The records the named dispatches need: their tasks, and the tasks those depend on. */
interface DispatchRecords {
  tasks: ReadonlyMap<string, TaskRecord>;
  deps: ReadonlyMap<string, TaskRecord>;
}

/** Reads, in two store reads, the records behind every dispatch named in `refs`. */
async function readDispatchRecords(store: TaskStore, refs: readonly DispatchRef[]): Promise<DispatchRecords> {
  const tasks = await store.getTasks([...new Set(refs.map((r) => r.task_id))]);
  const depIds = [...new Set([...tasks.values()].flatMap((r) => r.depends_on))];
  return { tasks, deps: depIds.length > 0 ? await store.getTasks(depIds) : new Map() };
}

/** The body of one stored dispatch message from the records, or `undefined` when none of its tasks still waits under its lease. */
function dispatchBody(refs: readonly DispatchRef[], records: DispatchRecords): DispatchMessage | DispatchMessages | undefined {
  const tasks = refs.flatMap((ref) => {
    const record = records.tasks.get(ref.task_id);
    return record !== undefined && record.status === 'queued' && record.lease_id === ref.lease_id ? [dispatchOf(record, ref.lease_id, records.deps)] : [];
  });
  if (tasks.length === 0) return undefined;
  return tasks.length === 1 ? tasks[0] : { type: 'dispatches', tasks };
}

/** The body of a stored dispatch message built again, or `undefined` when none of its tasks still waits under its lease. */
export async function rebuildDispatch(store: TaskStore, refs: readonly DispatchRef[]): Promise<DispatchMessage | DispatchMessages | undefined> {
  return dispatchBody(refs, await readDispatchRecords(store, refs));
}

/**
 * Loaded outbox rows with every dispatch's body built again (the records of
 * all of them read at once); dispatches with nothing left to send are dropped.
 */
export async function withDispatchBodies(store: TaskStore, rows: readonly OutboxRow[]): Promise<OutboxRow[]> {
  const refs = rows.flatMap((row) => row.messages.flatMap((m) => m.dispatch_of ?? []));
  if (refs.length === 0) return [...rows];
  const records = await readDispatchRecords(store, refs);
  return rows.map((row) => ({
    id: row.id,
    messages: row.messages.flatMap((m) => {
      if (m.dispatch_of === undefined) return [m];
      const body = dispatchBody(m.dispatch_of, records);
      if (body === undefined) return [];
      const rebuilt: OutboxMessage = { exchange: m.exchange, routing_key: m.routing_key, body };
      if (m.priority !== undefined) rebuilt.priority = m.priority;
      return [rebuilt];
    }),
  }));
}
