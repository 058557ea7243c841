/**
 * The backlog the task-manager holds itself: due tasks that found no free
 * worker slot, kept per pool in priority order (highest first, oldest first
 * within a priority) until a slot frees, instead of a dispatch in the pool's
 * queue. Each entry names the task and its lease only; the task's record
 * (in the store as `queued` under that lease) stays the truth, so an entry
 * whose task has moved on since is simply dropped when its turn comes.
 */

/** A task waiting in the held backlog. */
export interface HeldTask {
  readonly task_id: string;
  readonly lease_id: string;
  readonly queue: string;
  readonly function: string;
  readonly priority: number;
  /** A worker not to hand it to (the one that just gave it back). */
  readonly avoid?: string;
}

/** One priority of one pool: a FIFO read from `head`, compacted as it drains. */
interface Lane {
  readonly priority: number;
  items: HeldTask[];
  head: number;
}

/** Entries taken from the front of a lane before its array is compacted. */
const COMPACT_AFTER = 1024;

/** Held tasks by pool and priority, with removal by lease in O(1). */
export class HeldBacklog {
  /** Per pool queue: its lanes, highest priority first. */
  private readonly pools = new Map<string, Lane[]>();
  /** Every held entry by lease; an entry in a lane but not here was removed. */
  private readonly byLease = new Map<string, HeldTask>();
  /** Held tasks per pool. */
  private readonly counts = new Map<string, number>();

  /** Tasks held in all pools. */
  get size(): number {
    return this.byLease.size;
  }

  /** Tasks held for pool `queue`. */
  sizeOf(queue: string): number {
    return this.counts.get(queue) ?? 0;
  }

  /** The pools that hold tasks. */
  queues(): IterableIterator<string> {
    return this.counts.keys();
  }

  /** The pool of the task held under `leaseId`; undefined when none is. */
  queueOf(leaseId: string): string | undefined {
    return this.byLease.get(leaseId)?.queue;
  }

  /** Adds a task behind those of its pool and priority (a lease already held is left where it is). */
  add(task: HeldTask): void {
    if (this.byLease.has(task.lease_id)) return;
    this.byLease.set(task.lease_id, task);
    this.counts.set(task.queue, this.sizeOf(task.queue) + 1);
    this.laneOf(task.queue, task.priority).items.push(task);
  }

  /** Takes the entry of `leaseId` out (assigned, or its task moved on); unknown leases are ignored. */
  remove(leaseId: string): void {
    const task = this.byLease.get(leaseId);
    if (!task) return;
    this.byLease.delete(leaseId);
    const left = this.sizeOf(task.queue) - 1;
    if (left > 0) this.counts.set(task.queue, left);
    else {
      this.counts.delete(task.queue);
      this.pools.delete(task.queue);
    }
  }

  /** The held tasks of pool `queue` in the order they are handed out, at most `limit` of them. */
  *inOrder(queue: string, limit = Infinity): Generator<HeldTask> {
    const lanes = this.pools.get(queue);
    if (!lanes) return;
    let given = 0;
    for (const lane of lanes) {
      this.skipRemoved(lane);
      for (let i = lane.head; i < lane.items.length && given < limit; i++) {
        const task = lane.items[i]!;
        if (this.byLease.get(task.lease_id) !== task) continue;
        given += 1;
        yield task;
      }
      if (given >= limit) return;
    }
  }

  /** Moves a lane's head past removed entries, and compacts the array once enough is behind it. */
  private skipRemoved(lane: Lane): void {
    while (lane.head < lane.items.length && this.byLease.get(lane.items[lane.head]!.lease_id) !== lane.items[lane.head]) lane.head += 1;
    if (lane.head >= COMPACT_AFTER && lane.head * 2 >= lane.items.length) {
      lane.items = lane.items.slice(lane.head);
      lane.head = 0;
    }
  }

  private laneOf(queue: string, priority: number): Lane {
    let lanes = this.pools.get(queue);
    if (!lanes) {
      lanes = [];
      this.pools.set(queue, lanes);
    }
    let lane = lanes.find((l) => l.priority === priority);
    if (!lane) {
      lane = { priority, items: [], head: 0 };
      lanes.push(lane);
      lanes.sort((a, b) => b.priority - a.priority);
    }
    return lane;
  }
}
