/**
 * The AMQP connection layer: one connection with publisher confirms,
 * automatic reconnection with backoff that re-declares the topology and every
 * consumer, schema validation on receipt, dead-lettering with a reason, and
 * request/reply over direct reply-to.
 * @module
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { connect, type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage, type Options } from 'amqplib';
import { redactUrl, type AmqpTlsConfig } from './config.js';
import { BrokerUnavailableError, ConfigError, ErrorCode, SjeError } from './errors.js';
import { uuidv7 } from './ids.js';
import type { Logger } from './logger.js';
import type { Validator } from './schemas.js';
import { detectCapabilities, unsupportedReason, type BrokerCapabilities } from './broker-capabilities.js';
import { coalesceWrites } from './write-coalescing.js';
import { assertTopology, DeadLetterHeaders, type Topology } from './topology.js';

/** Options for {@link Broker}. */
export interface BrokerOptions {
  /** AMQP URL. @defaultValue 'amqp://guest:guest@127.0.0.1:5672' */
  url: string;
  topology: Topology;
  logger: Logger;
  /** Service name, shown in the connection name and dead-letter headers. */
  service: string;
  /** First reconnect delay. @defaultValue 100 */
  reconnectInitialMs?: number;
  /** Largest reconnect delay. @defaultValue 5000 */
  reconnectMaxMs?: number;
  /** AMQP heartbeat in seconds. @defaultValue 10 */
  heartbeatSeconds?: number;
  /** Extra socket options (TLS material). */
  socketOptions?: Record<string, unknown>;
  /** Called after each (re)connect, after the shared topology is declared: declare your own queues here. */
  onConnect?: (channel: Channel) => Promise<void>;
}

/** What a consumer's handler receives besides the validated body. */
export interface Delivery {
  /** Raw message (headers, properties). */
  readonly raw: ConsumeMessage;
  /** Whether the broker delivered this message before. */
  readonly redelivered: boolean;
  /** The channel it arrived on; with {@link Broker.ack} it acknowledges a deferred delivery. */
  readonly channel: Channel;
}

/** What to do with a message whose handler threw. */
export type HandlerFailurePolicy = 'requeue-once' | 'dead-letter';

/** Options of {@link Broker.consume}. */
export interface ConsumeOptions<T> {
  /** Schema check applied to every message; a failing message is dead-lettered with the reason. */
  validate: Validator<T>;
  /** Unacknowledged deliveries at once. */
  prefetch: number;
  /** What happens when the handler throws. @defaultValue 'requeue-once' */
  onError?: HandlerFailurePolicy;
  /** Exclusive consumer (e.g. a worker's own control queue). */
  exclusive?: boolean;
  /** Only one consumer of the queue gets messages (standby instances wait). */
  noAck?: boolean;
  /** Declares the queue before consuming. */
  assert?: (channel: Channel) => Promise<void>;
}

/**
 * Handler of a consumer. Return `'ack'` (or nothing) when the work is durably
 * handed on; return `'defer'` to take over acknowledgement through
 * {@link Broker.ack} later (batching).
 */
export type MessageHandler<T> = (body: T, delivery: Delivery) => Promise<void | 'ack' | 'defer'>;

interface ConsumerEntry {
  queue: string;
  handler: MessageHandler<unknown>;
  options: ConsumeOptions<unknown>;
  channel?: Channel;
  tag?: string;
  paused: boolean;
  /** The prefetch the next consumer starts with (see {@link ConsumerHandle.setPrefetch}). */
  prefetch: number;
  /** The prefetch last set on `channel`. */
  channelPrefetch?: number;
  /** The last pause/resume in progress: each waits for the one before it. */
  switching?: Promise<void>;
}

/** Handle of a consumer: pause (stop taking messages) or resume it. */
export interface ConsumerHandle {
  /** Stops receiving new messages; in-flight ones can still be acked. */
  pause(): Promise<void>;
  /** Starts receiving again. */
  resume(): Promise<void>;
  /**
   * Changes the prefetch (unacknowledged deliveries at once). A consumer's
   * prefetch is fixed when it starts, so the new value applies from the next
   * resume or reconnect; with `restartNow` a running consumer is cancelled and
   * started again at once. Deliveries not yet acknowledged stay valid either way.
   */
  setPrefetch(prefetch: number, restartNow?: boolean): Promise<void>;
}

/** A deferred acknowledgement token (see {@link MessageHandler}). */
export interface AckToken {
  readonly channel: Channel;
  readonly message: ConsumeMessage;
}

/**
 * One AMQP connection shared by a service.
 *
 * Events: `connected`, `disconnected` (with the error), `error`.
 * @example
 * ```ts
 * const broker = new Broker({ url, topology, logger, service: 'worker' });
 * await broker.start();
 * await broker.publish(topology.exchanges.commands, topology.routingKeys.command, cmd);
 * ```
 */
export class Broker extends EventEmitter {
  readonly topology: Topology;
  private readonly opts: BrokerOptions;
  private readonly log: Logger;
  private model: ChannelModel | undefined;
  private pub: ConfirmChannel | undefined;
  /** Set once a connection's consumers are open too (see {@link Broker.connected}). */
  private up = false;
  private rpcChannel: Channel | undefined;
  private readonly consumers: ConsumerEntry[] = [];
  private readonly pendingRpc = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private connecting: Promise<void> | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private closed = false;
  private firstConnect: { resolve: () => void; promise: Promise<void> };
  /** Server properties of the broker, once connected (product, version, capabilities). */
  serverProperties: Record<string, unknown> = {};
  /** What the broker supports, once connected. */
  capabilities: BrokerCapabilities | undefined;
  private fatal: Error | undefined;
  /** Why the last connection attempt failed (shown when {@link Broker.waitConnected} gives up). */
  private lastError: string | undefined;

  constructor(options: BrokerOptions) {
    super();
    this.opts = options;
    this.topology = options.topology;
    this.log = options.logger;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.firstConnect = { resolve, promise };
    this.on('error', () => undefined);
  }

  /** Whether a connection with a publishing channel and every registered consumer is up right now. */
  get connected(): boolean {
    return this.up;
  }

  /** The broker's version string, once connected (e.g. `3.10.8`). */
  get serverVersion(): string | undefined {
    return this.capabilities?.version;
  }

  /**
   * Starts connecting (and keeps reconnecting in the background).
   * @param waitMs - how long to wait for the first connection; `0` returns at once.
   * @throws BrokerUnavailableError when not connected within `waitMs`.
   */
  async start(waitMs = 30_000): Promise<void> {
    this.closed = false;
    this.scheduleConnect(0);
    if (waitMs > 0) await this.waitConnected(waitMs);
  }

  /** Waits until connected, up to `ms`. */
  async waitConnected(ms: number): Promise<void> {
    if (this.connected) return;
    if (this.fatal) throw this.fatal;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const why = this.lastError === undefined ? '' : ` (last error: ${this.lastError})`;
        reject(new BrokerUnavailableError(`no connection to the broker within ${ms} ms${why}`));
      }, ms);
    });
    try {
      await Promise.race([this.firstConnect.promise.then(() => this.waitUntil(() => this.connected)), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async waitUntil(cond: () => boolean): Promise<void> {
    while (!cond()) await new Promise((r) => setTimeout(r, 20));
  }

  private scheduleConnect(delay: number): void {
    if (this.closed || this.reconnectTimer || this.connecting) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connecting = this.connectOnce().then((ok) => {
        this.connecting = undefined;
        if (!ok) this.scheduleConnect(this.nextDelay());
        else if (!this.model) this.scheduleConnect(this.nextDelay());
      });
    }, delay);
    this.reconnectTimer.unref?.();
  }

  private nextDelay(): number {
    const initial = this.opts.reconnectInitialMs ?? 100;
    const max = this.opts.reconnectMaxMs ?? 5000;
    const base = Math.min(max, initial * 2 ** Math.min(this.attempt, 20));
    this.attempt += 1;
    return Math.round(base / 2 + (Math.random() * base) / 2);
  }

  private async connectOnce(): Promise<boolean> {
    let model: ChannelModel | undefined;
    try {
      model = await connect(withHeartbeat(this.opts.url, this.opts.heartbeatSeconds ?? 10), {
        noDelay: true,
        timeout: 3000,
        clientProperties: { connection_name: `sje-${this.opts.service}-${process.pid}` },
        ...(this.opts.socketOptions ?? {}),
      } as Options.Connect & Record<string, unknown>);
      const conn = model;
      const socket = (model.connection as unknown as { stream?: Writable }).stream;
      if (socket) coalesceWrites(socket);
      model.on('error', (err: Error) => this.log.warn('broker connection error', { err: err.message }));
      model.on('close', () => this.onConnectionLost(conn));
      this.serverProperties = (model.connection as unknown as { serverProperties?: Record<string, unknown> }).serverProperties ?? {};
      const caps = detectCapabilities(this.serverProperties);
      if (this.capabilities?.version !== caps.version) {
        this.log.info('broker capabilities', { ...caps });
        if (!caps.quorumPriorities && this.topology.queueType === 'quorum') {
          this.log.info('task priorities are applied by the task-manager only: this broker does not prioritise quorum queues (RabbitMQ 4.0+ does, or use queue_type classic)');
        }
      }
      this.capabilities = caps;
      const refusal = unsupportedReason(caps, this.topology.queueType);
      if (refusal) {
        this.fatal = new SjeError(ErrorCode.CONFIG_INVALID, refusal);
        this.log.error('refusing to run on this broker', { reason: refusal });
        this.closed = true;
        await model.close().catch(() => undefined);
        this.emit('fatal', this.fatal);
        return true;
      }
      if (await this.closedWhileConnecting(model)) return true;
      const setup = await model.createChannel();
      await assertTopology(setup, this.topology);
      if (this.opts.onConnect) await this.opts.onConnect(setup);
      await setup.close();
      const pub = await model.createConfirmChannel();
      pub.on('error', (err: Error) => this.log.warn('publish channel error', { err: err.message }));
      pub.on('close', () => {
        if (this.model === conn && !this.closed) void conn.close().catch(() => undefined);
      });
      if (await this.closedWhileConnecting(model)) return true;
      this.model = model;
      // Publishing works before the consumers open: a message waiting in a queue is delivered the moment its
      // consumer starts, and its handler may publish or reply at once.
      this.pub = pub;
      for (const c of this.consumers) await this.openConsumer(c);
      this.up = true;
      this.attempt = 0;
      this.lastError = undefined;
      this.log.info('connected to broker', { url: redactUrl(this.opts.url), version: this.serverVersion });
      this.firstConnect.resolve();
      this.emit('connected');
      return true;
    } catch (err) {
      this.lastError = describeConnectError(err, this.opts.url);
      this.log.warn('broker connection failed, retrying', { err: this.lastError });
      this.up = false;
      this.pub = undefined;
      this.model = undefined;
      if (model) await model.close().catch(() => undefined);
      return false;
    }
  }

  /**
   * Whether {@link close} was called while this connection was being set
   * up; if so, the connection is closed here, before it declares or opens
   * anything more (close found no connection to close, and waits for this one).
   */
  private async closedWhileConnecting(model: ChannelModel): Promise<boolean> {
    if (!this.closed) return false;
    await model.close().catch(() => undefined);
    return true;
  }

  private onConnectionLost(conn: ChannelModel): void {
    if (this.model !== conn && this.model !== undefined) return;
    const wasUp = this.up;
    this.up = false;
    this.model = undefined;
    this.pub = undefined;
    this.rpcChannel = undefined;
    for (const c of this.consumers) {
      delete c.channel;
      delete c.tag;
    }
    this.failPendingRequests('connection to the broker lost during a request');
    if (this.closed) return;
    if (wasUp) {
      this.log.warn('lost connection to broker, reconnecting');
      this.emit('disconnected');
    }
    this.scheduleConnect(this.nextDelay());
  }

  /** Rejects every request still waiting for its reply with {@link BrokerUnavailableError}. */
  private failPendingRequests(why: string): void {
    for (const [id, p] of this.pendingRpc) {
      clearTimeout(p.timer);
      p.reject(new BrokerUnavailableError(why));
      this.pendingRpc.delete(id);
    }
  }

  private async openConsumer(c: ConsumerEntry): Promise<void> {
    if (!this.model) return;
    const ch = await this.model.createChannel();
    ch.on('error', (err: Error) => this.log.warn('consumer channel error', { queue: c.queue, err: err.message }));
    ch.on('close', () => {
      if (c.channel === ch) {
        delete c.channel;
        delete c.tag;
        // A channel closed by the broker while the connection lives (e.g. consumer timeout): reopen it.
        if (this.model && !this.closed) {
          const model = this.model;
          setTimeout(() => {
            if (this.model === model && !c.channel) void this.openConsumer(c).catch((err: unknown) => this.log.warn('reopen consumer failed', { queue: c.queue, err: String(err) }));
          }, 100).unref?.();
        }
      }
    });
    if (c.options.assert) await c.options.assert(ch);
    await ch.prefetch(c.prefetch);
    c.channelPrefetch = c.prefetch;
    c.channel = ch;
    if (c.paused) return;
    await this.startConsuming(c, ch);
  }

  private async startConsuming(c: ConsumerEntry, ch: Channel): Promise<void> {
    if (c.channelPrefetch !== c.prefetch) {
      await ch.prefetch(c.prefetch);
      c.channelPrefetch = c.prefetch;
    }
    const { consumerTag } = await ch.consume(
      c.queue,
      (msg) => {
        if (msg) void this.handleDelivery(c, ch, msg);
      },
      { noAck: c.options.noAck ?? false, exclusive: c.options.exclusive ?? false },
    );
    c.tag = consumerTag;
  }

  private async handleDelivery(c: ConsumerEntry, ch: Channel, msg: ConsumeMessage): Promise<void> {
    let body: unknown;
    try {
      body = JSON.parse(msg.content.toString('utf8'));
    } catch {
      await this.deadLetter(ch, msg, c.queue, 'message is not valid JSON', c.options.noAck);
      return;
    }
    const check = c.options.validate(body);
    if (!check.ok) {
      await this.deadLetter(ch, msg, c.queue, `schema validation failed: ${check.reason}`, c.options.noAck);
      return;
    }
    try {
      const verdict = await c.handler(check.value, { raw: msg, redelivered: msg.fields.redelivered, channel: ch });
      if (verdict !== 'defer' && !c.options.noAck) safeAck(ch, msg);
    } catch (err) {
      if (c.options.noAck) return;
      const reason = err instanceof Error ? err.message : String(err);
      if (err instanceof BrokerUnavailableError) {
        // Not the message's fault: the broker went away mid-work. Put it back (a no-op if the channel is gone).
        safeNack(ch, msg, true);
        return;
      }
      if ((c.options.onError ?? 'requeue-once') === 'requeue-once' && !msg.fields.redelivered && !(err instanceof SjeError && err.code === ErrorCode.MESSAGE_INVALID)) {
        this.log.warn('message handler failed, requeueing once', { queue: c.queue, err: reason });
        safeNack(ch, msg, true);
      } else {
        await this.deadLetter(ch, msg, c.queue, `handler failed: ${reason}`, false);
      }
    }
  }

  /**
   * Publishes the original bytes of `msg` to the dead-letter exchange with the
   * reason in headers, then acks the original.
   */
  async deadLetter(ch: Channel, msg: ConsumeMessage, queue: string, reason: string, noAck = false): Promise<void> {
    this.log.warn('dead-lettering message', { queue, reason });
    try {
      await this.publishRaw(this.topology.exchanges.deadLetter, '', msg.content, {
        headers: { ...(msg.properties.headers ?? {}), ...this.deadLetterHeaders(queue, reason) },
        contentType: typeof msg.properties.contentType === 'string' ? msg.properties.contentType : 'application/octet-stream',
      });
      if (!noAck) safeAck(ch, msg);
    } catch (err) {
      this.log.error('could not dead-letter a message; leaving it unacked', { queue, err: String(err) });
    }
  }

  /**
   * Publishes `body` (JSON) to the dead-letter exchange with the reason in
   * headers: one part of a message that was otherwise applied (one submit of
   * a `submits` batch). Resolves once confirmed.
   * @throws BrokerUnavailableError when not connected or not confirmed.
   */
  async deadLetterPart(body: unknown, queue: string, reason: string): Promise<void> {
    this.log.warn('dead-lettering part of a message', { queue, reason });
    await this.publishRaw(this.topology.exchanges.deadLetter, '', Buffer.from(JSON.stringify(body)), {
      headers: this.deadLetterHeaders(queue, reason),
      contentType: 'application/json',
    });
  }

  private deadLetterHeaders(queue: string, reason: string): Record<string, string> {
    return {
      [DeadLetterHeaders.reason]: reason.slice(0, 1000),
      [DeadLetterHeaders.sourceQueue]: queue,
      [DeadLetterHeaders.service]: this.opts.service,
      [DeadLetterHeaders.at]: new Date().toISOString(),
    };
  }

  /** Acknowledges a deferred delivery (see {@link MessageHandler}). */
  ack(token: AckToken): void {
    safeAck(token.channel, token.message);
  }

  /**
   * Registers a consumer; it is (re)created on every (re)connect.
   * Messages that are not JSON or fail `validate` go to the dead-letter queue.
   */
  async consume<T>(queue: string, handler: MessageHandler<T>, options: ConsumeOptions<T>): Promise<ConsumerHandle> {
    const entry: ConsumerEntry = {
      queue,
      handler: handler as MessageHandler<unknown>,
      options: options,
      paused: false,
      prefetch: options.prefetch,
    };
    this.consumers.push(entry);
    if (this.model) await this.openConsumer(entry);
    return {
      // Serialised per consumer: a resume that overlapped another would start a second consumer on the channel.
      pause: () =>
        this.switchConsumer(entry, async () => {
          entry.paused = true;
          if (entry.channel && entry.tag) {
            const tag = entry.tag;
            delete entry.tag;
            await entry.channel.cancel(tag).catch(() => undefined);
          }
        }),
      resume: () =>
        this.switchConsumer(entry, async () => {
          entry.paused = false;
          if (entry.channel && !entry.tag) await this.startConsuming(entry, entry.channel);
        }),
      setPrefetch: (prefetch, restartNow = false) =>
        this.switchConsumer(entry, async () => {
          if (!Number.isInteger(prefetch) || prefetch < 1) throw new RangeError(`prefetch must be a positive integer, got ${prefetch}`);
          entry.prefetch = prefetch;
          // The running consumer started with the channel's prefetch.
          if (!restartNow || entry.channelPrefetch === prefetch || entry.paused || !entry.channel || !entry.tag) return;
          const channel = entry.channel;
          const tag = entry.tag;
          delete entry.tag;
          await channel.cancel(tag).catch(() => undefined);
          if (entry.channel === channel && !entry.paused) await this.startConsuming(entry, channel);
        }),
    };
  }

  private switchConsumer(entry: ConsumerEntry, change: () => Promise<void>): Promise<void> {
    const next = (entry.switching ?? Promise.resolve()).then(change, change);
    entry.switching = next.catch(() => undefined);
    return next;
  }

  /**
   * Publishes a JSON message, persistent, and resolves when the broker confirmed it.
   * @throws BrokerUnavailableError when not connected or the connection drops before the confirm.
   */
  async publish(exchange: string, routingKey: string, body: unknown, options: Options.Publish = {}): Promise<void> {
    await this.publishJson(exchange, routingKey, JSON.stringify(body), options);
  }

  /** Publishes a message already serialised to JSON (see {@link Broker.publish}). */
  async publishJson(exchange: string, routingKey: string, json: string, options: Options.Publish = {}): Promise<void> {
    await this.publishRaw(exchange, routingKey, Buffer.from(json), { contentType: 'application/json', ...options });
  }

  /** Publishes bytes with a confirm (see {@link Broker.publish}). */
  async publishRaw(exchange: string, routingKey: string, content: Buffer, options: Options.Publish = {}): Promise<void> {
    const pub = this.pub;
    if (!pub) throw new BrokerUnavailableError();
    await new Promise<void>((resolve, reject) => {
      try {
        pub.publish(exchange, routingKey, content, { persistent: true, ...options }, (err) => {
          if (err) reject(new BrokerUnavailableError(`broker did not confirm the message: ${String(err)}`, err));
          else resolve();
        });
      } catch (err) {
        reject(new BrokerUnavailableError(`publish failed: ${(err as Error).message}`, err));
      }
    });
  }

  /**
   * Sends a request to `routingKey` on the commands exchange and waits for the
   * reply (direct reply-to), validated by `validate`.
   * @throws BrokerUnavailableError when not connected; SjeError `TASK_MANAGER_UNAVAILABLE` on timeout.
   */
  async request<T>(routingKey: string, body: unknown, validate: Validator<T>, timeoutMs: number): Promise<T> {
    const ch = await this.ensureRpcChannel();
    const id = uuidv7();
    return await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingRpc.delete(id);
        reject(new SjeError(ErrorCode.TASK_MANAGER_UNAVAILABLE, `no answer from the task-manager within ${timeoutMs} ms`, { retryable: true }));
      }, timeoutMs);
      this.pendingRpc.set(id, {
        resolve: (v) => {
          const check = validate(v);
          if (check.ok) resolve(check.value);
          else reject(new SjeError(ErrorCode.MESSAGE_INVALID, `invalid reply: ${check.reason}`));
        },
        reject,
        timer,
      });
      try {
        ch.publish(this.topology.exchanges.commands, routingKey, Buffer.from(JSON.stringify(body)), {
          replyTo: 'amq.rabbitmq.reply-to',
          correlationId: id,
          contentType: 'application/json',
          expiration: String(timeoutMs),
          persistent: false,
        });
      } catch (err) {
        clearTimeout(timer);
        this.pendingRpc.delete(id);
        reject(new BrokerUnavailableError(`request failed: ${(err as Error).message}`, err));
      }
    });
  }

  private async ensureRpcChannel(): Promise<Channel> {
    if (this.rpcChannel) return this.rpcChannel;
    const model = this.model;
    if (!model || !this.pub) throw new BrokerUnavailableError();
    const ch = await model.createChannel();
    ch.on('error', () => undefined);
    ch.on('close', () => {
      if (this.rpcChannel !== ch) return;
      this.rpcChannel = undefined;
      // Replies come back on the channel that sent the request: those still awaited can no longer arrive.
      this.failPendingRequests('the reply channel closed during a request');
    });
    await ch.consume(
      'amq.rabbitmq.reply-to',
      (msg) => {
        if (!msg) return;
        const pending = this.pendingRpc.get(String(msg.properties.correlationId));
        if (!pending) return;
        this.pendingRpc.delete(String(msg.properties.correlationId));
        clearTimeout(pending.timer);
        try {
          pending.resolve(JSON.parse(msg.content.toString('utf8')));
        } catch (err) {
          pending.reject(new SjeError(ErrorCode.MESSAGE_INVALID, `reply is not JSON: ${(err as Error).message}`));
        }
      },
      { noAck: true },
    );
    if (this.rpcChannel) {
      await ch.close().catch(() => undefined);
      return this.rpcChannel;
    }
    this.rpcChannel = ch;
    return ch;
  }

  /**
   * Answers a request received by a consumer (non-persistent, no confirm).
   * @throws BrokerUnavailableError when there is no channel to send it on: the
   * handler should let it through, so that the request is put back and
   * answered again rather than acked unanswered.
   */
  async reply(request: ConsumeMessage, body: unknown): Promise<void> {
    const replyTo = request.properties.replyTo as string | undefined;
    if (!replyTo) return;
    const pub = this.pub;
    if (!pub) throw new BrokerUnavailableError();
    try {
      pub.sendToQueue(replyTo, Buffer.from(JSON.stringify(body)), {
        correlationId: request.properties.correlationId as string,
        contentType: 'application/json',
        persistent: false,
      });
    } catch (err) {
      throw new BrokerUnavailableError(`reply failed: ${(err as Error).message}`, err);
    }
  }

  /** Runs `fn` with a short-lived channel (management operations such as queue stats). */
  async withChannel<T>(fn: (ch: Channel) => Promise<T>): Promise<T> {
    const model = this.model;
    if (!model) throw new BrokerUnavailableError();
    const ch = await model.createChannel();
    ch.on('error', () => undefined);
    try {
      return await fn(ch);
    } finally {
      await ch.close().catch(() => undefined);
    }
  }

  /** Stops consuming on every consumer (in-flight messages can still be acked). */
  async pauseAll(): Promise<void> {
    for (const c of this.consumers) {
      c.paused = true;
      if (c.channel && c.tag) {
        const tag = c.tag;
        delete c.tag;
        await c.channel.cancel(tag).catch(() => undefined);
      }
    }
  }

  /**
   * Waits for outstanding confirms, then closes channels and the connection.
   * A connection being set up at that moment is closed at its next step and
   * waited for, so that nothing is declared on the broker once this returns. Idempotent.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    await this.connecting;
    const model = this.model;
    const pub = this.pub;
    this.up = false;
    this.pub = undefined;
    if (pub) await pub.waitForConfirms().catch(() => undefined);
    // Cancel and close each consumer channel first: acks still buffered on them
    // would otherwise be overtaken by the connection's Close and the broker
    // would redeliver those messages.
    for (const c of this.consumers) {
      const ch = c.channel;
      const tag = c.tag;
      delete c.channel;
      delete c.tag;
      if (ch && tag) await ch.cancel(tag).catch(() => undefined);
      if (ch) await ch.close().catch(() => undefined);
    }
    this.model = undefined;
    if (model) await closeWithin(model, 5000);
  }
}

/**
 * The URL with the AMQP heartbeat set (amqplib takes it only from the URL's
 * `heartbeat` query parameter, not from the socket options). A `heartbeat`
 * already in the URL wins.
 */
function withHeartbeat(url: string, seconds: number): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  if (parsed.searchParams.has('heartbeat')) return url;
  parsed.searchParams.set('heartbeat', String(seconds));
  return parsed.toString();
}

/** Closes a connection; if the server never confirms within `ms`, drops the socket. */
async function closeWithin(model: ChannelModel, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), ms);
  });
  const closed = model.close().then(
    () => false,
    () => false,
  );
  const late = await Promise.race([closed, timedOut]);
  clearTimeout(timer);
  if (late) (model.connection as unknown as { stream?: { destroy?: () => void } }).stream?.destroy?.();
}

function safeAck(ch: Channel, msg: ConsumeMessage): void {
  try {
    ch.ack(msg);
  } catch {
    // channel closed: the broker will redeliver the message
  }
}

function safeNack(ch: Channel, msg: ConsumeMessage, requeue: boolean): void {
  try {
    ch.nack(msg, false, requeue);
  } catch {
    // channel closed: the broker will redeliver the message
  }
}

/** Hides the password of an AMQP URL for logs (see `redactUrl` in config.ts). */
export { redactUrl };

/** OpenSSL error codes of a broker certificate that did not verify. */
const CERT_ERRORS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * A connection error as one line for logs: a certificate that did not verify
 * says so and names the settings to check; the URL's password never appears.
 */
function describeConnectError(err: unknown, url: string): string {
  const code = (err as { code?: unknown } | null)?.code;
  let text = err instanceof Error ? err.message : String(err);
  if (typeof code === 'string' && CERT_ERRORS.has(code)) {
    text = `TLS: the broker certificate was not accepted (${code}: ${text}); check amqp.tls.ca_file and amqp.tls.servername`;
  }
  const password = urlPassword(url);
  return password === undefined || password.length < 3 ? text : text.split(password).join('***');
}

function urlPassword(url: string): string | undefined {
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^:/@]*:(.*)@/i.exec(url);
  if (!m || m[1] === undefined) return undefined;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return m[1];
  }
}

function readTlsFile(key: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError(`${key}: cannot read ${file} (${reason})`, { key, file });
  }
}

/**
 * The TLS socket options amqplib's `connect` takes for an `amqps://` URL,
 * built from `amqp.tls`: the CA, client certificate and key are read from
 * their files now (at start-up), the key's passphrase from the environment
 * variable `passphrase_env` names. A plain `amqp://` URL gets no options.
 * @throws ConfigError naming the key when a file cannot be read, the
 *   passphrase variable is unset, only one of `cert_file`/`key_file` is set,
 *   or TLS files are set for a plain `amqp://` URL.
 * @example
 * ```ts
 * const socketOptions = amqpSocketOptions(config.amqp.url, config.amqp.tls);
 * const broker = new Broker({ url: config.amqp.url, socketOptions, topology, logger, service: 'worker' });
 * ```
 */
export function amqpSocketOptions(url: string, tls: AmqpTlsConfig, env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const files = (['ca_file', 'cert_file', 'key_file'] as const).filter((k) => tls[k] !== '');
  if (!/^amqps:/i.test(url)) {
    if (files.length > 0) {
      throw new ConfigError(`amqp.tls.${files[0] ?? ''} is set but amqp.url is not an amqps:// URL: the connection would not use TLS`, { key: `amqp.tls.${files[0] ?? ''}` });
    }
    return {};
  }
  if ((tls.cert_file === '') !== (tls.key_file === '')) {
    const missing = tls.cert_file === '' ? 'cert_file' : 'key_file';
    throw new ConfigError(`amqp.tls.${missing} is needed too: a client certificate needs both cert_file and key_file`, { key: `amqp.tls.${missing}` });
  }
  const options: Record<string, unknown> = { rejectUnauthorized: tls.reject_unauthorized };
  if (tls.ca_file !== '') options['ca'] = [readTlsFile('amqp.tls.ca_file', tls.ca_file)];
  if (tls.cert_file !== '') options['cert'] = readTlsFile('amqp.tls.cert_file', tls.cert_file);
  if (tls.key_file !== '') options['key'] = readTlsFile('amqp.tls.key_file', tls.key_file);
  if (tls.passphrase_env !== '') {
    const passphrase = env[tls.passphrase_env];
    if (passphrase === undefined || passphrase === '') {
      throw new ConfigError(`amqp.tls.passphrase_env: environment variable ${tls.passphrase_env} is not set`, { key: 'amqp.tls.passphrase_env' });
    }
    options['passphrase'] = passphrase;
  }
  if (tls.servername !== '') options['servername'] = tls.servername;
  return options;
}
