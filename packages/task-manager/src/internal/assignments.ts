/**
 * Assignment at idle: a due task handed straight to a worker with a free
 * slot, already `running` under its lease on that worker, in an `assign`
 * control message. It skips the pool queue's durable write, the claim and the
 * grant — two hops and a store write of the idle path. A due task that finds
 * no free slot is held by the book itself ({@link HeldBacklog}, up to
 * `holdLimit` tasks) and assigned, oldest and most urgent first, in the
 * batch that frees a slot; past the limit, and for a pool none of whose
 * workers runs the task's function, it goes through the pool's queue
 * (grouped, claimed) as before, and while tasks wait there new ones queue
 * behind them.
 *
 * What the queue's durability gave, the book gives instead: the store holds
 * the task as running on the worker, and the worker's heartbeats say which
 * `assign` it took in last (`assigned.seq`). An assignment its worker has not
 * taken in within `confirmWithinMs` (lost with the worker's control queue in
 * a broker restart, or sent by a task-manager that crashed before it went
 * out) is handed on; a lost worker's tasks are re-queued as ever.
 */
import { MAX_GROUPED_MESSAGES, uuidv7, type AssignCommand, type DispatchMessage, type LeaseRef, type Topology, type WorkerHeartbeat } from '@sje/core';
import { dispatchOf, readWithDependencies, redispatch } from './dispatcher.js';
import { HeldBacklog, type HeldTask } from './held-backlog.js';
import type { OutboxMessage, TaskRecord } from '@sje/store';
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
  /** Leases that left `queued` in this batch (their held entries go). */
  readonly leftQueued: string[] = [];
  /** Tasks this batch adds to the held backlog. */
  readonly held: HeldTask[] = [];
  /** Held leases this batch took out of the backlog (assigned, or found moved on). */
  readonly taken = new Set<string>();

  /** A task started (+1) or stopped (-1) running on `worker`; a stop names its lease. */
  noteSlot(worker: string, delta: 1 | -1, lease?: { lease_id?: string | undefined }): void {
    this.slots.set(worker, (this.slots.get(worker) ?? 0) + delta);
    if (delta < 0 && lease?.lease_id !== undefined) this.ended.push({ worker, lease_id: lease.lease_id });
  }

  /** A task of pool `queue` entered (+1) or left (-1) `queued`; a departure names its lease. */
  noteWaiting(queue: string, delta: 1 | -1, leaseId?: string): void {
    this.waiting.set(queue, (this.waiting.get(queue) ?? 0) + delta);
    if (delta < 0 && leaseId !== undefined) this.leftQueued.push(leaseId);
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
  /** Most tasks the book holds when no slot is free (the rest go through their pool's queue). @defaultValue 0: none held */
  holdLimit?: number;
  /** @defaultValue Date.now */
  now?: () => number;
}

/** What {@link AssignmentBook.choose} needs of a task. */
type Placement = Pick<TaskRecord, 'queue' | 'function'>;

/** Whether worker `w` (unless it is the one to avoid) takes tasks of the task's pool and function. */
function runs(w: AssignableWorker, task: Placement, avoid: string | undefined): boolean {
  return w.worker_id !== avoid && w.concurrency >= 1 && w.queues.includes(task.queue) && w.functions.includes(task.function);
}

/** Held entries looked at per pool and pass beyond the free slots, for tasks no free worker runs. */
const HELD_SCAN_SLACK = 256;

/** Held tasks of pools no worker serves any more sent to their queues by one batch (the delay scheduler's tick runs one at least every `scheduler_tick_ms`). */
const ORPHANS_PER_BATCH = 10_000;

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
  /** Per worker: the last assign's `seq` (never reset within this process, so a mark of an earlier run never covers a later one). */
  private readonly seqs = new Map<string, number>();
  /** Per worker: the `seq` its current run of assigns started from (see `AssignCommand.base`). */
  private readonly bases = new Map<string, number>();
  /** When each worker was last chosen (a running count), for the ties of {@link choose}. */
  private readonly turns = new Map<string, number>();
  private turn = 0;
  /** Assignments not yet taken in, per worker, by lease. */
  private readonly pending = new Map<string, Map<string, Pending>>();
  private readonly now: () => number;
  /** Due tasks waiting for a free slot, held here instead of in their pool's queue. */
  private readonly held = new HeldBacklog();
  private readonly holdLimit: number;
  /** Tasks assigned since start. */
  assignedTotal = 0;
  /** Assignments handed on because their worker did not take them in. */
  handedOnTotal = 0;

  constructor(private readonly options: AssignmentBookOptions) {
    this.now = options.now ?? Date.now;
    this.holdLimit = options.holdLimit ?? 0;
  }

  /** Tasks held for pool `queue` (all pools: no argument). */
  heldCount(queue?: string): number {
    return queue === undefined ? this.held.size : this.held.sizeOf(queue);
  }

  /** The pools for which tasks are held. */
  heldQueues(): string[] {
    return [...this.held.queues()];
  }

  /**
   * Whether a batch would assign held tasks now: some are held and `worker`
   * (just registered, or heartbeating) has a free slot. Slots that free
   * through reports are used by the batch that applies them; a new worker's
   * are not, so its messages ask for a batch.
   */
  wantsBatchFor(worker: AssignableWorker): boolean {
    if (this.held.size === 0 || worker.concurrency - this.runningOn(worker.worker_id) < 1) return false;
    for (const queue of worker.queues) if (this.held.sizeOf(queue) > 0) return true;
    return false;
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
   * At the end of a batch, before its commit. First the held tasks, oldest
   * and most urgent first, go to workers with free slots (the batch's own
   * outcomes count as freed); then each task the batch queued (and left
   * queued) is assigned if nothing waits ahead of it in its pool's queue and
   * a slot is still free, held if none is (while the backlog has room and a
   * worker of the pool runs its function), and otherwise left to its pool's
   * queue. An assigned task goes on to `running` on its worker;
   * an assigned or held task's dispatch is taken out of the batch's messages.
   */
  async assignDue(uow: UnitOfWork): Promise<void> {
    const changes = uow.assignments;
    if (this.held.size > 0) {
      await this.releaseOrphans(uow, changes);
      await this.assignHeld(uow, changes);
    }
    const dispatches = uow.messagesTo(this.options.topology.exchanges.tasks);
    if (dispatches.length === 0) return;
    const candidates: { message: OutboxMessage; record: TaskRecord; dispatch: DispatchMessage }[] = [];
    for (const message of dispatches) {
      const dispatch = message.body as DispatchMessage;
      if (dispatch.type !== 'dispatch') continue;
      const record = uow.peek(dispatch.task_id);
      if (record?.status === 'queued' && record.lease_id === dispatch.lease_id) candidates.push({ message, record, dispatch });
    }
    if (candidates.length === 0) return;
    // Ahead of the batch's own candidates, per pool: tasks in the pool's queue (the committed
    // waiting count and the batch's other changes, less what is held).
    const heldLeft = this.heldLeftAfter(changes);
    const inQueue = new Map<string, number>();
    for (const { record } of candidates) {
      const q = record.queue;
      if (!inQueue.has(q)) inQueue.set(q, this.waitingIn(q, changes) - (heldLeft.get(q) ?? 0));
      inQueue.set(q, inQueue.get(q)! - 1);
    }
    let holdRoom = this.holdLimit - this.held.size - changes.held.length;
    const servedCache = new Map<string, boolean>();
    const withdrawn = new Set<OutboxMessage>();
    for (const { message, record, dispatch } of candidates) {
      const q = record.queue;
      const queued = inQueue.get(q)!;
      if (queued > 0) {
        inQueue.set(q, queued + 1);
        continue;
      }
      const avoid = changes.avoid.get(dispatch.lease_id);
      // Held tasks had the free slots first (assignHeld): a slot still free is one none of them could take.
      const worker = this.choose(record, changes, avoid);
      if (worker !== undefined) {
        this.assign(uow, record, worker, dispatch);
        withdrawn.add(message);
        continue;
      }
      if (holdRoom > 0 && this.served(record, avoid, servedCache)) {
        const task: HeldTask = { task_id: record.task_id, lease_id: dispatch.lease_id, queue: q, function: record.function, priority: record.priority };
        changes.held.push(avoid === undefined ? task : { ...task, avoid });
        holdRoom -= 1;
        withdrawn.add(message);
        continue;
      }
      inQueue.set(q, Math.max(0, queued) + 1);
    }
    uow.withdraw(withdrawn);
  }

  /**
   * Hands held tasks to workers with free slots, in each pool's order. Slots
   * are reserved before the records are read; a record found no longer
   * queued under the held lease is dropped, and its slot offered to the next
   * held task in another pass.
   */
  private async assignHeld(uow: UnitOfWork, changes: AssignmentChanges): Promise<void> {
    const served = new Map<string, boolean>();
    for (let pass = 0; pass < 4; pass++) {
      const reserved = new Map<string, number>();
      let free = this.freeSlots(changes);
      if (free < 1) return;
      const picks: { task: HeldTask; worker: AssignableWorker }[] = [];
      const unserved: HeldTask[] = [];
      for (const queue of this.held.queues()) {
        let looked = 0;
        for (const task of this.held.inOrder(queue)) {
          if (free < 1 || looked++ >= free + HELD_SCAN_SLACK) break;
          if (changes.taken.has(task.lease_id)) continue;
          const worker = this.choose(task, changes, task.avoid, reserved);
          if (worker === undefined) {
            if (!this.served(task, task.avoid, served)) unserved.push(task);
            continue;
          }
          reserved.set(worker.worker_id, (reserved.get(worker.worker_id) ?? 0) + 1);
          free -= 1;
          picks.push({ task, worker });
        }
      }
      if (unserved.length > 0) await this.sendToQueue(uow, changes, unserved);
      if (picks.length === 0) return;
      const { records, deps } = await readWithDependencies(uow, picks.map((p) => p.task.task_id));
      let dropped = 0;
      for (const { task, worker } of picks) {
        changes.taken.add(task.lease_id);
        const record = records.get(task.task_id);
        if (record?.status !== 'queued' || record.lease_id !== task.lease_id) {
          dropped += 1;
          continue;
        }
        this.assign(uow, record, worker, dispatchOf(record, task.lease_id, deps));
      }
      if (dropped === 0) return;
    }
  }

  /**
   * Held tasks of a pool that no registered worker serves any more (the last
   * one left or was lost) go to the pool's queue, up to
   * {@link ORPHANS_PER_BATCH} a batch: there the broker counts them, for an
   * autoscaler that reads the queue's length, and any worker that comes for
   * them finds them.
   */
  private async releaseOrphans(uow: UnitOfWork, changes: AssignmentChanges): Promise<void> {
    const orphans: HeldTask[] = [];
    for (const queue of this.held.queues()) {
      if (this.poolServed(queue)) continue;
      for (const task of this.held.inOrder(queue, ORPHANS_PER_BATCH - orphans.length)) orphans.push(task);
      if (orphans.length >= ORPHANS_PER_BATCH) break;
    }
    if (orphans.length > 0) await this.sendToQueue(uow, changes, orphans);
  }

  /** Whether a registered worker takes tasks of pool `queue`. */
  private poolServed(queue: string): boolean {
    for (const w of this.options.workers()) if (w.concurrency >= 1 && w.queues.includes(queue)) return true;
    return false;
  }

  /**
   * Held tasks that no registered worker runs (none has the function, or only
   * the worker to avoid): their dispatches go to the pool's queue after all,
   * for whichever worker comes for them.
   */
  private async sendToQueue(uow: UnitOfWork, changes: AssignmentChanges, tasks: readonly HeldTask[]): Promise<void> {
    for (const task of tasks) {
      changes.taken.add(task.lease_id);
      if (task.avoid !== undefined) changes.avoid.set(task.lease_id, task.avoid);
    }
    await redispatch(uow, this.options.topology, tasks);
  }

  /** Moves a queued task to `running` on `worker`, to be sent in the batch's `assign` for it. */
  private assign(uow: UnitOfWork, record: TaskRecord, worker: AssignableWorker, dispatch: DispatchMessage): void {
    record.worker_id = worker.worker_id;
    record.worker_host = worker.host;
    record.deliveries += 1;
    transition(uow, this.options.topology, record, 'running', { reason: 'assigned' });
    uow.assignments.assigned.push({ worker: worker.worker_id, dispatch });
  }

  /** Per pool: the tasks still held once the batch's departures from `queued` and takings are applied. */
  private heldLeftAfter(changes: AssignmentChanges): Map<string, number> {
    const left = new Map<string, number>();
    if (this.held.size === 0) return left;
    for (const queue of this.held.queues()) left.set(queue, this.held.sizeOf(queue));
    const gone = new Set<string>(changes.taken);
    for (const lease of changes.leftQueued) gone.add(lease);
    for (const lease of gone) {
      const queue = this.held.queueOf(lease);
      if (queue !== undefined) left.set(queue, (left.get(queue) ?? 1) - 1);
    }
    return left;
  }

  /** Free slots over all registered workers, with the batch's changes. */
  private freeSlots(changes: AssignmentChanges): number {
    let free = 0;
    for (const w of this.options.workers()) free += Math.max(0, w.concurrency - this.runningOn(w.worker_id) - (changes.slots.get(w.worker_id) ?? 0));
    return free;
  }

  /** Whether a registered worker (other than `avoid`) runs the task's function for its pool, free or not. */
  private served(task: Placement, avoid: string | undefined, cache: Map<string, boolean>): boolean {
    const key = `${task.queue}\0${task.function}\0${avoid ?? ''}`;
    let yes = cache.get(key);
    if (yes === undefined) {
      yes = false;
      for (const w of this.options.workers()) {
        if (runs(w, task, avoid)) {
          yes = true;
          break;
        }
      }
      cache.set(key, yes);
    }
    return yes;
  }

  /**
   * The registered worker of the task's pool, with its function, that has the
   * most free slots (less those `reserved` in this pass); of several with as
   * many, the one assigned a task least lately (so that one task at a time
   * takes turns over the workers). None: undefined.
   */
  private choose(task: Placement, changes: AssignmentChanges, avoid?: string, reserved?: ReadonlyMap<string, number>): AssignableWorker | undefined {
    let best: AssignableWorker | undefined;
    let bestFree = 0;
    let bestTurn = 0;
    for (const w of this.options.workers()) {
      if (!runs(w, task, avoid)) continue;
      const free = w.concurrency - this.runningOn(w.worker_id) - (changes.slots.get(w.worker_id) ?? 0) - (reserved?.get(w.worker_id) ?? 0);
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
    const touched = new Set(changes.waiting.keys());
    for (const task of changes.held) touched.add(task.queue);
    for (const lease of changes.taken) {
      const queue = this.held.queueOf(lease);
      if (queue !== undefined) touched.add(queue);
    }
    const inQueueBefore = new Map([...touched].map((q) => [q, this.inPoolQueue(q)]));
    for (const [queue, delta] of changes.waiting) this.waiting.set(queue, Math.max(0, (this.waiting.get(queue) ?? 0) + delta));
    for (const { worker, lease_id } of changes.ended) this.pending.get(worker)?.delete(lease_id);
    for (const lease of changes.leftQueued) this.held.remove(lease);
    for (const lease of changes.taken) this.held.remove(lease);
    for (const task of changes.held) this.held.add(task);
    // The staleness clock of a pool's count follows its queue's part alone: held tasks come and go under load.
    for (const [queue, before] of inQueueBefore) if (this.inPoolQueue(queue) !== before) this.waitingMovedAt.set(queue, now);
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
        let base = this.bases.get(worker);
        if (base === undefined) {
          base = seq;
          this.bases.set(worker, base);
        }
        const book = this.pendingOf(worker);
        for (const t of tasks) book.set(t.lease_id, { task_id: t.task_id, lease_id: t.lease_id, seq, sentAt: now });
        const body: AssignCommand = { type: 'assign', epoch: this.epoch, seq, base, tasks };
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

  /**
   * Start-up: the tasks the store has queued, whose dispatches the
   * task-manager sends to their pool queues again (what the previous process
   * held is in no queue). They count as waiting there, so that new tasks of
   * their pools queue behind them.
   */
  seedQueued(queued: readonly TaskRecord[]): void {
    const now = this.now();
    for (const t of queued) {
      this.waiting.set(t.queue, (this.waiting.get(t.queue) ?? 0) + 1);
      this.waitingMovedAt.set(t.queue, now);
    }
  }

  /** A worker is gone (its tasks are re-queued by the registry): forget its slots and assignments. */
  forget(worker: string): void {
    this.running.delete(worker);
    this.pending.delete(worker);
    // Its sequence goes on, from a new base: a mark of the old run can never confirm a new assign.
    this.bases.delete(worker);
    this.turns.delete(worker);
  }

  /**
   * Tasks queued for a pool, held or in its queue, with the batch's changes.
   * A queue's part that has not changed for `confirmWithinMs` no longer holds
   * assignments back: either the pool's workers are all busy (and none has a
   * free slot to be assigned to) or the count is wrong (a dispatch the broker
   * dead-lettered leaves its task queued, and workers with free slots would
   * have claimed the rest).
   */
  private waitingIn(queue: string, changes: AssignmentChanges): number {
    const own = changes.waiting.get(queue) ?? 0;
    const committed = this.waiting.get(queue) ?? 0;
    const held = this.held.sizeOf(queue);
    if (committed > held && this.now() - (this.waitingMovedAt.get(queue) ?? 0) > this.options.confirmWithinMs) {
      this.waiting.set(queue, held);
      return held + own;
    }
    return committed + own;
  }

  /** Committed tasks queued in pool `queue`'s queue (not held). */
  private inPoolQueue(queue: string): number {
    return Math.max(0, (this.waiting.get(queue) ?? 0) - this.held.sizeOf(queue));
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
