/**
 * Publishes committed outbox rows with confirms, declaring a worker pool's
 * queue the first time a dispatch goes to it. A confirmed row is removed from
 * the store with the command loop's next commit, or on its own when no commit
 * comes ({@link OutboxPublisher.removeConfirmed}), so a busy loop spends no
 * transaction of its own on the removal.
 */
import { assertTaskQueue, type Broker, type Logger } from '@sje/core';
import { withFullBodies } from './outbox-rebuild.js';
import type { OutboxMessage, OutboxRow, TaskStore } from '@sje/store';

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
  /** Rows whose messages are all confirmed but which may still be in the store. */
  private readonly confirmed = new Set<number>();

  /** Ids of confirmed rows still to remove from the store (for {@link StoreCommit.published}). */
  confirmedIds(): number[] {
    return [...this.confirmed];
  }

  /** Notes that these confirmed rows are gone from the store. */
  forget(ids: readonly number[]): void {
    for (const id of ids) this.confirmed.delete(id);
  }

  /** Removes the confirmed rows from the store now. Errors are logged: the rows go with a later commit. */
  async removeConfirmed(): Promise<void> {
    const ids = this.confirmedIds();
    if (ids.length === 0) return;
    try {
      await this.store.deleteOutbox(ids);
      this.forget(ids);
    } catch (err) {
      this.logger.warn('could not remove published outbox rows; will retry', { err: (err as Error).message });
    }
  }

  /** Publishes best-effort messages (not stored): errors are logged, never thrown. */
  publishTransient(messages: readonly OutboxMessage[]): void {
    for (const m of messages) {
      this.broker.publish(m.exchange, m.routing_key, m.body, { persistent: false }).catch((err: unknown) => {
        this.logger.debug('best-effort message not published', { routing_key: m.routing_key, err: String(err) });
      });
    }
  }

  /** Publishes rows (all confirmed, or throws); they are then due for removal ({@link confirmedIds}). */
  async publish(rows: readonly OutboxRow[]): Promise<void> {
    if (rows.length === 0) return;
    for (const r of rows) this.inFlight.add(r.id);
    try {
      await this.publishRows(rows);
      for (const r of rows) this.confirmed.add(r.id);
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
  }

  /** Publishes what is left in the outbox (after a crash or a failed publish), except rows being published or already confirmed. */
  async drain(): Promise<number> {
    let total = 0;
    await this.removeConfirmed();
    for (;;) {
      const loaded = (await this.store.loadOutbox(1000)).filter((r) => !this.inFlight.has(r.id) && !this.confirmed.has(r.id));
      if (loaded.length === 0) return total;
      // Stored dispatches and results name their tasks: they come from the records as they are now.
      const rows = await withFullBodies(this.store, loaded);
      await this.publish(rows);
      await this.removeConfirmed();
      total += rows.length;
      this.logger.info('published outbox messages left unpublished', { batches: rows.length, messages: rows.reduce((n, r) => n + r.messages.length, 0) });
    }
  }
}
