/**
 * Watches SJE's events exchange for final task states, so the benchmark
 * observes completion the way a subscriber would (no polling).
 */
import { connect, type ChannelModel } from 'amqplib';

/** The fields of a `succeeded` event the benchmark reads. */
interface SucceededEvent {
  task_id: string;
  worker?: { id: string };
}

/** Resolves waits for tasks reaching `succeeded`, and counts them by worker. */
export class EventWatcher {
  private conn: ChannelModel | undefined;
  private readonly waiters = new Map<string, (at: number) => void>();
  private readonly seen = new Map<string, number>();
  /** Succeeded events seen. */
  count = 0;
  /** Succeeded events seen, by the id of the worker that ran the task. */
  readonly byWorker = new Map<string, number>();
  private countWaiter: { n: number; resolve: (at: number) => void } | undefined;

  /** Subscribes to `task.succeeded.#` on the installation with this prefix. */
  async start(url: string, prefix: string): Promise<void> {
    this.conn = await connect(url, { noDelay: true });
    const ch = await this.conn.createChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true });
    await ch.bindQueue(queue, `${prefix}.events`, 'task.succeeded.#');
    await ch.consume(
      queue,
      (msg) => {
        if (!msg) return;
        const now = performance.now();
        const body = JSON.parse(msg.content.toString()) as SucceededEvent | { type: 'task_events'; events: SucceededEvent[] };
        for (const { task_id, worker } of 'events' in body ? body.events : [body]) {
          this.count += 1;
          if (worker) this.byWorker.set(worker.id, (this.byWorker.get(worker.id) ?? 0) + 1);
          const w = this.waiters.get(task_id);
          if (w) {
            this.waiters.delete(task_id);
            w(now);
          } else this.seen.set(task_id, now);
        }
        if (this.countWaiter && this.count >= this.countWaiter.n) {
          this.countWaiter.resolve(now);
          this.countWaiter = undefined;
        }
      },
      { noAck: true },
    );
  }

  /** Resolves with the time (performance.now) the task's success event arrived. */
  succeeded(taskId: string): Promise<number> {
    const at = this.seen.get(taskId);
    if (at !== undefined) {
      this.seen.delete(taskId);
      return Promise.resolve(at);
    }
    return new Promise((resolve) => this.waiters.set(taskId, resolve));
  }

  /** Resolves when `n` success events in total have been seen. */
  total(n: number): Promise<number> {
    if (this.count >= n) return Promise.resolve(performance.now());
    return new Promise((resolve) => (this.countWaiter = { n, resolve }));
  }

  /** Forgets what was seen (between phases). */
  reset(): void {
    this.seen.clear();
    this.byWorker.clear();
    this.count = 0;
  }

  async close(): Promise<void> {
    await this.conn?.close();
  }
}
