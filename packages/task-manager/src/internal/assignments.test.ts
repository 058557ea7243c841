import { createTopology, type AssignCommand } from '@sje/core';
import { describe, expect, it } from 'vitest';
import { AssignmentBook, type AssignableWorker } from './assignments.js';
import { enqueueTask } from './dispatcher.js';
import type { TaskRecord, TaskStore } from '@sje/store';
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

/** A pending record the test store knows. */
function storedPending(extra: Partial<TaskRecord> = {}): TaskRecord {
  const record = pending(extra);
  stored.set(record.task_id, record);
  return record;
}

/** Ends each task's run in one batch, lets the book assign what it holds, and returns the ids assigned. */
async function finish(b: AssignmentBook, records: TaskRecord[]): Promise<{ assigned: string[]; dispatched: string[] }> {
  const uow = batch();
  for (const r of records) transition(uow, topology, r, 'succeeded');
  const { assigns, dispatched } = await place(b, uow);
  return { assigned: assigns.flatMap((a) => a.tasks.map((t) => t.task_id)), dispatched };
}

function worker(id: string, concurrency: number, extra: Partial<AssignableWorker> = {}): AssignableWorker {
  return { worker_id: id, host: `host-${id}`, queues: ['default'], functions: ['echo'], concurrency, ...extra };
}

/** A book over `workers`, on a clock the test moves. */
function book(workers: AssignableWorker[], holdLimit = 0): { book: AssignmentBook; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  return { book: new AssignmentBook({ topology, workers: () => workers, confirmWithinMs: CONFIRM_MS, holdLimit, now: () => clock.now }), clock };
}

/** Every record the tests made, as the store would return them (the same objects). */
const stored = new Map<string, TaskRecord>();
const store = {
  getTasks: async (ids: readonly string[]) => new Map(ids.filter((id) => stored.has(id)).map((id) => [id, stored.get(id)!])),
} as unknown as TaskStore;

function batch(): UnitOfWork {
  return new UnitOfWork(store, new Date());
}

/** Enqueues each record in one batch, commits it, and returns the `assign` messages and the pool dispatches. */
async function enqueue(b: AssignmentBook, records: TaskRecord[]): Promise<{ assigns: AssignCommand[]; dispatched: string[] }> {
  const uow = batch();
  for (const r of records) {
    uow.insert(r);
    await enqueueTask(uow, topology, r, { newAttempt: true, reason: 'submitted' });
  }
  return place(b, uow);
}

/** Lets the book place the batch's tasks, commits the batch, and returns the `assign` messages and the tasks dispatched to pool queues. */
async function place(b: AssignmentBook, uow: UnitOfWork): Promise<{ assigns: AssignCommand[]; dispatched: string[] }> {
  await b.assignDue(uow);
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
    await b.assignDue(uow);
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
    await b.assignDue(uow);
    expect(r.worker_id).toBe('staying');
  });

  it('frees the slot of a task re-queued off its worker', async () => {
    const { book: b } = book([worker('w1', 1)]);
    const r = pending();
    await enqueue(b, [r]);
    expect(b.runningOn('w1')).toBe(1);
    const requeue = batch();
    await enqueueTask(requeue, topology, r, { newAttempt: false, reason: 'worker w1 lost', avoid: 'w1' });
    await b.assignDue(requeue);
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

  it('numbers assigns on after forgetting a worker, from a new base, so a mark of the old run confirms none of the new', async () => {
    const { book: b, clock } = book([worker('w1', 8)]);
    const [first] = (await enqueue(b, [pending()])).assigns;
    const [second] = (await enqueue(b, [pending()])).assigns;
    expect([first, second].map((a) => [a!.seq, a!.base])).toEqual([
      [1, 1],
      [2, 1],
    ]);
    b.forget('w1');
    const [after] = (await enqueue(b, [pending()])).assigns;
    expect([after!.seq, after!.base]).toEqual([3, 3]);
    // The worker (back after a silence) still carries the mark of the old run.
    clock.now += CONFIRM_MS + 1;
    expect(b.heartbeat({ worker_id: 'w1', running: [], assigned: { epoch: b.epoch, seq: 2 } }).map((l) => l.task_id)).toEqual([after!.tasks[0]!.task_id]);
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

  it('holds the tasks that find no free slot, and assigns them, most urgent and oldest first, in the batch that frees a slot', async () => {
    const { book: b } = book([worker('w1', 2)], 100);
    const records = [storedPending(), storedPending(), storedPending(), storedPending({ priority: 5 }), storedPending()];
    const { assigns, dispatched } = await enqueue(b, records);
    expect(dispatched).toEqual([]);
    expect(assigns.flatMap((a) => a.tasks.map((t) => t.task_id))).toEqual([records[0]!.task_id, records[1]!.task_id]);
    expect(b.heldCount()).toBe(3);
    expect(b.heldCount('default')).toBe(3);
    expect(records.slice(2).map((r) => r.status)).toEqual(['queued', 'queued', 'queued']);
    // A new task queues behind the held ones, though it would find no slot anyway.
    const later = storedPending();
    expect((await enqueue(b, [later])).dispatched).toEqual([]);
    expect(b.heldCount()).toBe(4);

    const first = await finish(b, [records[0]!]);
    expect(first).toEqual({ assigned: [records[3]!.task_id], dispatched: [] });
    expect(records[3]).toMatchObject({ status: 'running', worker_id: 'w1', deliveries: 1 });
    const second = await finish(b, [records[1]!, records[3]!]);
    expect(second.assigned).toEqual([records[2]!.task_id, records[4]!.task_id]);
    expect(b.heldCount()).toBe(1);
    expect(b.runningOn('w1')).toBe(2);
    // The assign carries the whole dispatch, built from the record.
    expect((await finish(b, [records[2]!])).assigned).toEqual([later.task_id]);
    expect(b.heldCount()).toBe(0);
    expect(b.heldQueues()).toEqual([]);
  });

  it('assigns a held task before a task the same batch queued', async () => {
    const { book: b } = book([worker('w1', 1)], 100);
    const running = storedPending();
    const held = storedPending();
    await enqueue(b, [running, held]);
    expect(b.heldCount()).toBe(1);
    const uow = batch();
    transition(uow, topology, running, 'succeeded');
    const fresh = storedPending();
    uow.insert(fresh);
    await enqueueTask(uow, topology, fresh, { newAttempt: true });
    const { assigns } = await place(b, uow);
    expect(assigns.flatMap((a) => a.tasks.map((t) => t.task_id))).toEqual([held.task_id]);
    expect(fresh.status).toBe('queued');
    expect(b.heldCount()).toBe(1);
  });

  it('assigns a new task to a free worker of its function at once, though tasks of another function are held for a busy one', async () => {
    const { book: b } = book([worker('busy', 1, { functions: ['fib'] }), worker('free', 2)], 100);
    const [fibRunning, fibHeld] = [storedPending({ function: 'fib' }), storedPending({ function: 'fib' })];
    await enqueue(b, [fibRunning, fibHeld]);
    expect(b.heldCount()).toBe(1);
    const echo = storedPending();
    const { assigns } = await enqueue(b, [echo]);
    expect(assigns.flatMap((a) => a.tasks.map((t) => t.task_id))).toEqual([echo.task_id]);
    expect(echo.worker_id).toBe('free');
    expect(b.heldCount()).toBe(1);
  });

  it("times a stuck count of the pool queue by the queue's part alone, though held tasks come and go", async () => {
    const { book: b, clock } = book([worker('w1', 1)], 1);
    const [running, held, lost] = [storedPending(), storedPending(), storedPending()];
    // One assigned, one held, one past the limit in the pool queue, whose dispatch is never claimed.
    expect((await enqueue(b, [running, held, lost])).dispatched).toEqual([lost.task_id]);
    clock.now += CONFIRM_MS / 2;
    expect((await finish(b, [running])).assigned).toEqual([held.task_id]);
    clock.now += CONFIRM_MS / 2 + 1;
    await finish(b, [held]);
    // The queue's part has not moved for the confirmation time: a new task is assigned, not queued behind it.
    const fresh = storedPending();
    expect((await enqueue(b, [fresh])).assigns.flatMap((a) => a.tasks.map((t) => t.task_id))).toEqual([fresh.task_id]);
  });

  it('drops a held task that left queued (cancelled) and gives its turn to the next', async () => {
    const { book: b } = book([worker('w1', 1)], 100);
    const [running, cancelled, next] = [storedPending(), storedPending(), storedPending()];
    await enqueue(b, [running, cancelled, next]);
    expect(b.heldCount()).toBe(2);
    const cancel = batch();
    transition(cancel, topology, cancelled, 'cancelled');
    await place(b, cancel);
    expect(b.heldCount()).toBe(1);
    expect((await finish(b, [running])).assigned).toEqual([next.task_id]);
    expect(cancelled.status).toBe('cancelled');
  });

  it('drops a held entry whose record moved on without the book seeing it, and fills the slot from the next', async () => {
    const { book: b } = book([worker('w1', 1)], 100);
    const [running, moved, next] = [storedPending(), storedPending(), storedPending()];
    await enqueue(b, [running, moved, next]);
    moved.lease_id = 'another-lease';
    expect((await finish(b, [running])).assigned).toEqual([next.task_id]);
    expect(b.heldCount()).toBe(0);
  });

  it('past the hold limit sends tasks to the pool queue, and new ones queue behind them there', async () => {
    const { book: b } = book([worker('w1', 1)], 2);
    const records = Array.from({ length: 5 }, () => storedPending());
    const { dispatched } = await enqueue(b, records);
    expect(b.heldCount()).toBe(2);
    expect(dispatched).toEqual([records[3]!.task_id, records[4]!.task_id]);
    const after = storedPending();
    expect((await enqueue(b, [after])).dispatched).toEqual([after.task_id]);
  });

  it('sends a held task that no registered worker runs any more to the pool queue', async () => {
    const workers = [worker('w1', 1)];
    const { book: b } = book(workers, 100);
    const [running, held] = [storedPending(), storedPending()];
    await enqueue(b, [running, held]);
    expect(b.heldCount()).toBe(1);
    // w1 goes; a worker of the pool that runs another function comes, with free slots.
    workers.splice(0, 1, worker('w2', 4, { functions: ['fib'] }));
    b.forget('w1');
    const { assigned, dispatched } = await finish(b, []);
    expect(assigned).toEqual([]);
    expect(dispatched).toEqual([held.task_id]);
    expect(b.heldCount()).toBe(0);
    expect(held.status).toBe('queued');
  });

  it('sends the held tasks of a pool whose last worker left to its queue, where the broker counts them', async () => {
    const workers = [worker('w1', 1), worker('gpu', 1, { queues: ['gpu'] })];
    const { book: b } = book(workers, 100);
    const [running, held1, held2] = [storedPending(), storedPending(), storedPending()];
    const [gpuRunning, gpuHeld] = [storedPending({ queue: 'gpu' }), storedPending({ queue: 'gpu' })];
    await enqueue(b, [running, held1, held2, gpuRunning, gpuHeld]);
    expect([b.heldCount('default'), b.heldCount('gpu')]).toEqual([2, 1]);
    workers.splice(0, 1);
    b.forget('w1');
    // A batch with nothing else to do (the delay scheduler's tick).
    const { assigned, dispatched } = await finish(b, []);
    expect(assigned).toEqual([]);
    expect(dispatched).toEqual([held1.task_id, held2.task_id]);
    expect([b.heldCount('default'), b.heldCount('gpu')]).toEqual([0, 1]);
    expect(held1.status).toBe('queued');
  });

  it('holds nothing for a pool none of whose workers runs the function: the pool queue takes it', async () => {
    const { book: b } = book([worker('w1', 1, { functions: ['fib'] })], 100);
    const r = storedPending();
    expect((await enqueue(b, [r])).dispatched).toEqual([r.task_id]);
    expect(b.heldCount()).toBe(0);
  });

  it('says when a worker with free slots should be given a batch for the held tasks', async () => {
    const w1 = worker('w1', 1);
    const workers = [w1];
    const { book: b } = book(workers, 100);
    expect(b.wantsBatchFor(w1)).toBe(false);
    await enqueue(b, [storedPending(), storedPending()]);
    expect(b.wantsBatchFor(w1)).toBe(false);
    const w2 = worker('w2', 2);
    workers.push(w2);
    expect(b.wantsBatchFor(w2)).toBe(true);
    expect(b.wantsBatchFor(worker('gpu', 2, { queues: ['gpu'] }))).toBe(false);
    const { assigned } = await finish(b, []);
    expect(assigned).toHaveLength(1);
    expect(b.heldCount()).toBe(0);
    expect(b.wantsBatchFor(w2)).toBe(false);
  });

  it('at start-up counts the queued tasks of the store as waiting in their pool queues, so new tasks queue behind them', async () => {
    const { book: b } = book([worker('w1', 4, { queues: ['default', 'spare'] })], 100);
    b.seedQueued([storedPending({ status: 'queued', lease_id: 'l-1' }), storedPending({ status: 'queued', lease_id: 'l-2', queue: 'gpu' })]);
    const behind = storedPending();
    expect((await enqueue(b, [behind])).dispatched).toEqual([behind.task_id]);
    expect(b.heldCount()).toBe(0);
    // A pool with nothing waiting is assigned to as ever.
    const spare = storedPending({ queue: 'spare' });
    expect((await enqueue(b, [spare])).assigns.flatMap((a) => a.tasks.map((t) => t.task_id))).toEqual([spare.task_id]);
  });

  it('forgets a lost worker', async () => {
    const { book: b } = book([worker('w1', 4)]);
    await enqueue(b, [pending()]);
    b.forget('w1');
    expect([b.runningOn('w1'), b.pendingOn('w1')]).toEqual([0, 0]);
  });
});
