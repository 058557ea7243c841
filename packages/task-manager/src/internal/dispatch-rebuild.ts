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
import type { DispatchRef, OutboxMessage } from './store/task-record.js';
import type { TaskStore } from './store/task-store.js';

/** The body of a stored dispatch message built again, or `undefined` when none of its tasks still waits under its lease. */
export async function rebuildDispatch(store: TaskStore, refs: readonly DispatchRef[]): Promise<DispatchMessage | DispatchMessages | undefined> {
  const records = await store.getTasks(refs.map((r) => r.task_id));
  const waiting = refs.flatMap((ref) => {
    const record = records.get(ref.task_id);
    return record !== undefined && record.status === 'queued' && record.lease_id === ref.lease_id ? [{ record, leaseId: ref.lease_id }] : [];
  });
  if (waiting.length === 0) return undefined;
  const depIds = [...new Set(waiting.flatMap((w) => w.record.depends_on))];
  const deps = depIds.length > 0 ? await store.getTasks(depIds) : undefined;
  const tasks = waiting.map((w) => dispatchOf(w.record, w.leaseId, deps));
  return tasks.length === 1 ? tasks[0] : { type: 'dispatches', tasks };
}

/** Loaded outbox messages with every dispatch's body built again; dispatches with nothing left to send are dropped. */
export async function withDispatchBodies(store: TaskStore, messages: readonly OutboxMessage[]): Promise<OutboxMessage[]> {
  const out: OutboxMessage[] = [];
  for (const m of messages) {
    if (m.dispatch_of === undefined) {
      out.push(m);
      continue;
    }
    const body = await rebuildDispatch(store, m.dispatch_of);
    if (body === undefined) continue;
    const rebuilt: OutboxMessage = { exchange: m.exchange, routing_key: m.routing_key, body };
    if (m.priority !== undefined) rebuilt.priority = m.priority;
    out.push(rebuilt);
  }
  return out;
}
