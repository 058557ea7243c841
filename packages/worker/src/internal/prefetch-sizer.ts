import { dispatchGroupCap } from '@sje/core';

/**
 * The prefetch of a worker's task consumers, counted in deliveries, sized so
 * that the tasks held in unacknowledged deliveries stay around the
 * concurrency whatever the size of the `dispatches` groups.
 *
 * The broker caps a consumer's unacknowledged deliveries, not its tasks, and
 * a consumer's prefetch is fixed when it starts. So:
 * - it starts (and, after {@link idleResetMs} without a delivery held,
 *   returns) at `concurrency / largest group the task-manager may send`, so a
 *   burst that opens with full groups brings about `concurrency` tasks;
 * - a held delivery larger than the prefetch allows for lowers it; the lower
 *   value applies when the consumer resumes after its slots were full (a
 *   restart now would add a fresh allowance beside what is held);
 * - when as many deliveries are held as the prefetch allows and they are
 *   small (single dispatches), it rises to `concurrency / largest held`, at
 *   once (the consumer is restarted), so single dispatches are claimed
 *   `concurrency` at a time as before.
 */
export class PrefetchSizer {
  /** The prefetch it starts and returns to. */
  readonly floor: number;
  /** Held deliveries, by their number of tasks. */
  private readonly held = new Map<number, number>();
  private heldCount = 0;
  private value: number;
  private idleTimer: NodeJS.Timeout | undefined;

  /**
   * @param concurrency - the worker's slots.
   * @param apply - sets the consumers' prefetch; `restartNow` restarts a running consumer so it applies at once.
   * @param idleResetMs - time without a held delivery after which the prefetch returns to {@link floor}.
   */
  constructor(
    private readonly concurrency: number,
    private readonly apply: (prefetch: number, restartNow: boolean) => void,
    private readonly idleResetMs = 1000,
  ) {
    this.floor = Math.max(1, Math.floor(concurrency / dispatchGroupCap(concurrency)));
    this.value = this.floor;
  }

  /** The prefetch wanted now. */
  get prefetch(): number {
    return this.value;
  }

  /** Deliveries held (received, not yet acknowledged or requeued). */
  get deliveries(): number {
    return this.heldCount;
  }

  /** A delivery of `tasks` tasks arrived. */
  delivered(tasks: number): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.held.set(tasks, (this.held.get(tasks) ?? 0) + 1);
    this.heldCount += 1;
    const wanted = this.wanted();
    if (wanted < this.value) this.set(wanted, false);
    else if (wanted > this.value && this.heldCount >= this.value) this.set(wanted, true);
  }

  /** A delivery of `tasks` tasks was acknowledged or requeued. */
  settled(tasks: number): void {
    const n = this.held.get(tasks) ?? 0;
    if (n === 0) return;
    if (n === 1) this.held.delete(tasks);
    else this.held.set(tasks, n - 1);
    this.heldCount -= 1;
    if (this.heldCount > 0 || this.value === this.floor || this.idleTimer) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.heldCount === 0 && this.value !== this.floor) this.set(this.floor, true);
    }, this.idleResetMs);
    this.idleTimer.unref();
  }

  /** Stops the idle timer. */
  close(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private wanted(): number {
    const largest = Math.max(1, ...this.held.keys());
    return Math.max(1, Math.min(this.concurrency, Math.floor(this.concurrency / largest)));
  }

  private set(prefetch: number, restartNow: boolean): void {
    this.value = prefetch;
    this.apply(prefetch, restartNow);
  }
}
