/**
 * What the outbox stores by reference instead of whole (see
 * `store/outbox-text.ts`), built again from the task records when a stored
 * batch must be published after all — after a crash, or when the broker did
 * not confirm it:
 *
 * - a dispatch ({@link OutboxMessage.dispatch_of}) from its task's record,
 *   params and dependency results included. A task that no longer waits
 *   under the lease named (it was claimed, cancelled or queued again since)
 *   is left out: its dispatch went out before, or a newer one stands for it;
 * - a succeeded event's result ({@link OutboxMessage.result_of}) from its
 *   task's record, which a final state never changes again.
 */
import type { DispatchMessage, DispatchMessages, TaskEvent, TaskEventMessage } from '@sje/core';
import { dispatchOf } from './dispatcher.js';
import type { DispatchRef, OutboxMessage, OutboxRow, TaskRecord, TaskStore } from '@sje/store';

/** The records stored messages name: their tasks, and the tasks their dispatches depend on. */
interface NamedRecords {
  tasks: ReadonlyMap<string, TaskRecord>;
  deps: ReadonlyMap<string, TaskRecord>;
}

/** Reads, in two store reads, the records behind the dispatches `refs` and the events' results `resultOf` name. */
async function readNamedRecords(store: TaskStore, refs: readonly DispatchRef[], resultOf: readonly string[] = []): Promise<NamedRecords> {
  const tasks = await store.getTasks([...new Set([...refs.map((r) => r.task_id), ...resultOf])]);
  const dispatched = new Set(refs.map((r) => r.task_id));
  const depIds = [...new Set([...tasks.values()].filter((r) => dispatched.has(r.task_id)).flatMap((r) => r.depends_on))];
  return { tasks, deps: depIds.length > 0 ? await store.getTasks(depIds) : new Map() };
}

/** The body of one stored dispatch message from the records, or `undefined` when none of its tasks still waits under its lease. */
function dispatchBody(refs: readonly DispatchRef[], records: NamedRecords): DispatchMessage | DispatchMessages | undefined {
  const tasks = refs.flatMap((ref) => {
    const record = records.tasks.get(ref.task_id);
    return record !== undefined && record.status === 'queued' && record.lease_id === ref.lease_id ? [dispatchOf(record, ref.lease_id, records.deps)] : [];
  });
  if (tasks.length === 0) return undefined;
  return tasks.length === 1 ? tasks[0] : { type: 'dispatches', tasks };
}

/** A stored event message with the results its row left out put back from the records. */
function eventBody(body: TaskEventMessage, resultOf: readonly string[], records: NamedRecords): TaskEventMessage {
  const named = new Set(resultOf);
  const withResult = (event: TaskEvent): TaskEvent => {
    const record = named.has(event.task_id) ? records.tasks.get(event.task_id) : undefined;
    return record?.status === 'succeeded' && record.result !== undefined ? { ...event, result: record.result } : event;
  };
  return body.type === 'task_event' ? withResult(body) : { type: 'task_events', events: body.events.map(withResult) };
}

/** The body of a stored dispatch message built again, or `undefined` when none of its tasks still waits under its lease. */
export async function rebuildDispatch(store: TaskStore, refs: readonly DispatchRef[]): Promise<DispatchMessage | DispatchMessages | undefined> {
  return dispatchBody(refs, await readNamedRecords(store, refs));
}

/**
 * Loaded outbox rows with every dispatch's body and every left-out result
 * built again (the records of all of them read at once); dispatches with
 * nothing left to send are dropped.
 */
export async function withFullBodies(store: TaskStore, rows: readonly OutboxRow[]): Promise<OutboxRow[]> {
  const messages = rows.flatMap((row) => row.messages);
  const refs = messages.flatMap((m) => m.dispatch_of ?? []);
  const resultOf = messages.flatMap((m) => m.result_of ?? []);
  if (refs.length === 0 && resultOf.length === 0) return [...rows];
  const records = await readNamedRecords(store, refs, resultOf);
  return rows.map((row) => ({
    id: row.id,
    messages: row.messages.flatMap((m) => {
      if (m.dispatch_of === undefined && m.result_of === undefined) return [m];
      const body = m.dispatch_of !== undefined ? dispatchBody(m.dispatch_of, records) : eventBody(m.body as TaskEventMessage, m.result_of ?? [], records);
      if (body === undefined) return [];
      const rebuilt: OutboxMessage = { exchange: m.exchange, routing_key: m.routing_key, body };
      if (m.priority !== undefined) rebuilt.priority = m.priority;
      return [rebuilt];
    }),
  }));
}
