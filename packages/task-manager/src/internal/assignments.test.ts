import { createTopology, type AssignCommand } from '@sje/core';
import { describe, expect, it } from 'vitest';
import { AssignmentBook, type AssignableWorker } from './assignments.js';
import { enqueueTask } from './dispatcher.js';
import type { TaskRecord } from './store/task-record.js';
import type { TaskStore } from './store/task-store.js';
import { transition } from './transitions.js';
import { UnitOfWork } from './unit-of-work.js';

const topology = createTopology({ prefix: 'unit' });
const CONFIRM_MS = 1000;

let n = 0;
function pending(extra: Partial<TaskRecord> = {}): TaskRecord {
  n += 1;
  return {
    task_id: `t-${n}`,
    function: 'echo',
    params: {},
    queue: 'default',
    priority: 0,
    depends_on: [],
    labels: {},
    status: 'pending',
    attempt: 0,
    deliveries: 0,
    deps_remaining: 0,
    created_at: new Date().toISOString(),
    history: [],
    ...extra,
  };
}

function worker(id: string, concurrency: number, extra: Partial<AssignableWorker> = {}): AssignableWorker {
  return { worker_id: id, host: `host-${id}`, queues: ['default'], functions: ['echo'], concurrency, ...extra };
}

/** A book over `workers`, on a clock the test moves. */
function book(workers: AssignableWorker[]): { book: AssignmentBook; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  return { book: new AssignmentBook({ topology, workers: () => workers, confirmWithinMs: CONFIRM_MS, now: () => clock.now }), clock };
}

function batch(): UnitOfWork {
  return new UnitOfWork({} as TaskStore, new Date());
}

/** Enqueues each record in one batch, commits it, and returns the `assign` messages and the pool dispatches. */
async function enqueue(b: AssignmentBook, records: TaskRecord[]): Promise<{ assigns: AssignCommand[]; dispatched: string[] }> {
  const uow = batch();
  for (const r of records) {
    uow.insert(r);
    await enqueueTask(uow, topology, r, { newAttempt: true, reason: 'submitted' });
  }
  b.assignDue(uow);
  const dispatched = uow
    .toCommit()
    .outbox.filter((m) => m.exchange === topology.exchanges.tasks)
    .map((m) => (m.body as { task_id: string }).task_id);
  return { assigns: b.committed(uow.assignments).map((m) => m.body as AssignCommand), dispatched };
}

describe('AssignmentBook', () => {
  it('hands a due task to the worker with the most free slots, already running there', async () => {
    const { book: b } = book([worker('small', 2), worker('large', 8), worker('other-pool', 64, { queues: ['gpu'] }), worker('no-echo', 64, { functions: ['fib'] })]);
    const record = pending();
    const { assigns, dispatched } = await enqueue(b, [record]);
    expect(dispatched).toEqual([]);
    expect(record).toMatchObject({ status: 'running', worker_id: 'large', worker_host: 'host-large', deliveries: 1, attempt: 1 });
    expect(record.history.map((h) => [h.status, h.reason])).toEqual([
      ['queued', 'submitted'],
      ['running', 'assigned'],
    ]);
    expect(assigns).toHaveLength(1);
    expect(assigns[0]).toMatchObject({ type: 'assign', epoch: b.epoch, seq: 1, tasks: [{ type: 'dispatch', task_id: record.task_id, lease_id: record.lease_id, function: 'echo' }] });
    expect(b.runningOn('large')).toBe(1);
    expect(b.pendingOn('large')).toBe(1);
  });

  it('spreads one batch over the free slots, then sends the rest through the pool queue, in order', async () => {
    const { book: b } = book([worker('w1', 2), worker('w2', 1)]);
    const records = Array.from({ length: 5 }, () => pending());
    const { assigns, dispatched } = await enqueue(b, records);
    // Most free slots first; of two with as many, the one chosen least lately.
    expect(records.map((r) => r.worker_id ?? '-')).toEqual(['w1', 'w2', 'w1', '-', '-']);
    expect(dispatched).toEqual([records[3]!.task_id, records[4]!.task_id]);
    // One assign per worker, numbered per worker.
    expect(assigns.map((a) => [a.tasks.map((t) => t.task_id), a.seq])).toEqual([
      [[records[0]!.task_id, records[2]!.task_id], 1],
      [[records[1]!.task_id], 1],
    ]);
  });

  it('sends one task at a time to the workers in turn when they are equally free', async () => {
    const { book: b } = book([worker('w1', 4), worker('w2', 4), worker('w3', 4)]);
    const chosen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = pending();
      await enqueue(b, [r]);
      chosen.push(r.worker_id ?? '-');
      const end = batch();
      transition(end, topology, r, 'succeeded');
      b.committed(end.assignments);
    }
    expect(chosen).toEqual(['w1', 'w2', 'w3', 'w1', 'w2', 'w3']);
  });

  it('assigns nothing while tasks wait in the pool queue, and again once they are claimed', async () => {
    const { book: b } = book([worker('w1', 1)]);
    const busy = pending();
    await enqueue(b, [busy]);
    const queued = pending();
    const { dispatched } = await enqueue(b, [queued]);
    expect(dispatched).toEqual([queued.task_id]);
    // w1's run ends: a free slot, but `queued` still waits in the queue, so the next task queues behind it.
    const end = batch();
    transition(end, topology, busy, 'succeeded');
    b.committed(end.assignments);
    const next = pending();
    expect((await enqueue(b, [next])).dispatched).toEqual([next.task_id]);
    // Both claimed by w1 (one ends at once): nothing waits, so a new task is assigned.
    for (const r of [queued, next]) {
      const claim = batch();
      r.worker_id = 'w1';
      transition(claim, topology, r, 'running');
      transition(claim, topology, r, 'succeeded');
      b.committed(claim.assignments);
    }
    const last = pending();
    expect((await enqueue(b, [last])).assigns).toHaveLength(1);
  });

  it('stops counting a waiting task that has not moved for the confirmation time (a dispatch the broker dropped)', async () => {
    const { book: b, clock } = book([worker('w1', 1)]);
    const running = pending();
    await enqueue(b, [running]);
    const stuck = pending();
    await enqueue(b, [stuck]);
    const end = batch();
    transition(end, topology, running, 'succeeded');
    b.committed(end.assignments);
    expect((await enqueue(b, [pending()])).assigns).toHaveLength(0);
    clock.now += CONFIRM_MS + 1;
    expect((await enqueue(b, [pending()])).assigns).toHaveLength(1);
  });

  it('does not assign a task the same batch cancelled after queueing it (a workflow cancel reaching a dependent it released)', async () => {
    const { book: b } = book([worker('w1', 4)]);
    const kept = pending();
    const cancelled = pending();
    const uow = batch();
    for (const r of [kept, cancelled]) {
      uow.insert(r);
      await enqueueTask(uow, topology, r, { newAttempt: true });
    }
    transition(uow, topology, cancelled, 'cancelled');
    b.assignDue(uow);
    const assigns = b.committed(uow.assignments).map((m) => m.body as AssignCommand);
    expect(assigns.flatMap((a) => a.tasks.map((t) => t.task_id))).toEqual([kept.task_id]);
    expect(cancelled.history.map((h) => h.status)).toEqual(['queued', 'cancelled']);
    expect([b.runningOn('w1'), b.pendingOn('w1')]).toEqual([1, 1]);
  });

  it('does not assign to the worker to avoid', async () => {
    const { book: b } = book([worker('leaving', 8), worker('staying', 2)]);
    const r = pending();
    const uow = batch();
    uow.insert(r);
    await enqueueTask(uow, topology, r, { newAttempt: true, avoid: 'leaving' });
    b.assignDue(uow);
    expect(r.worker_id).toBe('staying');
  });

  it('frees the slot of a task re-queued off its worker', async () => {
    const { book: b } = book([worker('w1', 1)]);
    const r = pending();
    await enqueue(b, [r]);
    expect(b.runningOn('w1')).toBe(1);
    const requeue = batch();
    await enqueueTask(requeue, topology, r, { newAttempt: false, reason: 'worker w1 lost', avoid: 'w1' });
    b.assignDue(requeue);
    b.committed(requeue.assignments);
    expect(r.status).toBe('queued');
    expect(b.runningOn('w1')).toBe(0);
    expect(b.pendingOn('w1')).toBe(0);
  });

  it('confirms assignments by the heartbeat mark, and returns those not taken in within the confirmation time', async () => {
    const { book: b, clock } = book([worker('w1', 8)]);
    const [a] = (await enqueue(b, [pending()])).assigns;
    const [later] = (await enqueue(b, [pending()])).assigns;
    expect([a!.seq, later!.seq]).toEqual([1, 2]);
    // The mark of another task-manager process says nothing.
    clock.now += CONFIRM_MS + 1;
    const overdue = b.heartbeat({ worker_id: 'w1', running: [], assigned: { epoch: 'another', seq: 5 } });
    expect(overdue.map((l) => l.task_id).sort()).toEqual([a!.tasks[0]!.task_id, later!.tasks[0]!.task_id].sort());
    expect(b.pendingOn('w1')).toBe(0);

    const [third] = (await enqueue(b, [pending()])).assigns;
    const [fourth] = (await enqueue(b, [pending()])).assigns;
    expect(b.heartbeat({ worker_id: 'w1', running: [], assigned: { epoch: b.epoch, seq: third!.seq } })).toEqual([]);
    expect(b.pendingOn('w1')).toBe(1);
    // Not yet due: kept; then a heartbeat listing its lease as held confirms it.
    expect(b.heartbeat({ worker_id: 'w1', running: [] })).toEqual([]);
    const lease = fourth!.tasks[0]!;
    expect(b.heartbeat({ worker_id: 'w1', running: [{ task_id: lease.task_id, lease_id: lease.lease_id }] })).toEqual([]);
    expect(b.pendingOn('w1')).toBe(0);
  });

  it('forgets an assignment whose run ended before any heartbeat', async () => {
    const { book: b, clock } = book([worker('w1', 8)]);
    const r = pending();
    await enqueue(b, [r]);
    const end = batch();
    transition(end, topology, r, 'succeeded');
    b.committed(end.assignments);
    clock.now += CONFIRM_MS + 1;
    expect(b.heartbeat({ worker_id: 'w1', running: [] })).toEqual([]);
    expect(b.runningOn('w1')).toBe(0);
  });

  it('at start-up counts the running tasks of the store, each to be listed by its worker within the confirmation time', async () => {
    const { book: b, clock } = book([worker('w1', 2)]);
    const listed = pending({ status: 'running', worker_id: 'w1', lease_id: 'l-listed' });
    const unsent = pending({ status: 'running', worker_id: 'w1', lease_id: 'l-unsent' });
    b.seed([listed, unsent]);
    expect(b.runningOn('w1')).toBe(2);
    expect((await enqueue(b, [pending()])).assigns).toEqual([]);
    // A mark cannot confirm them (they were sent, if at all, by the process before this one).
    expect(b.heartbeat({ worker_id: 'w1', running: [{ task_id: listed.task_id, lease_id: 'l-listed' }], assigned: { epoch: b.epoch, seq: 99 } })).toEqual([]);
    clock.now += CONFIRM_MS + 1;
    expect(b.heartbeat({ worker_id: 'w1', running: [] })).toEqual([{ task_id: unsent.task_id, lease_id: 'l-unsent' }]);
  });

  it('forgets a lost worker', async () => {
    const { book: b } = book([worker('w1', 4)]);
    await enqueue(b, [pending()]);
    b.forget('w1');
    expect([b.runningOn('w1'), b.pendingOn('w1')]).toEqual([0, 0]);
  });
});
