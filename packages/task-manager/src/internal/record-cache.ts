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
import type { TaskRecord } from '@sje/store';

/** Default number of records kept. */
export const DEFAULT_RECORD_CACHE_SIZE = 20_000;

/**
 * A bounded map of committed records, least recently committed first: a
 * record committed again moves to the end, and past `capacity` records the
 * first ones are dropped. So it holds every live task as long as there are
 * no more of them than `capacity` (a backlog that size has every claim and
 * outcome find its record here).
 *
 * The oldest entries are found by an iterator over the `Map`, kept while
 * evictions go on, so V8 walks each deleted slot once rather than again at
 * every eviction. It is let go as soon as a batch evicts nothing: V8 keeps
 * every table a `Map` has outgrown alive for as long as an iterator that has
 * not moved on still points into it, and a cache below its capacity, whose
 * iterator would never move, would hold a new table (with the records in it)
 * every few thousand commits.
 */
export class RecordCache {
  private records = new Map<string, TaskRecord>();
  /** Walks the map in commit order during evictions; every entry it has passed was evicted, so all that remain lie ahead of it. */
  private oldest: Iterator<string> | undefined;

  /** @param capacity - most records kept (0 keeps none). */
  constructor(readonly capacity: number = DEFAULT_RECORD_CACHE_SIZE) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`capacity must be a non-negative integer, got ${capacity}`);
  }

  /** Records held now. */
  get size(): number {
    return this.records.size;
  }

  /** The committed record of a task, if cached. */
  get(taskId: string): TaskRecord | undefined {
    return this.records.get(taskId);
  }

  /** Keeps the records a batch has just committed, as the newest; forgets those that are final. */
  remember(records: readonly TaskRecord[]): void {
    if (this.capacity === 0) return;
    let evicted = false;
    for (const record of records) {
      // Deleted first, so that a record committed again moves to the end.
      this.records.delete(record.task_id);
      if (isFinalStatus(record.status)) continue;
      this.records.set(record.task_id, record);
      while (this.records.size > this.capacity) {
        this.evictOldest();
        evicted = true;
      }
    }
    if (!evicted) this.oldest = undefined;
  }

  private evictOldest(): void {
    this.oldest ??= this.records.keys();
    let next = this.oldest.next();
    if (next.done === true) {
      // Not reached while the map holds anything (see `oldest`); a finished iterator must not stop eviction.
      this.oldest = this.records.keys();
      next = this.oldest.next();
    }
    if (next.done !== true) this.records.delete(next.value);
  }

  /** Forgets everything (after a failed batch, or when the store may have been written by someone else). */
  clear(): void {
    this.records = new Map();
    this.oldest = undefined;
  }
}
