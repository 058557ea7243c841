import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BrokerUnavailableError,
  createLogger,
  createTopology,
  ErrorCode,
  loadConfig,
  PluginHost,
  SjeError,
  type StatusReads,
  type TaskView,
  type Validator,
} from '@sje/core';
import type { BrokerPort } from '../../app-deps.js';
import { createApp } from '../../app.js';

function view(task_id: string): TaskView {
  return {
    task_id,
    function: 'resize',
    queue: 'default',
    priority: 0,
    status: 'running',
    attempt: 1,
    params: {},
    depends_on: [],
    labels: {},
    created_at: '2026-01-01T00:00:00.000Z',
    history: [{ status: 'pending', at: '2026-01-01T00:00:00.000Z', attempt: 0 }],
  };
}

/** A broker that is away, or whose task-manager never answers. */
class AbsentBroker implements BrokerPort {
  readonly topology = createTopology({ prefix: 'unit' });
  queries = 0;
  constructor(
    public connected: boolean,
    private readonly answer?: (ids: string[]) => (TaskView | null)[],
  ) {}

  async publish(): Promise<void> {
    throw new BrokerUnavailableError();
  }

  async request<T>(_key: string, body: unknown, validate: Validator<T>): Promise<T> {
    this.queries += 1;
    if (!this.connected) throw new BrokerUnavailableError();
    if (!this.answer) throw new SjeError(ErrorCode.TASK_MANAGER_UNAVAILABLE, 'no answer from the task-manager', { retryable: true });
    const check = validate({ type: 'tasks', tasks: this.answer((body as { task_ids: string[] }).task_ids) });
    if (!check.ok) throw new Error(check.reason);
    return check.value;
  }
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((resolve) => s.close(() => resolve()));
});

/** A task-manager ops endpoint that knows `known`, counting the lookups it gets. */
async function opsEndpoint(known: TaskView[]): Promise<{ url: string; lookups: string[] }> {
  const lookups: string[] = [];
  const server = createServer((req, res) => {
    lookups.push(`${req.url ?? ''} ${req.headers['authorization'] ?? '-'}`);
    const id = decodeURIComponent((req.url ?? '').replace(/^\/tasks\//, ''));
    const found = known.find((t) => t.task_id === id);
    res.writeHead(found ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(found ?? { error: { code: ErrorCode.TASK_NOT_FOUND, message: `task ${id} not found` } }));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, lookups };
}

function app(broker: BrokerPort, urls: string[], opsToken = '', statusReads: StatusReads = 'broker_first'): ReturnType<typeof createApp> {
  const config = loadConfig({
    env: {},
    overrides: { executor: { task_manager_urls: urls, retry_after_s: 3, status_reads: statusReads }, security: { ops_token: opsToken } },
  });
  const logger = createLogger({ service: 'executor', silent: true });
  const metrics = new Registry();
  return createApp({ config, logger, broker, plugins: new PluginHost({ service: 'executor', logger, metrics, config }), metrics });
}

describe('GET /status/:task_id while the broker is away (broker_first)', () => {
  it('reads the task from the task-managers’ ops endpoints, with the ops token', async () => {
    const ops = await opsEndpoint([view('t-1')]);
    const api = app(new AbsentBroker(false), ['http://127.0.0.1:1', ops.url], 'tok');
    const res = await request(api).get('/status/t-1');
    expect(res.status).toBe(200);
    expect(res.body).toEqual(view('t-1'));
    expect(ops.lookups).toEqual(['/tasks/t-1 Bearer tok']);
    const unknown = await request(api).get('/status/t-2');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe(ErrorCode.TASK_NOT_FOUND);
  });

  it('also falls back when the task-manager does not answer the query in time', async () => {
    const ops = await opsEndpoint([view('t-1')]);
    const broker = new AbsentBroker(true);
    const res = await request(app(broker, [ops.url])).get('/status/t-1');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('running');
    expect(broker.queries).toBe(1);
  });

  it('answers 503 with Retry-After when no ops endpoint answers either', async () => {
    const res = await request(app(new AbsentBroker(false), ['http://127.0.0.1:1'])).get('/status/t-1');
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('3');
    expect(res.body.error.code).toBe(ErrorCode.BROKER_UNAVAILABLE);
    const none = await request(app(new AbsentBroker(false), [])).get('/status/t-1');
    expect(none.status).toBe(503);
  });

  it('does not ask the ops endpoints when the task-manager answered', async () => {
    const ops = await opsEndpoint([view('t-1')]);
    const api = app(new AbsentBroker(true, (ids) => ids.map(() => null)), [ops.url]);
    const res = await request(api).get('/status/t-1');
    expect(res.status).toBe(404);
    expect(ops.lookups).toEqual([]);
  });
});

describe('GET /status/:task_id with status_reads: ops_first', () => {
  it('is not the default: store_first is, which reads as ops_first until a store file is named', () => {
    expect(loadConfig({ env: {} }).executor.status_reads).toBe('store_first');
  });

  it('reads the task from the ops endpoint without asking the broker, and takes its 404 as the answer', async () => {
    const ops = await opsEndpoint([view('t-1')]);
    const broker = new AbsentBroker(true, (ids) => ids.map((id) => view(id)));
    const api = app(broker, [ops.url], '', 'ops_first');
    const res = await request(api).get('/status/t-1');
    expect(res.status).toBe(200);
    expect(res.body).toEqual(view('t-1'));
    const unknown = await request(api).get('/status/t-2');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe(ErrorCode.TASK_NOT_FOUND);
    expect(ops.lookups).toEqual(['/tasks/t-1 -', '/tasks/t-2 -']);
    expect(broker.queries).toBe(0);
    const metrics = await request(api).get('/metrics');
    expect(metrics.text).toContain('sje_executor_status_reads_total{source="ops"} 2');
  });

  it('asks the broker when no ops endpoint answers, and skips the silent one for the next reads', async () => {
    const broker = new AbsentBroker(true, (ids) => ids.map((id) => (id === 't-1' ? view(id) : null)));
    const api = app(broker, ['http://127.0.0.1:1'], '', 'ops_first');
    const res = await request(api).get('/status/t-1');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('running');
    expect(broker.queries).toBe(1);
    expect((await request(api).get('/status/t-2')).status).toBe(404);
    expect(broker.queries).toBe(2);
  });

  it('answers 503 when neither the ops endpoints nor the broker answer, asking each ops endpoint once', async () => {
    const ops = await opsEndpoint([]);
    const standby = createServer((req, res) => {
      ops.lookups.push(`standby ${req.url ?? ''}`);
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: ErrorCode.TASK_MANAGER_UNAVAILABLE, message: 'standby' } }));
    });
    servers.push(standby);
    await new Promise<void>((resolve) => standby.listen(0, '127.0.0.1', () => resolve()));
    const standbyUrl = `http://127.0.0.1:${(standby.address() as AddressInfo).port}`;
    const res = await request(app(new AbsentBroker(false), [standbyUrl], '', 'ops_first')).get('/status/t-1');
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe(ErrorCode.BROKER_UNAVAILABLE);
    expect(ops.lookups).toEqual(['standby /tasks/t-1']);
  });
});
