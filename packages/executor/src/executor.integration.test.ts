/**
 * The executor against the real RabbitMQ (unique topology prefix per test):
 * the submit command on the commands queue, 503 without a broker, and
 * queries answered by playing the task-manager's side by hand.
 */
import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import {
  createLogger,
  createTopology,
  deleteTopology,
  ErrorCode,
  loadConfig,
  validators,
  type DeepPartial,
  type SjeConfig,
  type SubmitCommand,
  type TaskManagerReply,
  type TaskView,
} from '@sje/core';
import { createExecutor, type Executor } from './executor.js';
import { freePort } from '../../../test/helpers/stack.js';

const AMQP_URL = process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function startExecutor(overrides: DeepPartial<SjeConfig> = {}): Promise<{ executor: Executor; base: string; config: SjeConfig }> {
  const prefix = `t-${randomUUID().slice(0, 8)}`;
  const config = loadConfig({
    env: {},
    overrides: {
      amqp: { url: AMQP_URL },
      topology: { prefix, queue_type: 'classic' },
      ...overrides,
      executor: { host: '127.0.0.1', retry_after_s: 3, ...overrides.executor },
    },
  });
  const executor = await createExecutor({ config, port: 0, logger: createLogger({ service: 'executor', silent: true }) });
  cleanups.push(async () => {
    await executor.close({ graceMs: 100 });
    if (config.amqp.url !== AMQP_URL) return;
    const conn = await connect(AMQP_URL);
    const ch = await conn.createChannel();
    await deleteTopology(ch, createTopology({ prefix }));
    await conn.close();
  });
  await executor.start();
  return { executor, base: `http://127.0.0.1:${executor.port}`, config };
}

async function amqp(): Promise<{ conn: ChannelModel; ch: Channel }> {
  const conn = await connect(AMQP_URL, { noDelay: true });
  const ch = await conn.createChannel();
  cleanups.push(async () => {
    await conn.close().catch(() => undefined);
  });
  return { conn, ch };
}

function post(url: string, body?: unknown): Promise<Response> {
  return fetch(url, body === undefined ? { method: 'POST' } : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** Plays the task-manager's query side: answers every query on the queries queue with `answer`. */
async function playTaskManager(config: SjeConfig, answer: (query: unknown) => TaskManagerReply | Promise<TaskManagerReply>): Promise<unknown[]> {
  const { ch } = await amqp();
  const topology = createTopology({ prefix: config.topology.prefix });
  const seen: unknown[] = [];
  await ch.consume(
    topology.queues.queries,
    (msg: ConsumeMessage | null) => {
      if (!msg) return;
      const query = JSON.parse(msg.content.toString()) as unknown;
      seen.push(query);
      void Promise.resolve(answer(query)).then((reply) => {
        ch.sendToQueue(String(msg.properties.replyTo), Buffer.from(JSON.stringify(reply)), { correlationId: String(msg.properties.correlationId) });
      });
    },
    { noAck: true },
  );
  return seen;
}

function view(task_id: string, extra: Partial<TaskView> = {}): TaskView {
  return {
    task_id,
    function: 'resize',
    queue: 'default',
    priority: 0,
    status: 'queued',
    attempt: 1,
    params: {},
    depends_on: [],
    labels: {},
    created_at: new Date().toISOString(),
    history: [{ status: 'queued', at: new Date().toISOString(), attempt: 1 }],
    ...extra,
  };
}

describe('executor on RabbitMQ', () => {
  it('publishes the submit command, persistent, on the commands queue', async () => {
    // No task-manager runs here: the idempotency check of the client id 'a' times out and the submit is accepted.
    const { executor, base, config } = await startExecutor({ executor: { query_timeout_ms: 300 } });
    await executor.runtime.broker.waitConnected(5000);
    const res = await post(`${base}/submit`, { tasks: [{ task_id: 'a', function: 'f', params: { n: 1 } }, { function: 'g', depends_on: ['a'], priority: 3 }] });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { workflow_id: string; tasks: { task_id: string; status: string }[] };

    const { ch } = await amqp();
    const msg = await ch.get(createTopology({ prefix: config.topology.prefix }).queues.commands, { noAck: true });
    expect(msg).not.toBe(false);
    if (msg === false) return;
    expect(msg.properties.deliveryMode).toBe(2);
    expect(msg.properties.contentType).toBe('application/json');
    const check = validators.command(JSON.parse(msg.content.toString()));
    expect(check.ok).toBe(true);
    const cmd = (check as { value: SubmitCommand }).value;
    expect(cmd.type).toBe('submit');
    expect(cmd.workflow_id).toBe(body.workflow_id);
    expect(cmd.tasks.map((t) => [t.task_id, t.depends_on, t.priority])).toEqual([
      ['a', [], 0],
      [body.tasks[1]!.task_id, ['a'], 3],
    ]);
  });

  it('answers 503 with Retry-After within a second when the broker URL points at a closed port', async () => {
    const port = await freePort();
    const { base } = await startExecutor({ amqp: { url: `amqp://guest:guest@127.0.0.1:${port}` } });
    const started = Date.now();
    const res = await post(`${base}/submit`, { function: 'f' });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('3');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(ErrorCode.BROKER_UNAVAILABLE);
    const status = await fetch(`${base}/status/any`);
    expect(status.status).toBe(503);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('answers status, idempotent submits and cancels from the task-manager replies', async () => {
    const { executor, base, config } = await startExecutor();
    await executor.runtime.broker.waitConnected(5000);
    const known = view('known-1', { status: 'running', params: { x: 1 }, worker: { id: 'w-1', host: 'h1' } });
    const queries = await playTaskManager(config, (q) => {
      const query = q as { type: string; task_ids?: string[]; task_id?: string };
      if (query.type === 'get_tasks') return { type: 'tasks', tasks: (query.task_ids ?? []).map((id) => (id === 'known-1' ? known : null)) };
      if (query.task_id === 'known-1') return { type: 'cancel_result', task: { ...known, status: 'cancelled' }, previous_status: 'running', changed: true };
      return { type: 'cancel_result', task: null, changed: false };
    });

    const status = await fetch(`${base}/status/known-1`);
    expect(status.status).toBe(200);
    expect(await status.json()).toEqual(known);

    const missing = await fetch(`${base}/status/missing-1`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe(ErrorCode.TASK_NOT_FOUND);

    const again = await post(`${base}/submit`, { task_id: 'known-1', function: 'resize', params: { x: 1 } });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ task_id: 'known-1', status: 'running' });
    const conflict = await post(`${base}/submit`, { task_id: 'known-1', function: 'resize', params: { x: 2 } });
    expect(conflict.status).toBe(409);

    const dependent = await post(`${base}/submit`, { function: 'after', depends_on: ['known-1'] });
    expect(dependent.status).toBe(201);
    expect(((await dependent.json()) as { status: string }).status).toBe('pending');

    const cancel = await post(`${base}/cancel/known-1`);
    expect(cancel.status).toBe(200);
    expect(await cancel.json()).toEqual({ task_id: 'known-1', status: 'cancelled' });

    expect(queries.map((q) => (q as { type: string }).type)).toEqual(['get_tasks', 'get_tasks', 'get_tasks', 'get_tasks', 'get_tasks', 'cancel_task']);
  });

  it('answers 503 TASK_MANAGER_UNAVAILABLE when nobody answers the query in time', async () => {
    const { executor, base } = await startExecutor({ executor: { query_timeout_ms: 300 } });
    await executor.runtime.broker.waitConnected(5000);
    const res = await fetch(`${base}/status/quiet-1`);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('3');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(ErrorCode.TASK_MANAGER_UNAVAILABLE);
  });

  it('closes its keep-alive connections to the ops endpoints when it closes', async () => {
    const ops = createHttpServer((req, res) => {
      const id = decodeURIComponent((req.url ?? '').split('/').pop() ?? '');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(view(id)));
    });
    await new Promise<void>((resolve) => ops.listen(0, '127.0.0.1', resolve));
    const openConnections = (): Promise<number> => new Promise((resolve, reject) => ops.getConnections((err, n) => (err ? reject(err) : resolve(n))));
    try {
      const opsUrl = `http://127.0.0.1:${(ops.address() as AddressInfo).port}`;
      const { executor, base } = await startExecutor({ executor: { task_manager_urls: [opsUrl], status_reads: 'ops_first' } });
      const res = await fetch(`${base}/status/ops-1`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as TaskView).task_id).toBe('ops-1');
      expect(await openConnections()).toBe(1);
      await executor.close({ graceMs: 100 });
      const deadline = Date.now() + 2000;
      while ((await openConnections()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(await openConnections()).toBe(0);
    } finally {
      ops.closeAllConnections();
      await new Promise((resolve) => ops.close(resolve));
    }
  });

  it('keeps an idle keep-alive connection for executor.keep_alive_timeout_ms, then closes it', async () => {
    const { base } = await startExecutor({ executor: { keep_alive_timeout_ms: 300 } });
    const { base: patientBase } = await startExecutor();
    const idleConnection = async (url: string): Promise<{ closedAfterMs: () => number | undefined }> => {
      const { hostname, port } = new URL(url);
      const socket = netConnect(Number(port), hostname);
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      const answered = new Promise<void>((resolve) => socket.once('data', () => resolve()));
      socket.write(`GET /healthz HTTP/1.1\r\nHost: ${hostname}\r\nConnection: keep-alive\r\n\r\n`);
      await answered;
      const since = Date.now();
      let closedAt: number | undefined;
      socket.once('close', () => (closedAt = Date.now()));
      cleanups.push(async () => void socket.destroy());
      return { closedAfterMs: () => (closedAt === undefined ? undefined : closedAt - since) };
    };
    const short = await idleConnection(base);
    const patient = await idleConnection(patientBase);
    const deadline = Date.now() + 3000;
    while (short.closedAfterMs() === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // Closed by the executor once idle for its timeout; the default (65 s) keeps the other one open meanwhile.
    expect(short.closedAfterMs()).toBeGreaterThanOrEqual(250);
    expect(patient.closedAfterMs()).toBeUndefined();
  });

  it('finishes a request in flight before closing', async () => {
    const { executor, base, config } = await startExecutor();
    await executor.runtime.broker.waitConnected(5000);
    await playTaskManager(config, async (q) => {
      await new Promise((r) => setTimeout(r, 400));
      return { type: 'tasks', tasks: ((q as { task_ids: string[] }).task_ids).map((id) => view(id)) };
    });
    const inFlight = fetch(`${base}/status/slow-1`);
    await new Promise((r) => setTimeout(r, 100));
    const closed = executor.close({ graceMs: 5000 });
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(((await res.json()) as TaskView).task_id).toBe('slow-1');
    await closed;
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
    await executor.close();
  });
});
