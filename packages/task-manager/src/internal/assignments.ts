/**
 * Assignment at idle: a due task handed straight to a worker with a free
 * slot, already `running` under its lease on that worker, in an `assign`
 * control message. It skips the pool queue's durable write, the claim and the
 * grant — two hops and a store write of the idle path — and is used only
 * while nothing waits in the pool's queue, so under a backlog every task goes
 * through the queue (grouped, claimed, fairly spread) as before.
 *
 * What the queue's durability gave, the book gives instead: the store holds
 * the task as running on the worker, and the worker's heartbeats say which
 * `assign` it took in last (`assigned.seq`). An assignment its worker has not
 * taken in within `confirmWithinMs` (lost with the worker's control queue in
 * a broker restart, or sent by a task-manager that crashed before it went
 * out) is handed on; a lost worker's tasks are re-queued as ever.
 */
import { MAX_GROUPED_MESSAGES, uuidv7, type AssignCommand, type DispatchMessage, type LeaseRef, type Topology, type WorkerHeartbeat } from '@sje/core';
import type { OutboxMessage, TaskRecord } from './store/task-record.js';
import { transition } from './transitions.js';
import type { UnitOfWork } from './unit-of-work.js';

/** A registered worker, as the book needs it. */
export interface AssignableWorker {
  worker_id: string;
  host: string;
  queues: readonly string[];
  functions: readonly string[];
  concurrency: number;
}

/** One batch's changes to what the book counts, applied once the batch is committed. */
export class AssignmentChanges {
  /** Per worker: tasks that started (+) or stopped (-) running on it. */
  readonly slots = new Map<string, number>();
  /** Per pool queue: tasks that entered (+) or left (-) `queued`. */
  readonly waiting = new Map<string, number>();
  /** Leases that stopped running, with the worker they ran on. */
  readonly ended: { worker: string; lease_id: string }[] = [];
  /** Tasks handed to a worker by this batch. */
  readonly assigned: { worker: string; dispatch: DispatchMessage }[] = [];
  /** Per lease queued by this batch: a worker not to assign it to (the one that just gave the task back). */
  readonly avoid = new Map<string, string>();

  /** A task started (+1) or stopped (-1) running on `worker`; a stop names its lease. */
  noteSlot(worker: string, delta: 1 | -1, lease?: { lease_id?: string | undefined }): void {
    this.slots.set(worker, (this.slots.get(worker) ?? 0) + delta);
    if (delta < 0 && lease?.lease_id !== undefined) this.ended.push({ worker, lease_id: lease.lease_id });
  }

  /** A task of pool `queue` entered (+1) or left (-1) `queued`. */
  noteWaiting(queue: string, delta: 1 | -1): void {
    this.waiting.set(queue, (this.waiting.get(queue) ?? 0) + delta);
  }
}

interface Pending {
  task_id: string;
  lease_id: string;
  /** The `assign` that carried it; `Infinity` for one only known from the store at start-up. */
  seq: number;
  sentAt: number;
}

/** Options of {@link AssignmentBook}. */
export interface AssignmentBookOptions {
  topology: Topology;
  /** The registered workers that take assignments. */
  workers: () => Iterable<AssignableWorker>;
  /** How long a worker has to take in an assignment (its heartbeat's mark) before the task is handed on. */
  confirmWithinMs: number;
  /** @defaultValue Date.now */
  now?: () => number;
}

/** The task-manager's view of every worker's slots and of its assignments in flight. */
export class AssignmentBook {
  /** This process: a worker's mark names it, so a restarted task-manager's numbers start afresh. */
  readonly epoch = uuidv7();
  /** Tasks running on each worker (as the store says: granted or assigned, not yet ended). */
  private readonly running = new Map<string, number>();
  /** Tasks queued in each pool queue and not yet claimed. */
  private readonly waiting = new Map<string, number>();
  /** When a pool's waiting count last changed. */
  private readonly waitingMovedAt = new Map<string, number>();
  private readonly seqs = new Map<string, number>();
  /** When each worker was last chosen (a running count), for the ties of {@link choose}. */
  private readonly turns = new Map<string, number>();
  private turn = 0;
  /** Assignments not yet taken in, per worker, by lease. */
  private readonly pending = new Map<string, Map<string, Pending>>();
  private readonly now: () => number;
  /** Tasks assigned since start. */
  assignedTotal = 0;
  /** Assignments handed on because their worker did not take them in. */
  handedOnTotal = 0;

  constructor(private readonly options: AssignmentBookOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Tasks the book counts as running on `worker`. */
  runningOn(worker: string): number {
    return this.running.get(worker) ?? 0;
  }

  /** Assignments sent to `worker` and not yet taken in. */
  pendingOn(worker: string): number {
    return this.pending.get(worker)?.size ?? 0;
  }

  /**
   * At the end of a batch, before its commit: hands the tasks it queued (and
   * left queued) to workers with free slots, in order, while nothing waits
   * ahead of them in their pool's queue. Each goes on to `running` on its
   * worker and its dispatch is taken out of the batch's messages; the rest
   * stay as they are.
   */
  assignDue(uow: UnitOfWork): void {
    const dispatches = uow.messagesTo(this.options.topology.exchanges.tasks);
    if (dispatches.length === 0) return;
    const changes = uow.assignments;
    const candidates: { message: OutboxMessage; record: TaskRecord; dispatch: DispatchMessage }[] = [];
    for (const message of dispatches) {
      const dispatch = message.body as DispatchMessage;
      if (dispatch.type !== 'dispatch') continue;
      const record = uow.peek(dispatch.task_id);
      if (record?.status === 'queued' && record.lease_id === dispatch.lease_id) candidates.push({ message, record, dispatch });
    }
    if (candidates.length === 0) return;
    // Waiting ahead of the batch's own candidates: the committed count and the batch's other changes.
    const ahead = new Map<string, number>();
    for (const c of candidates) ahead.set(c.record.queue, (ahead.get(c.record.queue) ?? this.waitingIn(c.record.queue, changes)) - 1);
    const withdrawn = new Set<OutboxMessage>();
    for (const { message, record, dispatch } of candidates) {
      const waiting = ahead.get(record.queue) ?? 0;
      const worker = waiting > 0 ? undefined : this.choose(record, changes, changes.avoid.get(dispatch.lease_id));
      if (worker === undefined) {
        ahead.set(record.queue, waiting + 1);
        continue;
      }
      record.worker_id = worker.worker_id;
      record.worker_host = worker.host;
      record.deliveries += 1;
      transition(uow, this.options.topology, record, 'running', { reason: 'assigned' });
      changes.assigned.push({ worker: worker.worker_id, dispatch });
      withdrawn.add(message);
    }
    uow.withdraw(withdrawn);
  }

  /**
   * The registered worker of the task's pool, with its function, that has the
   * most free slots; of several with as many, the one assigned a task least
   * lately (so that one task at a time takes turns over the workers). None:
   * undefined.
   */
  private choose(record: TaskRecord, changes: AssignmentChanges, avoid?: string): AssignableWorker | undefined {
    let best: AssignableWorker | undefined;
    let bestFree = 0;
    let bestTurn = 0;
    for (const w of this.options.workers()) {
      if (w.worker_id === avoid || w.concurrency < 1 || !w.queues.includes(record.queue) || !w.functions.includes(record.function)) continue;
      const free = w.concurrency - this.runningOn(w.worker_id) - (changes.slots.get(w.worker_id) ?? 0);
      const turn = this.turns.get(w.worker_id) ?? 0;
      if (free > bestFree || (free === bestFree && free > 0 && turn < bestTurn)) {
        best = w;
        bestFree = free;
        bestTurn = turn;
      }
    }
    if (best) this.turns.set(best.worker_id, ++this.turn);
    return best;
  }

  /**
   * Applies a committed batch's changes and returns the `assign` messages to
   * send (one per worker, or more for a very large batch), in the order sent.
   */
  committed(changes: AssignmentChanges): OutboxMessage[] {
    const { topology } = this.options;
    const now = this.now();
    for (const [worker, delta] of changes.slots) this.running.set(worker, Math.max(0, this.runningOn(worker) + delta));
    for (const [queue, delta] of changes.waiting) {
      this.waiting.set(queue, Math.max(0, (this.waiting.get(queue) ?? 0) + delta));
      if (delta !== 0) this.waitingMovedAt.set(queue, now);
    }
    for (const { worker, lease_id } of changes.ended) this.pending.get(worker)?.delete(lease_id);
    if (changes.assigned.length === 0) return [];
    this.assignedTotal += changes.assigned.length;
    const byWorker = new Map<string, DispatchMessage[]>();
    for (const { worker, dispatch } of changes.assigned) {
      const list = byWorker.get(worker);
      if (list) list.push(dispatch);
      else byWorker.set(worker, [dispatch]);
    }
    const messages: OutboxMessage[] = [];
    for (const [worker, dispatches] of byWorker) {
      for (let i = 0; i < dispatches.length; i += MAX_GROUPED_MESSAGES) {
        const tasks = dispatches.slice(i, i + MAX_GROUPED_MESSAGES);
        const seq = (this.seqs.get(worker) ?? 0) + 1;
        this.seqs.set(worker, seq);
        const book = this.pendingOf(worker);
        for (const t of tasks) book.set(t.lease_id, { task_id: t.task_id, lease_id: t.lease_id, seq, sentAt: now });
        const body: AssignCommand = { type: 'assign', epoch: this.epoch, seq, tasks };
        messages.push({ exchange: topology.exchanges.control, routing_key: topology.controlKeyFor(worker), body, transient: true });
      }
    }
    return messages;
  }

  /**
   * A worker's heartbeat: what it took in is confirmed (its mark, or a lease it
   * lists as held); what it should have taken in by now and did not is returned,
   * to be handed on.
   */
  heartbeat(hb: Pick<WorkerHeartbeat, 'worker_id' | 'running' | 'assigned'>): LeaseRef[] {
    const book = this.pending.get(hb.worker_id);
    if (!book || book.size === 0) return [];
    const takenUpTo = hb.assigned?.epoch === this.epoch ? hb.assigned.seq : 0;
    const held = hb.running.length > 0 ? new Set(hb.running.map((r) => r.lease_id)) : undefined;
    const overdueBefore = this.now() - this.options.confirmWithinMs;
    const overdue: LeaseRef[] = [];
    for (const [lease, p] of book) {
      if (p.seq <= takenUpTo || held?.has(lease) === true) book.delete(lease);
      else if (p.sentAt < overdueBefore) {
        book.delete(lease);
        overdue.push({ task_id: p.task_id, lease_id: p.lease_id });
      }
    }
    this.handedOnTotal += overdue.length;
    return overdue;
  }

  /**
   * Start-up: the tasks the store has running. Their workers' slots are
   * counted, and each must show up in its worker's heartbeats (or end) within
   * `confirmWithinMs`: an assignment committed just before a crash may never
   * have been sent.
   */
  seed(running: readonly TaskRecord[]): void {
    const now = this.now();
    for (const t of running) {
      if (t.worker_id === undefined || t.lease_id === undefined) continue;
      this.running.set(t.worker_id, this.runningOn(t.worker_id) + 1);
      this.pendingOf(t.worker_id).set(t.lease_id, { task_id: t.task_id, lease_id: t.lease_id, seq: Infinity, sentAt: now });
    }
  }

  /** A worker is gone (its tasks are re-queued by the registry): forget its slots and assignments. */
  forget(worker: string): void {
    this.running.delete(worker);
    this.pending.delete(worker);
    this.seqs.delete(worker);
    this.turns.delete(worker);
  }

  /**
   * Tasks waiting in a pool's queue. A count that has not changed for
   * `confirmWithinMs` no longer holds assignments back: either the pool's
   * workers are all busy (and none has a free slot to be assigned to) or the
   * count is wrong (a dispatch the broker dead-lettered leaves its task
   * queued, and workers with free slots would have claimed the rest).
   */
  private waitingIn(queue: string, changes: AssignmentChanges): number {
    const own = changes.waiting.get(queue) ?? 0;
    const committed = this.waiting.get(queue) ?? 0;
    if (committed > 0 && this.now() - (this.waitingMovedAt.get(queue) ?? 0) > this.options.confirmWithinMs) {
      this.waiting.set(queue, 0);
      return Math.max(0, own);
    }
    return committed + own;
  }

  private pendingOf(worker: string): Map<string, Pending> {
    let book = this.pending.get(worker);
    if (!book) {
      book = new Map();
      this.pending.set(worker, book);
    }
    return book;
  }
}
