/**
 * The conformance suite every {@link TaskStore} implementation must pass.
 * Each store's test file calls {@link describeTaskStoreConformance}.
 */
import { describe, expect, it } from 'vitest';
import { serializeOutboxMessage } from './outbox-text.js';
import type { OutboxMessage, TaskRecord } from './task-record.js';
import type { TaskStore } from './task-store.js';

/** Makes stores for the suite: `open` a fresh one, `reopen` the same data again. */
export interface StoreFactory {
  open(): Promise<TaskStore>;
  reopen(store: TaskStore): Promise<TaskStore>;
  dispose(store: TaskStore): Promise<void>;
}

let seq = 0;
function record(extra: Partial<TaskRecord> = {}): TaskRecord {
  seq += 1;
  return {
    task_id: `t-${Date.now()}-${seq}`,
    function: 'echo',
    queue: 'default',
    priority: 0,
    params: { n: seq, nested: { list: [1, 'two', null] } },
    depends_on: [],
    labels: { team: 'a' },
    status: 'pending',
    attempt: 0,
    deliveries: 0,
    deps_remaining: 0,
    created_at: new Date().toISOString(),
    history: [{ status: 'pending', at: new Date().toISOString(), attempt: 0 }],
    ...extra,
  };
}

/** A queued record with every optional field set (a workflow task with a tenant, retry, timeout and delay). */
export function recordWithEveryField(id: string): TaskRecord {
  return {
    task_id: id,
    workflow_id: 'wf-1',
    function: 'resize',
    kind: 'task',
    queue: 'images',
    priority: 3,
    params: { url: 'https://example.test/a.png', sizes: [64, 128] },
    depends_on: ['parent'],
    labels: { team: 'media' },
    retry: { max_attempts: 3, backoff: 'fixed', delay_ms: 10 },
    timeout_ms: 5000,
    delay_ms: 20,
    tenant: 'acme',
    status: 'queued',
    attempt: 1,
    deliveries: 0,
    deps_remaining: 0,
    has_dependents: true,
    lease_id: 'lease-1',
    created_at: '2026-12-01T10:00:00.000Z',
    queued_at: '2026-12-01T10:00:01.000Z',
    not_before: '2026-12-01T10:00:00.020Z',
    history: [
      { status: 'pending', at: '2026-12-01T10:00:00.000Z', attempt: 0 },
      { status: 'queued', at: '2026-12-01T10:00:01.000Z', attempt: 1 },
    ],
  };
}

/** Registers the conformance tests for one store implementation. */
export function describeTaskStoreConformance(name: string, factory: StoreFactory): void {
  describe(`${name} task store conformance`, () => {
    const withStore = async (fn: (s: TaskStore) => Promise<void>): Promise<void> => {
      const store = await factory.open();
      try {
        await fn(store);
      } finally {
        await factory.dispose(store);
      }
    };

    it('stores whole records and reads them back by id', () =>
      withStore(async (s) => {
        const a = record({ retry: { max_attempts: 3, backoff: 'fixed' }, timeout_ms: 500, workflow_id: 'wf-1' });
        const b = record();
        await s.commit({ tasks: [a, b], outbox: [] });
        const got = await s.getTasks([a.task_id, b.task_id, 'missing']);
        expect(got.get(a.task_id)).toEqual(a);
        expect(got.get(b.task_id)).toEqual(b);
        expect(got.has('missing')).toBe(false);
        a.status = 'queued';
        a.history.push({ status: 'queued', at: new Date().toISOString(), attempt: 1 });
        a.attempt = 1;
        await s.commit({ tasks: [a], outbox: [] });
        expect((await s.getTasks([a.task_id])).get(a.task_id)).toEqual(a);
      }));

    it('indexes dependents', () =>
      withStore(async (s) => {
        const up = record();
        const d1 = record({ depends_on: [up.task_id] });
        const d2 = record({ depends_on: [up.task_id] });
        await s.commit({ tasks: [up, d1, d2], outbox: [] });
        expect((await s.getDependents(up.task_id)).sort()).toEqual([d1.task_id, d2.task_id].sort());
        expect(await s.getDependents(d1.task_id)).toEqual([]);
      }));

    it('finds running tasks, by worker', () =>
      withStore(async (s) => {
        const r1 = record({ status: 'running', worker_id: 'w1' });
        const r2 = record({ status: 'running', worker_id: 'w2' });
        const q = record({ status: 'queued' });
        await s.commit({ tasks: [r1, r2, q], outbox: [] });
        expect((await s.getRunningTasks('w1')).map((t) => t.task_id)).toEqual([r1.task_id]);
        expect((await s.getRunningTasks()).map((t) => t.task_id).sort()).toEqual([r1.task_id, r2.task_id].sort());
      }));

    it('finds queued tasks, with their leases', () =>
      withStore(async (s) => {
        const q1 = record({ status: 'queued', lease_id: 'l1' });
        const q2 = record({ status: 'queued', lease_id: 'l2', priority: 7 });
        const r = record({ status: 'running', worker_id: 'w1' });
        const p = record({ status: 'pending' });
        await s.commit({ tasks: [q1, q2, r, p], outbox: [] });
        const queued = await s.getQueuedTasks();
        expect(queued.map((t) => [t.task_id, t.lease_id, t.priority])).toEqual([
          [q1.task_id, 'l1', q1.priority],
          [q2.task_id, 'l2', 7],
        ]);
        q1.status = 'cancelled';
        await s.commit({ tasks: [q1], outbox: [] });
        expect((await s.getQueuedTasks()).map((t) => t.task_id)).toEqual([q2.task_id]);
      }));

    it('returns due tasks only when no dependency is left and not_before passed', () =>
      withStore(async (s) => {
        const now = Date.now();
        const past = record({ status: 'retrying', not_before: new Date(now - 1000).toISOString() });
        const future = record({ status: 'pending', not_before: new Date(now + 60_000).toISOString() });
        const waitingDeps = record({ status: 'pending', deps_remaining: 1, not_before: new Date(now - 1000).toISOString() });
        const running = record({ status: 'running', not_before: new Date(now - 1000).toISOString() });
        await s.commit({ tasks: [past, future, waitingDeps, running], outbox: [] });
        const due = await s.getDueTasks(new Date(now).toISOString(), 10);
        expect(due.map((t) => t.task_id)).toEqual([past.task_id]);
        expect(await s.nextDueTime()).toBe(past.not_before);
      }));

    it('keeps each batch of outbox messages, in order, until deleted', () =>
      withStore(async (s) => {
        const [first] = await s.commit({
          tasks: [record()],
          outbox: [
            { exchange: 'x', routing_key: 'a', body: { n: 1 } },
            { exchange: 'x', routing_key: 'b', body: { n: 2 }, priority: 5 },
          ],
        });
        const [second] = await s.commit({ tasks: [], outbox: [{ exchange: 'y', routing_key: 'c', body: { n: 3 } }] });
        expect(await s.commit({ tasks: [record()], outbox: [] })).toEqual([]);
        expect(first!.messages.map((m) => m.routing_key)).toEqual(['a', 'b']);
        expect(first!.id).toBeLessThan(second!.id);
        const loaded = await s.loadOutbox(10);
        expect(loaded).toEqual([first, second]);
        await s.deleteOutbox([first!.id]);
        expect((await s.loadOutbox(10)).flatMap((r) => r.messages.map((m) => m.routing_key))).toEqual(['c']);
      }));

    it('keeps a succeeded event without its result, naming the event in result_of', () =>
      withStore(async (s) => {
        const event = { type: 'task_event', task_id: 't-1', function: 'echo', queue: 'default', status: 'succeeded', attempt: 1, at: '2026-12-01T10:00:00.000Z', labels: {} };
        const message: OutboxMessage = { exchange: 'events', routing_key: 'task.succeeded.echo', body: { ...event, result: { data: 'r'.repeat(500) } } };
        serializeOutboxMessage(message);
        await s.commit({ tasks: [], outbox: [message] });
        const [loaded] = await s.loadOutbox(10);
        expect(loaded!.messages).toEqual([{ exchange: 'events', routing_key: 'task.succeeded.echo', body: event, result_of: ['t-1'] }]);
      }));

    it('stores a record the commit calls existing even when its row is missing, and updates one that exists', () =>
      withStore(async (s) => {
        const a = record();
        const b = record();
        await s.commit({ tasks: [a], inserted: new Set([a.task_id]), outbox: [] });
        const changed = { ...a, status: 'running' as const, worker_id: 'w1' };
        await s.commit({ tasks: [changed, b], inserted: new Set(), outbox: [] });
        const got = await s.getTasks([a.task_id, b.task_id]);
        expect(got.get(a.task_id)).toEqual(changed);
        expect(got.get(b.task_id)).toEqual(b);
        expect((await s.getRunningTasks('w1')).map((t) => t.task_id)).toEqual([a.task_id]);
      }));

    it('removes the published outbox rows a commit names, in the same transaction', () =>
      withStore(async (s) => {
        const [first] = await s.commit({ tasks: [], outbox: [{ exchange: 'x', routing_key: 'a', body: { n: 1 } }] });
        const [second] = await s.commit({ tasks: [], outbox: [{ exchange: 'x', routing_key: 'b', body: { n: 2 } }] });
        const [third] = await s.commit({ tasks: [record()], outbox: [{ exchange: 'x', routing_key: 'c', body: { n: 3 } }], published: [first!.id, second!.id] });
        expect((await s.loadOutbox(10)).map((r) => r.id)).toEqual([third!.id]);
      }));

    it('counts tasks by status', () =>
      withStore(async (s) => {
        await s.commit({ tasks: [record({ status: 'succeeded' }), record({ status: 'succeeded' }), record({ status: 'failed' })], outbox: [] });
        const counts = await s.countByStatus();
        expect(counts.succeeded).toBe(2);
        expect(counts.failed).toBe(1);
      }));

    it('keeps everything across a reopen', async () => {
      let store = await factory.open();
      const a = record({ status: 'retrying', not_before: new Date(Date.now() + 5000).toISOString() });
      await store.commit({ tasks: [a], outbox: [{ exchange: 'x', routing_key: 'k', body: { a: 1 } }] });
      store = await factory.reopen(store);
      try {
        expect((await store.getTasks([a.task_id])).get(a.task_id)).toEqual(a);
        expect((await store.loadOutbox(10)).flatMap((r) => r.messages.map((m) => m.body))).toEqual([{ a: 1 }]);
      } finally {
        await factory.dispose(store);
      }
    });
  });
}
