/**
 * Publishes committed outbox rows with confirms, declaring a worker pool's
 * queue the first time a dispatch goes to it, then deletes the rows.
 */
import { assertTaskQueue, type Broker, type Logger } from '@sje/core';
import type { OutboxRow } from './store/task-record.js';
import type { TaskStore } from './store/task-store.js';

/** Publishes outbox rows. */
export class OutboxPublisher {
  private readonly knownQueues = new Set<string>();

  constructor(
    private readonly broker: Broker,
    private readonly store: TaskStore,
    private readonly logger: Logger,
  ) {
    broker.on('connected', () => this.knownQueues.clear());
  }

  /** Worker-pool queues this task-manager has dispatched to. */
  get queues(): string[] {
    return [...this.knownQueues];
  }

  /** Publishes rows (all confirmed, or throws), then removes them from the outbox. */
  async publish(rows: readonly OutboxRow[]): Promise<void> {
    if (rows.length === 0) return;
    const tasksExchange = this.broker.topology.exchanges.tasks;
    const newQueues = new Set<string>();
    for (const r of rows) if (r.exchange === tasksExchange && !this.knownQueues.has(r.routing_key)) newQueues.add(r.routing_key);
    if (newQueues.size > 0) {
      await this.broker.withChannel(async (ch) => {
        for (const q of newQueues) await assertTaskQueue(ch, this.broker.topology, q);
      });
      for (const q of newQueues) this.knownQueues.add(q);
    }
    await Promise.all(
      rows.map((r) => this.broker.publish(r.exchange, r.routing_key, r.body, r.priority === undefined ? {} : { priority: r.priority })),
    );
    await this.store.deleteOutbox(rows.map((r) => r.id));
  }

  /** Publishes what a previous run left in the outbox (after a crash). */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const rows = await this.store.loadOutbox(1000);
      if (rows.length === 0) return total;
      await this.publish(rows);
      total += rows.length;
      this.logger.info('published outbox messages left by a previous run', { count: rows.length });
    }
  }
}
