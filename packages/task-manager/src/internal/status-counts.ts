/**
 * How many of the store's tasks are in each status, kept in memory (the
 * `sje_tasks` gauge). Counted once from the store when the task-manager
 * becomes active, then moved by each committed batch's transitions: a count
 * over the whole tasks table costs ~0.4 s at 1M tasks (the SQLite store reads
 * every row on the command loop's thread), far too much for every scrape.
 * The task-manager is the store's only writer, so nothing else moves them.
 */
import type { TaskStatus } from '@sje/core';

/** Tasks by status. */
export type CountsByStatus = Partial<Record<TaskStatus, number>>;

/** The counts of tasks by status, from a count of the store plus every batch committed since. */
export class StatusCounts {
  private counts: Map<TaskStatus, number> | undefined;

  /** Whether the counts have been taken from the store yet. */
  get seeded(): boolean {
    return this.counts !== undefined;
  }

  /** Starts from a count of the store; made before any batch commits (batches committed before it are in it). */
  seed(counts: CountsByStatus): void {
    this.counts = new Map();
    for (const [status, n] of Object.entries(counts) as [TaskStatus, number | undefined][]) if (n !== undefined && n > 0) this.counts.set(status, n);
  }

  /** Adds a committed batch's moves (+1 for each task that entered a status, -1 for each that left one); ignored before {@link seed}. */
  apply(deltas: ReadonlyMap<TaskStatus, number>): void {
    const counts = this.counts;
    if (counts === undefined) return;
    for (const [status, delta] of deltas) {
      if (delta === 0) continue;
      const n = (counts.get(status) ?? 0) + delta;
      if (n === 0) counts.delete(status);
      else counts.set(status, n);
    }
  }

  /** The counts now (statuses with no task left out); `undefined` before {@link seed}. */
  snapshot(): CountsByStatus | undefined {
    return this.counts === undefined ? undefined : Object.fromEntries(this.counts);
  }
}
