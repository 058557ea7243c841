/**
 * The AMQP connection layer against the real RabbitMQ, each test on its own
 * topology prefix, deleted afterwards.
 */
import type { Socket } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupTopology,
  closeBrokerConnections,
  drainQueue,
  getBrokerUrl,
  hasRabbitmqctl,
  publishRaw,
  queueDepth,
  resolveBroker,
  uniquePrefix,
  withChannel,
} from '../../../test/helpers/broker.js';
import { Broker, type Delivery } from './broker.js';
import { BrokerUnavailableError, ErrorCode, SjeError } from './errors.js';
import { createLogger } from './logger.js';
import type { CancelCommand, GetTasksReply, TaskManagerCommand, TaskManagerQuery } from './messages.js';
import { validators } from './schemas.js';
import { assertTopology, createTopology, DeadLetterHeaders, type Topology } from './topology.js';

let url = '';
/** Fault injection from the server side needs the broker on this host and rabbitmqctl. */
const ctlAvailable = (await resolveBroker()).source === 'local' && (await hasRabbitmqctl());
const brokers: Broker[] = [];
const prefixes: string[] = [];

beforeAll(async () => {
  url = await getBrokerUrl();
});

afterEach(async () => {
  for (const b of brokers.splice(0)) await b.close();
  for (const p of prefixes.splice(0)) await cleanupTopology(url, p);
});

const logger = createLogger({ service: 'broker-test', silent: true });

function newTopology(): Topology {
  const prefix = uniquePrefix();
  prefixes.push(prefix);
  return createTopology({ prefix });
}

function newBroker(topology: Topology, opts: { service?: string; url?: string } = {}): Broker {
  const broker = new Broker({
    url: opts.url ?? url,
    topology,
    logger,
    service: opts.service ?? `test-${topology.prefix}`,
    reconnectInitialMs: 50,
    reconnectMaxMs: 500,
  });
  brokers.push(broker);
  return broker;
}

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const cancel = (task_id: string): CancelCommand => ({ type: 'cancel', task_id, requested_at: new Date().toISOString() });

describe('Broker publish and consume', () => {
  it('publishes persistent JSON with a confirm and delivers it validated to a consumer, then acks', async () => {
    const t = newTopology();
    const broker = newBroker(t);
    await broker.start(10_000);
    expect(broker.connected).toBe(true);
    expect(broker.serverVersion).toMatch(/^\d+\.\d+/);

    const received: { body: TaskManagerCommand; persistent: boolean; contentType: unknown; redelivered: boolean }[] = [];
    const channels: Delivery['channel'][] = [];
    await broker.consume<TaskManagerCommand>(
      t.queues.commands,
      async (body, d) => {
        channels.push(d.channel);
        received.push({ body, persistent: d.raw.properties.deliveryMode === 2, contentType: d.raw.properties.contentType, redelivered: d.redelivered });
      },
      { validate: validators.command, prefetch: 10 },
    );
    const messages = [cancel('a'), cancel('b'), cancel('c')];
    for (const m of messages) await broker.publish(t.exchanges.commands, t.routingKeys.command, m);
    await waitFor(() => received.length === 3, 10_000, 'three deliveries');
    expect(received.map((r) => r.body)).toEqual(messages);
    expect(received.every((r) => r.persistent && r.contentType === 'application/json' && !r.redelivered)).toBe(true);

    // Acked: closing the consumer's channel would return unacked messages to the queue.
    await channels[0]?.close();
    expect(channels.every((c) => c === channels[0])).toBe(true);
    expect(await queueDepth(url, t.queues.commands)).toBe(0);
  });

  it("'defer' leaves the message unacked until Broker.ack", async () => {
    const t = newTopology();
    const broker = newBroker(t);
    await broker.start(10_000);
    const tokens: Parameters<Broker['ack']>[0][] = [];
    await broker.consume(
      t.queues.commands,
      async (_body, d) => {
        tokens.push({ channel: d.channel, message: d.raw });
        return 'defer';
      },
      { validate: validators.command, prefetch: 10 },
    );
    await broker.publish(t.exchanges.commands, t.routingKeys.command, cancel('kept'));
    await broker.publish(t.exchanges.commands, t.routingKeys.command, cancel('acked'));
    await waitFor(() => tokens.length === 2);
    broker.ack(tokens[1]!);
    // Closing the consumer's channel sends the ack before it and returns every unacked message to the queue.
    await tokens[1]!.channel.close();
    const left = await drainQueue(url, t.queues.commands, { min: 1, timeoutMs: 5000 });
    expect(left.map((m) => (m.body as CancelCommand).task_id)).toEqual(['kept']);
    expect(left[0]?.redelivered).toBe(true);
  });

  // close() must cancel and close the consumer channels before the connection,
  // or the connection's Close frame overtakes buffered acks.
  it('close() delivers acks given just before it (no redelivery after a clean shutdown)', async () => {
    const t = newTopology();
    const broker = newBroker(t);
    await broker.start(10_000);
    const tokens: Parameters<Broker['ack']>[0][] = [];
    await broker.consume(
      t.queues.commands,
      async (_b, d) => {
        tokens.push({ channel: d.channel, message: d.raw });
        return 'defer';
      },
      { validate: validators.command, prefetch: 100 },
    );
    for (let i = 0; i < 50; i++) await broker.publish(t.exchanges.commands, t.routingKeys.command, cancel(`m${i}`));
    await waitFor(() => tokens.length === 50);
    for (const token of tokens) broker.ack(token);
    await broker.close();
    expect(await drainQueue(url, t.queues.commands, { timeoutMs: 500 })).toHaveLength(0);
  });

  it('pause stops deliveries and resume restarts them', async () => {
    const t = newTopology();
    const broker = newBroker(t);
    await broker.start(10_000);
    const seen: string[] = [];
    const handle = await broker.consume<TaskManagerCommand>(t.queues.commands, async (b) => void seen.push((b as CancelCommand).task_id), {
      validate: validators.command,
      prefetch: 10,
    });
    await handle.pause();
    await broker.publish(t.exchanges.commands, t.routingKeys.command, cancel('while-paused'));
    await waitFor(async () => (await queueDepth(url, t.queues.commands)) === 1);
    expect(seen).toEqual([]);
    await handle.resume();
    await waitFor(() => seen.length === 1);
    expect(seen).toEqual(['while-paused']);
  });

  it('overlapping pause and resume calls leave exactly one consumer', async () => {
    const t = newTopology();
    const broker = newBroker(t);
    await broker.start(10_000);
    const handle = await broker.consume<TaskManagerCommand>(t.queues.commands, async () => undefined, { validate: validators.command, prefetch: 10 });
    await handle.pause();
    await Promise.all([handle.resume(), handle.resume(), handle.pause(), handle.resume()]);
    const consumers = await withChannel(url, async (ch) => (await ch.checkQueue(t.queues.commands)).consumerCount);
    expect(consumers).toBe(1);
  });
});

describe('Broker consumer prefetch', () => {
  it('setPrefetch applies at the next resume, or at once with restartNow, and keeps held deliveries valid', async () => {
    const t = newTopology();
    const broker = newBroker(t);
    await broker.start(10_000);
    const held: Delivery[] = [];
    const handle = await broker.consume<TaskManagerCommand>(t.queues.commands, async (_b, d) => (held.push(d), 'defer'), {
      validate: validators.command,
      prefetch: 2,
    });
    for (let i = 0; i < 10; i++) await broker.publish(t.exchanges.commands, t.routingKeys.command, cancel(`c${i}`));
    await waitFor(() => held.length === 2);
    await new Promise((r) => setTimeout(r, 200));
    expect(held).toHaveLength(2);
    // Without a restart the running consumer keeps its prefetch of 2.
    await handle.setPrefetch(3);
    await new Promise((r) => setTimeout(r, 200));
    expect(held).toHaveLength(2);
    // A restarted consumer starts with a fresh allowance of 3 beside the 2 still held.
    await handle.setPrefetch(3, true);
    await waitFor(() => held.length === 5);
    await new Promise((r) => setTimeout(r, 200));
    expect(held).toHaveLength(5);
    // A paused consumer picks the new prefetch up when it resumes.
    await handle.pause();
    await handle.setPrefetch(1, true);
    for (const d of held.splice(0)) broker.ack({ channel: d.channel, message: d.raw });
    await handle.resume();
    await waitFor(() => held.length === 1);
    await new Promise((r) => setTimeout(r, 200));
    expect(held).toHaveLength(1);
    await expect(handle.setPrefetch(0)).rejects.toThrow(RangeError);
    for (const d of held.splice(0)) broker.ack({ channel: d.channel, message: d.raw });
    await waitFor(() => held.length === 1);
    const consumers = await withChannel(url, async (ch) => (await ch.checkQueue(t.queues.commands)).consumerCount);
    expect(consumers).toBe(1);
  });
});

describe('Broker dead-lettering', () => {
  it('sends invalid JSON and schema-invalid messages to the dead-letter queue with the reason, never to the handler', async () => {
    const t = newTopology();
    const broker = newBroker(t);
    await broker.start(10_000);
    const handled: unknown[] = [];
    await broker.consume(t.queues.commands, async (b) => void handled.push(b), { validate: validators.command, prefetch: 10 });

    await publishRaw(url, t.exchanges.commands, t.routingKeys.command, '{not json', { headers: { 'x-trace': 'abc' } });
    await publishRaw(url, t.exchanges.commands, t.routingKeys.command, JSON.stringify({ type: 'cancel', task_id: 't1' }));
    await publishRaw(url, t.exchanges.commands, t.routingKeys.command, JSON.stringify({ type: 'explode' }));

    const dead = await drainQueue(url, t.queues.deadLetter, { min: 3, timeoutMs: 10_000 });
    expect(dead).toHaveLength(3);
    const byContent = new Map(dead.map((m) => [m.content.toString('utf8'), m]));
    const notJson = byContent.get('{not json');
    expect(notJson?.headers[DeadLetterHeaders.reason]).toBe('message is not valid JSON');
    expect(notJson?.headers['x-trace']).toBe('abc');
    const noField = byContent.get(JSON.stringify({ type: 'cancel', task_id: 't1' }));
    expect(String(noField?.headers[DeadLetterHeaders.reason])).toMatch(/^schema validation failed: .*requested_at/);
    const unknownType = byContent.get(JSON.stringify({ type: 'explode' }));
    expect(String(unknownType?.headers[DeadLetterHeaders.reason])).toContain('unknown message type "explode"');
    for (const m of dead) {
      expect(m.headers[DeadLetterHeaders.sourceQueue]).toBe(t.queues.commands);
      expect(m.headers[DeadLetterHeaders.service]).toBe(`test-${t.prefix}`);
      expect(Number.isNaN(Date.parse(String(m.headers[DeadLetterHeaders.at])))).toBe(false);
    }
    expect(handled).toEqual([]);
    expect(await queueDepth(url, t.queues.commands)).toBe(0);
  });

  it('requeues a message once when its handler throws, then dead-letters it', async () => {
    const t = newTopology();
    const broker = newBroker(t);
    await broker.start(10_000);
    const attempts: boolean[] = [];
    await broker.consume(
      t.queues.commands,
      async (_b, d) => {
        attempts.push(d.redelivered);
        throw new Error('store is on fire');
      },
      { validate: validators.command, prefetch: 1 },
    );
    await broker.publish(t.exchanges.commands, t.routingKeys.command, cancel('x'));
    const dead = await drainQueue(url, t.queues.deadLetter, { min: 1, timeoutMs: 10_000 });
    expect(attempts).toEqual([false, true]);
    expect(dead).toHaveLength(1);
    expect(dead[0]?.headers[DeadLetterHeaders.reason]).toBe('handler failed: store is on fire');
    expect((dead[0]?.body as CancelCommand).task_id).toBe('x');
  });

  it("with onError 'dead-letter' (or an SJE_ERR_MESSAGE_INVALID error) dead-letters at the first failure", async () => {
    const t = newTopology();
    const broker = newBroker(t);
    await broker.start(10_000);
    let calls = 0;
    await broker.consume(
      t.queues.commands,
      async (b) => {
        calls++;
        if ((b as CancelCommand).task_id === 'invalid') throw new SjeError(ErrorCode.MESSAGE_INVALID, 'semantically invalid');
        throw new Error('no retry wanted');
      },
      { validate: validators.command, prefetch: 1, onError: 'dead-letter' },
    );
    await broker.publish(t.exchanges.commands, t.routingKeys.command, cancel('plain'));
    await broker.publish(t.exchanges.commands, t.routingKeys.command, cancel('invalid'));
    const dead = await drainQueue(url, t.queues.deadLetter, { min: 2, timeoutMs: 10_000 });
    expect(calls).toBe(2);
    expect(dead.map((m) => String(m.headers[DeadLetterHeaders.reason])).sort()).toEqual(['handler failed: no retry wanted', 'handler failed: semantically invalid']);
  });
});

describe('Broker request/reply', () => {
  it('round-trips a query through direct reply-to', async () => {
    const t = newTopology();
    const server = newBroker(t, { service: `server-${t.prefix}` });
    const client = newBroker(t, { service: `client-${t.prefix}` });
    await Promise.all([server.start(10_000), client.start(10_000)]);
    const queries: TaskManagerQuery[] = [];
    await server.consume<TaskManagerQuery>(
      t.queues.queries,
      async (q, d) => {
        queries.push(q);
        const reply: GetTasksReply = { type: 'tasks', tasks: q.type === 'get_tasks' ? q.task_ids.map(() => null) : [] };
        await server.reply(d.raw, reply);
      },
      { validate: validators.query, prefetch: 10 },
    );
    const answers = await Promise.all([
      client.request(t.routingKeys.query, { type: 'get_tasks', task_ids: ['a', 'b'] }, validators.reply, 5000),
      client.request(t.routingKeys.query, { type: 'get_tasks', task_ids: ['c'] }, validators.reply, 5000),
    ]);
    expect(answers).toEqual([
      { type: 'tasks', tasks: [null, null] },
      { type: 'tasks', tasks: [null] },
    ]);
    expect(queries).toHaveLength(2);
  });

  it('answers a query that was already waiting when the server connected (its handler can reply at the first delivery)', async () => {
    const t = newTopology();
    const client = newBroker(t, { service: `client-${t.prefix}` });
    await client.start(10_000);
    const answer = client.request(t.routingKeys.query, { type: 'get_tasks', task_ids: ['early'] }, validators.reply, 5000);
    await waitFor(async () => (await queueDepth(url, t.queues.queries)) === 1, 5000, 'the query in its queue');
    const server = newBroker(t, { service: `server-${t.prefix}` });
    let deliveries = 0;
    await server.consume<TaskManagerQuery>(
      t.queues.queries,
      async (_q, d) => {
        deliveries += 1;
        await server.reply(d.raw, { type: 'tasks', tasks: [null] } satisfies GetTasksReply);
      },
      { validate: validators.query, prefetch: 10 },
    );
    await server.start(10_000);
    await expect(answer).resolves.toEqual({ type: 'tasks', tasks: [null] });
    expect(deliveries).toBe(1);
  });

  it('puts a query back when its reply cannot be sent, so that it is answered again', async () => {
    const t = newTopology();
    const server = newBroker(t, { service: `server-${t.prefix}` });
    const client = newBroker(t, { service: `client-${t.prefix}` });
    await Promise.all([server.start(10_000), client.start(10_000)]);
    let deliveries = 0;
    await server.consume<TaskManagerQuery>(
      t.queues.queries,
      async (_q, d) => {
        deliveries += 1;
        if (deliveries === 1) throw new BrokerUnavailableError('no channel to reply on');
        await server.reply(d.raw, { type: 'tasks', tasks: [null] } satisfies GetTasksReply);
      },
      { validate: validators.query, prefetch: 10, onError: 'dead-letter' },
    );
    await expect(client.request(t.routingKeys.query, { type: 'get_tasks', task_ids: ['a'] }, validators.reply, 5000)).resolves.toEqual({ type: 'tasks', tasks: [null] });
    expect(deliveries).toBe(2);
  });

  it('fails a request at once with BrokerUnavailableError when its reply channel closes, and opens a new one for the next', async () => {
    const t = newTopology();
    const client = newBroker(t, { service: `client-${t.prefix}` });
    await client.start(10_000);
    // Publishing to an exchange that is gone closes the channel (404): the reply to that request can never come.
    await withChannel(url, (ch) => ch.deleteExchange(t.exchanges.commands));
    const err = await client.request(t.routingKeys.query, { type: 'get_tasks', task_ids: ['a'] }, validators.reply, 30_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrokerUnavailableError);
    expect(client.connected).toBe(true);

    await withChannel(url, (ch) => assertTopology(ch, t));
    const server = newBroker(t, { service: `server-${t.prefix}` });
    await server.consume<TaskManagerQuery>(t.queues.queries, async (_q, d) => server.reply(d.raw, { type: 'tasks', tasks: [null] } satisfies GetTasksReply), {
      validate: validators.query,
      prefetch: 1,
    });
    await server.start(10_000);
    await expect(client.request(t.routingKeys.query, { type: 'get_tasks', task_ids: ['b'] }, validators.reply, 5000)).resolves.toEqual({ type: 'tasks', tasks: [null] });
  });

  it('times out with SJE_ERR_TASK_MANAGER_UNAVAILABLE when nobody answers', async () => {
    const t = newTopology();
    const client = newBroker(t);
    await client.start(10_000);
    const err = await client.request(t.routingKeys.query, { type: 'get_tasks', task_ids: ['a'] }, validators.reply, 300).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SjeError);
    expect((err as SjeError).code).toBe(ErrorCode.TASK_MANAGER_UNAVAILABLE);
    expect((err as SjeError).retryable).toBe(true);
  });

  it('rejects a reply that fails the reply schema', async () => {
    const t = newTopology();
    const server = newBroker(t, { service: `server-${t.prefix}` });
    const client = newBroker(t, { service: `client-${t.prefix}` });
    await Promise.all([server.start(10_000), client.start(10_000)]);
    await server.consume(t.queues.queries, async (_q, d) => server.reply(d.raw, { type: 'bogus' }), { validate: validators.query, prefetch: 1 });
    const err = await client.request(t.routingKeys.query, { type: 'cancel_task', task_id: 'a' }, validators.reply, 5000).catch((e: unknown) => e);
    expect((err as SjeError).code).toBe(ErrorCode.MESSAGE_INVALID);
  });
});

describe('Broker availability', () => {
  it('publish, request and withChannel throw BrokerUnavailableError at once when not connected', async () => {
    const broker = newBroker(newTopology());
    await expect(broker.publish('x', 'y', {})).rejects.toBeInstanceOf(BrokerUnavailableError);
    await expect(broker.request('query', {}, validators.reply, 1000)).rejects.toBeInstanceOf(BrokerUnavailableError);
    await expect(broker.withChannel(async () => 1)).rejects.toBeInstanceOf(BrokerUnavailableError);
    const err = await broker.publish('x', 'y', {}).catch((e: unknown) => e);
    expect((err as BrokerUnavailableError).code).toBe(ErrorCode.BROKER_UNAVAILABLE);
    expect((err as BrokerUnavailableError).retryable).toBe(true);
  });

  it('start() gives up with BrokerUnavailableError after waitMs when no broker answers', async () => {
    const broker = newBroker(newTopology(), { url: 'amqp://guest:guest@127.0.0.1:1' });
    await expect(broker.start(300)).rejects.toBeInstanceOf(BrokerUnavailableError);
    expect(broker.connected).toBe(false);
    await expect(broker.publish('x', 'y', {})).rejects.toBeInstanceOf(BrokerUnavailableError);
  });

  it('close() during the connection set-up waits for it, closes that connection and leaves the broker closed', async () => {
    const t = newTopology();
    let entered!: () => void;
    const inSetup = new Promise<void>((r) => (entered = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const broker = new Broker({
      url,
      topology: t,
      logger,
      service: `test-${t.prefix}`,
      reconnectInitialMs: 50,
      reconnectMaxMs: 500,
      onConnect: async () => {
        entered();
        await gate;
      },
    });
    brokers.push(broker);
    const events: string[] = [];
    broker.on('connected', () => events.push('connected'));
    await broker.start(0);
    await inSetup;
    let closeReturned = false;
    const closing = broker.close().then(() => (closeReturned = true));
    await new Promise((r) => setTimeout(r, 100));
    // The connection being set up is waited for: close() has not returned yet.
    expect(closeReturned).toBe(false);
    release();
    await closing;
    expect(broker.connected).toBe(false);
    expect(events).toEqual([]);
    await expect(broker.publish(t.exchanges.commands, t.routingKeys.command, cancel('late'))).rejects.toBeInstanceOf(BrokerUnavailableError);
    // Nor does it come back.
    await new Promise((r) => setTimeout(r, 300));
    expect(broker.connected).toBe(false);
    expect(events).toEqual([]);
  });

  it('close() is idempotent and stops publishing', async () => {
    const t = newTopology();
    const broker = newBroker(t);
    await broker.start(10_000);
    await broker.close();
    await broker.close();
    expect(broker.connected).toBe(false);
    await expect(broker.publish(t.exchanges.commands, t.routingKeys.command, cancel('late'))).rejects.toBeInstanceOf(BrokerUnavailableError);
  });
});

/** Sets up a broker with a consumer, breaks the connection with `breakIt`, and checks everything works again. */
async function checkRecovers(breakIt: (broker: Broker, service: string) => Promise<void>): Promise<void> {
  const t = newTopology();
  const service = `test-${t.prefix}`;
  const broker = newBroker(t, { service });
  const events: string[] = [];
  broker.on('connected', () => events.push('connected'));
  broker.on('disconnected', () => events.push('disconnected'));
  await broker.start(10_000);
  const seen: string[] = [];
  await broker.consume<TaskManagerCommand>(t.queues.commands, async (b) => void seen.push((b as CancelCommand).task_id), {
    validate: validators.command,
    prefetch: 10,
  });
  await broker.publish(t.exchanges.commands, t.routingKeys.command, cancel('before'));
  await waitFor(() => seen.includes('before'));

  await breakIt(broker, service);
  await waitFor(() => events.includes('disconnected'), 10_000, 'the disconnect');
  await broker.waitConnected(15_000);
  expect(events).toEqual(['connected', 'disconnected', 'connected']);

  // The consumer was re-created: a message published after the reconnect arrives.
  await broker.publish(t.exchanges.commands, t.routingKeys.command, cancel('after'));
  await waitFor(() => seen.includes('after'), 10_000, 'delivery after the reconnect');
  expect(seen.filter((s) => s === 'after')).toHaveLength(1);
}

describe('Broker reconnection', () => {
  it('recovers its consumers after the connection is reset', async () => {
    await checkRecovers(async (broker) => {
      const model = (broker as unknown as { model?: { connection: { stream: Socket } } }).model;
      expect(model).toBeDefined();
      // A reset from the network: the socket fails with an error.
      model?.connection.stream.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    });
  });

  it.skipIf(!ctlAvailable)('recovers its consumers after the server closes the connection', async () => {
    await checkRecovers(async (_broker, service) => {
      expect(await closeBrokerConnections(`sje-${service}-${process.pid}`)).toBe(1);
    });
  });
});
