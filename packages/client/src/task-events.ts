/**
 * Live task events: a private queue bound to the events exchange.
 * @module
 */
import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { createTopology, ErrorCode, SjeError, validators, type TaskEvent } from '@sje/core';

/** Options of {@link subscribeTaskEvents}. */
export interface SubscribeTaskEventsOptions {
  /** AMQP URL of the broker. @defaultValue 'amqp://guest:guest@127.0.0.1:5672' */
  url?: string;
  /** Topology prefix of the installation. @defaultValue 'sje' */
  prefix?: string;
  /**
   * Routing-key pattern: `task.<status>.<function>` and `task.progress.<function>`;
   * e.g. `task.succeeded.*`, `task.*.resize_image`. @defaultValue 'task.#'
   */
  pattern?: string;
  /**
   * Deliver only the events of this tenant's tasks (the `tenant` field the
   * task-manager puts on every event). A convenience filter, applied in this
   * process: who may read the events exchange at all is decided by RabbitMQ
   * permissions (see docs/security.md). @defaultValue every event
   */
  tenant?: string;
  /**
   * Extra socket options for amqplib's `connect`: TLS material for an
   * `amqps://` URL (`ca`, `cert`, `key`, `servername`), e.g. from core's
   * `amqpSocketOptions(url, config.amqp.tls)`.
   */
  socketOptions?: Record<string, unknown>;
  /** Called for every valid event, in arrival order. */
  onEvent: (event: TaskEvent) => void;
  /** Called for a message that is not a valid event, for an `onEvent` that threw, and for connection losses. */
  onError?: (err: Error) => void;
}

/**
 * Makes sure the events exchange exists: checked passively first, so a
 * subscriber needs no `configure` permission on it when the services have
 * declared it already (see docs/security.md); declared otherwise.
 */
async function ensureEventsExchange(model: ChannelModel, exchange: string): Promise<void> {
  const probe = await model.createChannel();
  probe.on('error', () => undefined);
  try {
    await probe.checkExchange(exchange);
    await probe.close();
    return;
  } catch {
    // Not there yet (the failed check closed the probe channel): declare it.
  }
  const declare = await model.createChannel();
  declare.on('error', () => undefined);
  await declare.assertExchange(exchange, 'topic', { durable: true });
  await declare.close();
}

/** A live subscription. */
export interface TaskEventSubscription {
  /** Stops receiving and closes the connection (the private queue is deleted). Idempotent. */
  close(): Promise<void>;
}

/**
 * Subscribes to task events. Each subscription has its own exclusive,
 * auto-deleted queue, so every subscriber sees every matching event while it
 * is connected; after a connection loss it reconnects and binds a new queue
 * (events published meanwhile are not replayed — `GET /status` is the
 * authoritative record).
 * @throws when the broker cannot be reached at once.
 * @example
 * ```ts
 * const sub = await subscribeTaskEvents({
 *   pattern: 'task.succeeded.*',
 *   onEvent: (e) => console.log(e.task_id, e.status, e.result),
 * });
 * // …
 * await sub.close();
 * ```
 */
export async function subscribeTaskEvents(options: SubscribeTaskEventsOptions): Promise<TaskEventSubscription> {
  const topology = createTopology({ prefix: options.prefix ?? 'sje' });
  const pattern = options.pattern ?? 'task.#';
  const report = (err: Error): void => {
    try {
      options.onError?.(err);
    } catch {
      // an onError that throws must not break the consumer
    }
  };

  const deliver = (ch: Channel, msg: ConsumeMessage): void => {
    try {
      let body: unknown;
      try {
        body = JSON.parse(msg.content.toString('utf8'));
      } catch {
        report(new SjeError(ErrorCode.MESSAGE_INVALID, 'task event is not valid JSON'));
        return;
      }
      const check = validators.eventMessage(body);
      if (!check.ok) {
        report(new SjeError(ErrorCode.MESSAGE_INVALID, `invalid task event: ${check.reason}`));
        return;
      }
      // Under load the task-manager sends the events of one batch with one routing key together.
      const events = check.value.type === 'task_events' ? check.value.events : [check.value];
      for (const event of events) {
        if (options.tenant !== undefined && event.tenant !== options.tenant) continue;
        try {
          options.onEvent(event);
        } catch (err) {
          report(err instanceof Error ? err : new Error(String(err)));
        }
      }
    } finally {
      try {
        ch.ack(msg);
      } catch {
        // channel closed: the queue goes with it
      }
    }
  };

  let firstSetup: (() => void) | undefined;
  const ready = new Promise<void>((resolve) => (firstSetup = resolve));

  const setup = async (model: ChannelModel): Promise<void> => {
    await ensureEventsExchange(model, topology.exchanges.events);
    const ch = await model.createChannel();
    ch.on('error', (err: Error) => report(err));
    const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
    await ch.bindQueue(queue, topology.exchanges.events, pattern);
    await ch.prefetch(256);
    await ch.consume(queue, (msg) => {
      if (msg) deliver(ch, msg);
    });
    firstSetup?.();
  };

  const connection = await connect(options.url ?? 'amqp://guest:guest@127.0.0.1:5672', {
    ...(options.socketOptions ?? {}),
    noDelay: true,
    timeout: 3000,
    clientProperties: { connection_name: `sje-client-events-${process.pid}` },
    recovery: { initialMaxRetries: 0, maxRetries: Infinity, initialDelay: 100, maxDelay: 5000, setup },
  });
  connection.on('error', (err: Error) => report(err));
  connection.on('disconnect', (err: Error) => report(new SjeError(ErrorCode.BROKER_UNAVAILABLE, `event subscription lost its connection: ${err.message}`, { retryable: true })));
  connection.on('handler-error', (err: Error) => report(err));
  await ready;

  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= connection.close().catch(() => undefined);
      return closing;
    },
  };
}
