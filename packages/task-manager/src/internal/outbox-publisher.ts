/**
 * Publishes committed outbox rows with confirms, declaring a worker pool's
 * queue the first time a dispatch goes to it, then deletes the rows.
 */
import { assertTaskQueue, type Broker, type Logger } from '@sje/core';
import type { OutboxMessage, OutboxRow } from './store/task-record.js';
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

  private readonly inFlight = new Set<number>();

  /** Publishes best-effort messages (not stored): errors are logged, never thrown. */
  publishTransient(messages: readonly OutboxMessage[]): void {
    for (const m of messages) {
      this.broker.publish(m.exchange, m.routing_key, m.body, { persistent: false }).catch((err: unknown) => {
        this.logger.debug('best-effort message not published', { routing_key: m.routing_key, err: String(err) });
      });
    }
  }

  /** Publishes rows (all confirmed, or throws), then removes them from the outbox. */
  async publish(rows: readonly OutboxRow[]): Promise<void> {
    if (rows.length === 0) return;
    for (const r of rows) this.inFlight.add(r.id);
    try {
      await this.publishRows(rows);
    } finally {
      for (const r of rows) this.inFlight.delete(r.id);
    }
  }

  private async publishRows(rows: readonly OutboxRow[]): Promise<void> {
    const messages = rows.flatMap((r) => r.messages);
    const tasksExchange = this.broker.topology.exchanges.tasks;
    const newQueues = new Set<string>();
    for (const m of messages) if (m.exchange === tasksExchange && !this.knownQueues.has(m.routing_key)) newQueues.add(m.routing_key);
    if (newQueues.size > 0) {
      await this.broker.withChannel(async (ch) => {
        for (const q of newQueues) await assertTaskQueue(ch, this.broker.topology, q);
      });
      for (const q of newQueues) this.knownQueues.add(q);
    }
    await Promise.all(
      messages.map((m) => this.broker.publishJson(m.exchange, m.routing_key, m.json ?? JSON.stringify(m.body), m.priority === undefined ? {} : { priority: m.priority })),
    );
    await this.store.deleteOutbox(rows.map((r) => r.id));
  }

  /** Publishes what is left in the outbox (after a crash or a failed publish), except rows being published now. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const rows = (await this.store.loadOutbox(1000)).filter((r) => !this.inFlight.has(r.id));
      if (rows.length === 0) return total;
      await this.publish(rows);
      total += rows.length;
      this.logger.info('published outbox messages left unpublished', { batches: rows.length, messages: rows.reduce((n, r) => n + r.messages.length, 0) });
    }
  }
}
