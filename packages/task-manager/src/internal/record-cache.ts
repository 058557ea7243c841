/**
 * The records of live tasks the command loop committed last, kept in memory
 * so that the claim and the outcome of a task that was dispatched moments ago
 * do not read and parse its row again. A task that reached a final state
 * leaves the cache: little reads it again, and a burst of finished tasks must
 * not push out the queued ones whose claims are coming. The loop is the store's only writer, so a record
 * it committed stays true until it commits the next version; a batch that
 * fails empties the cache, because its commands may have changed cached
 * records in place before the failure.
 */
import { isFinalStatus } from '@sje/core';
import type { TaskRecord } from './store/task-record.js';

/** Default number of records kept. */
export const DEFAULT_RECORD_CACHE_SIZE = 20_000;

/**
 * A bounded map of committed records in two generations: records go into the
 * young one; when it is full it becomes the old one and the previous old one
 * is dropped. Reads look in both. Every operation is O(1) (evicting the
 * oldest entries of one big `Map` one by one makes V8 walk its deleted slots
 * on each eviction), and between `capacity / 2` and `capacity` records are
 * kept.
 */
export class RecordCache {
  private young = new Map<string, TaskRecord>();
  private old = new Map<string, TaskRecord>();
  private readonly generation: number;

  /** @param capacity - most records kept (0 keeps none). */
  constructor(readonly capacity: number = DEFAULT_RECORD_CACHE_SIZE) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`capacity must be a non-negative integer, got ${capacity}`);
    this.generation = Math.max(1, Math.floor(capacity / 2));
  }

  /** Records held now (a task is in one generation at most: {@link remember} keeps them apart). */
  get size(): number {
    return this.young.size + this.old.size;
  }

  /** The committed record of a task, if cached. */
  get(taskId: string): TaskRecord | undefined {
    return this.young.get(taskId) ?? this.old.get(taskId);
  }

  /** Keeps the records a batch has just committed, as the newest; forgets those that are final. */
  remember(records: readonly TaskRecord[]): void {
    if (this.capacity === 0) return;
    for (const record of records) {
      if (isFinalStatus(record.status)) {
        this.young.delete(record.task_id);
        this.old.delete(record.task_id);
        continue;
      }
      if (this.young.size >= this.generation && !this.young.has(record.task_id)) {
        this.old = this.young;
        this.young = new Map();
      }
      this.young.set(record.task_id, record);
      // An older version left in the old generation must not come back after the young one is dropped.
      this.old.delete(record.task_id);
    }
  }

  /** Forgets everything (after a failed batch, or when the store may have been written by someone else). */
  clear(): void {
    this.young = new Map();
    this.old = new Map();
  }
}
