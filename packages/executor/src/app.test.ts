import { describe, expect, it } from 'vitest';
import request from 'supertest';
import { Registry } from 'prom-client';
import {
  BrokerUnavailableError,
  createLogger,
  createTopology,
  ErrorCode,
  loadConfig,
  PluginHost,
  SjeError,
  validators,
  type CancelTaskReply,
  type DeepPartial,
  type SjeConfig,
  type SjePlugin,
  type SubmitCommand,
  type TaskManagerQuery,
  type TaskView,
  type Validator,
} from '@sje/core';
import type { BrokerPort } from './app-deps.js';
import { createApp } from './app.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Plays the broker and the task-manager's query side in memory. */
class FakeBroker implements BrokerPort {
  connected = true;
  readonly topology = createTopology({ prefix: 'unit' });
  readonly published: { exchange: string; routingKey: string; body: unknown }[] = [];
  /** Tasks the task-manager knows. */
  readonly tasks = new Map<string, TaskView>();
  /** The task-manager does not answer (the real broker raises this after the query timeout). */
  taskManagerSilent = false;
  /** The broker never confirms publishes. */
  withholdConfirms = false;
  readonly queries: TaskManagerQuery[] = [];
  cancelReply: (taskId: string) => CancelTaskReply = () => ({ type: 'cancel_result', task: null, changed: false });

  async publish(exchange: string, routingKey: string, body: unknown): Promise<void> {
    if (!this.connected) throw new BrokerUnavailableError();
    if (this.withholdConfirms) return await new Promise<void>(() => undefined);
    // What the real broker carries is JSON text.
    this.published.push({ exchange, routingKey, body: JSON.parse(JSON.stringify(body)) as unknown });
  }

  async request<T>(routingKey: string, body: unknown, validate: Validator<T>): Promise<T> {
    if (!this.connected) throw new BrokerUnavailableError();
    expect(routingKey).toBe(this.topology.routingKeys.query);
    const query = validators.query(body);
    if (!query.ok) throw new Error(`invalid query: ${query.reason}`);
    this.queries.push(query.value);
    if (this.taskManagerSilent) throw new SjeError(ErrorCode.TASK_MANAGER_UNAVAILABLE, 'no answer from the task-manager', { retryable: true });
    const reply =
      query.value.type === 'get_tasks'
        ? { type: 'tasks', tasks: query.value.task_ids.map((id) => this.tasks.get(id) ?? null) }
        : query.value.type === 'cancel_task'
          ? this.cancelReply(query.value.task_id)
          : query.value.type === 'cancel_workflow'
            ? { type: 'workflow', workflow: null }
            : { type: 'error', error: { name: 'Error', code: 'X', message: 'unexpected', retryable: false } };
    const check = validate(JSON.parse(JSON.stringify(reply)));
    if (!check.ok) throw new Error(`invalid reply: ${check.reason}`);
    return check.value;
  }

  submits(): SubmitCommand[] {
    return this.published.map((p) => {
      expect(p.exchange).toBe(this.topology.exchanges.commands);
      expect(p.routingKey).toBe(this.topology.routingKeys.command);
      const check = validators.command(p.body);
      if (!check.ok) throw new Error(`published an invalid command: ${check.reason}`);
      return check.value as SubmitCommand;
    });
  }
}

function view(task_id: string, extra: Partial<TaskView> = {}): TaskView {
  return {
    task_id,
    function: 'resize',
    queue: 'default',
    priority: 0,
    status: 'running',
    attempt: 1,
    params: { size: 10 },
    depends_on: [],
    labels: {},
    created_at: '2026-01-01T00:00:00.000Z',
    history: [{ status: 'pending', at: '2026-01-01T00:00:00.000Z', attempt: 0 }],
    ...extra,
  };
}

interface Setup {
  broker: FakeBroker;
  app: ReturnType<typeof createApp>;
  metrics: Registry;
  shutdown: { value: boolean };
  hooks: string[];
}

async function setup(options: { config?: DeepPartial<SjeConfig>; plugins?: SjePlugin[] } = {}): Promise<Setup> {
  const config = loadConfig({ env: {}, overrides: { executor: { publish_timeout_ms: 200, retry_after_s: 7 }, ...options.config } });
  const logger = createLogger({ service: 'executor', silent: true });
  const metrics = new Registry();
  const plugins = new PluginHost({ service: 'executor', logger, metrics, config });
  const hooks: string[] = [];
  const recorder: SjePlugin = {
    name: 'recorder',
    hooks: {
      beforeSubmit: ({ tasks }) => void hooks.push(`before:${tasks.map((t) => t.task_id).join(',')}`),
      afterSubmit: ({ tasks }) => void hooks.push(`after:${tasks.map((t) => t.task_id).join(',')}`),
    },
  };
  await plugins.register(recorder);
  for (const plugin of options.plugins ?? []) await plugins.register(plugin);
  const broker = new FakeBroker();
  const shutdown = { value: false };
  const app = createApp({ config, logger, broker, plugins, metrics, isShuttingDown: () => shutdown.value });
  return { broker, app, metrics, shutdown, hooks };
}

function expectError(res: request.Response, status: number, code: string): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.body.error.code).toBe(code);
  expect(typeof res.body.error.message).toBe('string');
  expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts:\d+/);
}

describe('POST /submit, one task', () => {
  it('publishes one submit command with defaults filled and answers 201 queued', async () => {
    const { app, broker, hooks } = await setup();
    const res = await request(app).post('/submit').send({ function: 'resize', params: { size: 10 } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ task_id: expect.stringMatching(UUID_V7), status: 'queued' });
    const [cmd, ...rest] = broker.submits();
    expect(rest).toEqual([]);
    expect(cmd!.workflow_id).toBeUndefined();
    expect(cmd!.tasks).toEqual([{ task_id: res.body.task_id, function: 'resize', params: { size: 10 }, queue: 'default', priority: 0, depends_on: [], labels: {} }]);
    expect(hooks).toEqual([`before:${res.body.task_id}`, `after:${res.body.task_id}`]);
    // No client id and no dependency: nothing to ask the task-manager.
    expect(broker.queries).toEqual([]);
  });

  it('answers pending for a delayed task and for one with known dependencies', async () => {
    const { app, broker } = await setup();
    expect((await request(app).post('/submit').send({ function: 'f', delay_ms: 1000 })).body.status).toBe('pending');
    broker.tasks.set('dep-1', view('dep-1'));
    const res = await request(app).post('/submit').send({ function: 'f', depends_on: ['dep-1'] });
    expect(res.status).toBe(201);
    expect(res.body.status).toBe('pending');
  });

  it('refuses an unknown dependency, naming it', async () => {
    const { app, broker } = await setup();
    const res = await request(app).post('/submit').send({ function: 'f', depends_on: ['ghost'] });
    expectError(res, 400, ErrorCode.UNKNOWN_DEPENDENCY);
    expect(res.body.error.message).toContain('ghost');
    expect(res.body.error.details.dependency).toBe('ghost');
    expect(broker.published).toEqual([]);
  });

  it('refuses a self-dependency as a cycle', async () => {
    const { app } = await setup();
    const res = await request(app).post('/submit').send({ task_id: 'me', function: 'f', depends_on: ['me'] });
    expectError(res, 400, ErrorCode.DEPENDENCY_CYCLE);
    expect(res.body.error.details.cycle).toEqual(['me', 'me']);
  });

  it('answers schema errors with the field', async () => {
    const { app } = await setup();
    const res = await request(app).post('/submit').send({ function: 'f', priority: 10 });
    expectError(res, 400, ErrorCode.VALIDATION);
    expect(res.body.error.details.field).toBe('priority');
  });
});

describe('POST /submit, idempotency', () => {
  it('answers 200 with the existing task when the same spec is resubmitted', async () => {
    const { app, broker } = await setup();
    broker.tasks.set('job-1', view('job-1', { status: 'running' }));
    const res = await request(app).post('/submit').send({ task_id: 'job-1', function: 'resize', params: { size: 10 } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ task_id: 'job-1', status: 'running' });
    expect(broker.published).toEqual([]);
    expect(broker.queries).toEqual([{ type: 'get_tasks', task_ids: ['job-1'] }]);
  });

  it('answers 409 when the id exists with another spec', async () => {
    const { app, broker } = await setup();
    broker.tasks.set('job-1', view('job-1'));
    const res = await request(app).post('/submit').send({ task_id: 'job-1', function: 'resize', params: { size: 11 } });
    expectError(res, 409, ErrorCode.TASK_ID_CONFLICT);
    expect(res.body.error.details).toEqual({ task_id: 'job-1', fields: ['params'] });
    expect(broker.published).toEqual([]);
  });

  it('recognises a resubmission the task-manager has not recorded yet', async () => {
    const { app, broker } = await setup();
    const first = await request(app).post('/submit').send({ task_id: 'fresh', function: 'f', params: { a: 1 } });
    expect(first.status).toBe(201);
    const again = await request(app).post('/submit').send({ task_id: 'fresh', function: 'f', params: { a: 1 } });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ task_id: 'fresh', status: 'pending' });
    const other = await request(app).post('/submit').send({ task_id: 'fresh', function: 'f', params: { a: 2 } });
    expectError(other, 409, ErrorCode.TASK_ID_CONFLICT);
    expect(broker.published).toHaveLength(1);
  });

  it('asks to retry when an id it generated is named before the task-manager recorded it', async () => {
    const { app, broker } = await setup();
    const first = await request(app).post('/submit').send({ function: 'f', params: { a: 1 } });
    expect(first.status).toBe(201);
    const id = first.body.task_id as string;
    const early = await request(app).post('/submit').send({ task_id: id, function: 'f', params: { a: 1 } });
    expectError(early, 503, ErrorCode.TASK_MANAGER_UNAVAILABLE);
    expect(early.headers['retry-after']).toBe('7');
    expect(early.body.error.details).toEqual({ task_id: id });
    broker.tasks.set(id, view(id, { function: 'f', params: { a: 1 }, status: 'queued' }));
    const later = await request(app).post('/submit').send({ task_id: id, function: 'f', params: { a: 1 } });
    expect(later.status).toBe(200);
    expect(later.body).toEqual({ task_id: id, status: 'queued' });
    expect(broker.published).toHaveLength(1);
  });

  it('accepts when the task-manager does not answer in time', async () => {
    const { app, broker } = await setup();
    broker.taskManagerSilent = true;
    const res = await request(app).post('/submit').send({ task_id: 'job-2', function: 'f' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ task_id: 'job-2', status: 'queued' });
    expect(broker.submits()[0]!.tasks[0]!.task_id).toBe('job-2');
  });

  it('answers 503 when dependencies cannot be checked because the task-manager is silent', async () => {
    const { app, broker } = await setup();
    broker.taskManagerSilent = true;
    const res = await request(app).post('/submit').send({ function: 'f', depends_on: ['elsewhere'] });
    expectError(res, 503, ErrorCode.TASK_MANAGER_UNAVAILABLE);
    expect(res.headers['retry-after']).toBe('7');
    expect(broker.published).toEqual([]);
  });
});

describe('POST /submit, batch', () => {
  it('publishes one command for the whole workflow and answers every task', async () => {
    const { app, broker } = await setup();
    broker.tasks.set('old', view('old', { status: 'succeeded' }));
    const res = await request(app)
      .post('/submit')
      .send({ tasks: [{ task_id: 'a', function: 'f' }, { task_id: 'b', function: 'g', depends_on: ['a', 'old'] }, { function: 'h', depends_on: ['b'] }] });
    expect(res.status).toBe(201);
    expect(res.body.workflow_id).toMatch(UUID_V7);
    expect(res.body.tasks).toEqual([
      { task_id: 'a', status: 'queued' },
      { task_id: 'b', status: 'pending' },
      { task_id: expect.stringMatching(UUID_V7), status: 'pending' },
    ]);
    const [cmd, ...rest] = broker.submits();
    expect(rest).toEqual([]);
    expect(cmd!.workflow_id).toBe(res.body.workflow_id);
    expect(cmd!.tasks.map((t) => t.task_id)).toEqual(res.body.tasks.map((t: { task_id: string }) => t.task_id));
    expect(broker.queries).toEqual([{ type: 'get_tasks', task_ids: ['a', 'b', 'old'] }]);
  });

  it('refuses a cycle with its path', async () => {
    const { app, broker } = await setup();
    const res = await request(app)
      .post('/submit')
      .send({ tasks: [{ task_id: 'x', function: 'f', depends_on: ['z'] }, { task_id: 'y', function: 'f', depends_on: ['x'] }, { task_id: 'z', function: 'f', depends_on: ['y'] }] });
    expectError(res, 400, ErrorCode.DEPENDENCY_CYCLE);
    expect(res.body.error.details.cycle).toEqual(['x', 'z', 'y', 'x']);
    expect(res.body.error.message).toContain('x -> z -> y -> x');
    expect(broker.published).toEqual([]);
  });

  it('prefixes schema errors with tasks[i]. and refuses duplicate ids and extra keys', async () => {
    const { app } = await setup();
    const bad = await request(app).post('/submit').send({ tasks: [{ function: 'f' }, { function: 'f', queue: 'no spaces' }] });
    expectError(bad, 400, ErrorCode.VALIDATION);
    expect(bad.body.error.details.field).toBe('tasks[1].queue');
    const dup = await request(app).post('/submit').send({ tasks: [{ task_id: 'd', function: 'f' }, { task_id: 'd', function: 'f' }] });
    expect(dup.body.error.details.field).toBe('tasks[1].task_id');
    const extra = await request(app).post('/submit').send({ tasks: [{ function: 'f' }], workflow: 'w' });
    expectError(extra, 400, ErrorCode.VALIDATION);
    expect(extra.body.error.details.field).toBe('workflow');
  });

  it('answers 413 BATCH_TOO_LARGE over max_batch', async () => {
    const { app } = await setup({ config: { executor: { max_batch: 2 } } });
    const res = await request(app).post('/submit').send({ tasks: [{ function: 'f' }, { function: 'f' }, { function: 'f' }] });
    expectError(res, 413, ErrorCode.BATCH_TOO_LARGE);
  });

  it('answers 200 with the workflow when the whole batch exists identically, 409 when only part of it does', async () => {
    const { app, broker } = await setup();
    broker.tasks.set('p', view('p', { function: 'f', params: {}, status: 'succeeded', workflow_id: 'wf-1' }));
    broker.tasks.set('q', view('q', { function: 'f', params: {}, depends_on: ['p'], status: 'queued', workflow_id: 'wf-1' }));
    const same = await request(app).post('/submit').send({ tasks: [{ task_id: 'p', function: 'f' }, { task_id: 'q', function: 'f', depends_on: ['p'] }] });
    expect(same.status).toBe(200);
    expect(same.body).toEqual({ workflow_id: 'wf-1', tasks: [{ task_id: 'p', status: 'succeeded' }, { task_id: 'q', status: 'queued' }] });
    const partial = await request(app).post('/submit').send({ tasks: [{ task_id: 'p', function: 'f' }, { task_id: 'new', function: 'f' }] });
    expectError(partial, 409, ErrorCode.TASK_ID_CONFLICT);
    expect(partial.body.error.details.existing).toEqual(['p']);
    expect(broker.published).toEqual([]);
  });
});

describe('POST /submit, failures', () => {
  it('answers 503 with Retry-After at once when the broker is not connected', async () => {
    const { app, broker } = await setup();
    broker.connected = false;
    const started = Date.now();
    const res = await request(app).post('/submit').send({ task_id: 'k', function: 'f' });
    expectError(res, 503, ErrorCode.BROKER_UNAVAILABLE);
    expect(res.headers['retry-after']).toBe('7');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('answers 503 when the broker does not confirm within publish_timeout_ms', async () => {
    const { app, broker } = await setup();
    broker.withholdConfirms = true;
    const res = await request(app).post('/submit').send({ function: 'f' });
    expectError(res, 503, ErrorCode.BROKER_UNAVAILABLE);
    expect(res.headers['retry-after']).toBe('7');
  });

  it('answers 400 with the code of a beforeSubmit veto and publishes nothing', async () => {
    const veto: SjePlugin = {
      name: 'quota',
      hooks: {
        beforeSubmit: ({ tasks }) => {
          if (tasks.some((t) => t.queue === 'gpu')) throw new SjeError('ACME_QUOTA_EXCEEDED', 'gpu quota exceeded', { data: { queue: 'gpu' } });
        },
      },
    };
    const { app, broker } = await setup({ plugins: [veto] });
    const res = await request(app).post('/submit').send({ function: 'f', queue: 'gpu' });
    expectError(res, 400, 'ACME_QUOTA_EXCEEDED');
    expect(res.body.error).toEqual({ code: 'ACME_QUOTA_EXCEEDED', message: 'gpu quota exceeded', details: { queue: 'gpu' } });
    expect(broker.published).toEqual([]);
    expect((await request(app).post('/submit').send({ function: 'f' })).status).toBe(201);
  });

  it('hides a hook bug behind a 500', async () => {
    const buggy: SjePlugin = { name: 'buggy', hooks: { beforeSubmit: () => { throw new TypeError('cannot read x of undefined'); } } };
    const { app } = await setup({ plugins: [buggy] });
    const res = await request(app).post('/submit').send({ function: 'f' });
    expectError(res, 500, ErrorCode.INTERNAL);
    expect(res.body.error.message).toBe('internal error');
  });

  it('answers malformed JSON, wrong media type and oversize bodies with JSON errors', async () => {
    const { app } = await setup({ config: { executor: { body_limit: 200 } } });
    expectError(await request(app).post('/submit').set('content-type', 'application/json').send('{"function": '), 400, ErrorCode.INVALID_JSON);
    expectError(await request(app).post('/submit').set('content-type', 'application/json').send(''), 400, ErrorCode.INVALID_JSON);
    expectError(await request(app).post('/submit').set('content-type', 'text/plain').send('{"function":"f"}'), 415, ErrorCode.UNSUPPORTED_MEDIA_TYPE);
    expectError(await request(app).post('/submit').set('content-type', 'application/json; charset=latin1').send('{"function":"f"}'), 415, ErrorCode.UNSUPPORTED_MEDIA_TYPE);
    expectError(await request(app).post('/submit').send({ function: 'f', params: { blob: 'x'.repeat(300) } }), 413, ErrorCode.PAYLOAD_TOO_LARGE);
    expect((await request(app).post('/submit').set('content-type', 'application/vnd.acme+json').send('{"function":"f"}')).status).toBe(201);
  });

  it('never lets __proto__ pollute prototypes and carries it in params as data', async () => {
    const { app, broker } = await setup();
    const top = await request(app).post('/submit').set('content-type', 'application/json').send('{"function":"f","__proto__":{"polluted":1}}');
    expectError(top, 400, ErrorCode.VALIDATION);
    expect(top.body.error.details.field).toBe('__proto__');
    const inner = await request(app)
      .post('/submit')
      .set('content-type', 'application/json')
      .send('{"function":"f","params":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}}},"labels":{"__proto__":"x"}}');
    expect(inner.status).toBe(201);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    const raw = JSON.stringify(broker.published[0]!.body);
    expect(raw).toContain('"params":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}}}');
    expect(raw).toContain('"labels":{"__proto__":"x"}');
  });
});

describe('GET /status/:task_id', () => {
  it('returns the task-manager view', async () => {
    const { app, broker } = await setup();
    const stored = view('t-1', { status: 'succeeded', result: { ok: true }, queue_wait_ms: 5, run_ms: 12, worker: { id: 'w1', host: 'h' } });
    broker.tasks.set('t-1', stored);
    const res = await request(app).get('/status/t-1');
    expect(res.status).toBe(200);
    expect(res.body).toEqual(stored);
  });

  it('refuses an invalid id without asking anyone', async () => {
    const { app, broker } = await setup();
    const res = await request(app).get('/status/..%2Fetc%2Fpasswd');
    expectError(res, 400, ErrorCode.VALIDATION);
    expect(broker.queries).toEqual([]);
    expectError(await request(app).get('/status/%E0%A4%A'), 400, ErrorCode.VALIDATION);
  });

  it('answers 404 for an unknown task, but "accepted" for one this executor just accepted', async () => {
    const { app } = await setup();
    expectError(await request(app).get('/status/nobody'), 404, ErrorCode.TASK_NOT_FOUND);
    const sub = await request(app).post('/submit').send({ function: 'resize' });
    const res = await request(app).get(`/status/${sub.body.task_id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ task_id: sub.body.task_id, function: 'resize', status: 'pending', attempt: 0, accepted: true });
  });

  it('answers 503 with Retry-After when the task-manager is silent', async () => {
    const { app, broker } = await setup();
    broker.taskManagerSilent = true;
    const res = await request(app).get('/status/t-1');
    expectError(res, 503, ErrorCode.TASK_MANAGER_UNAVAILABLE);
    expect(res.headers['retry-after']).toBe('7');
  });
});

describe('POST /cancel/:task_id', () => {
  it('answers the new status, 409 for a final task and 404 for an unknown one', async () => {
    const { app, broker } = await setup();
    broker.cancelReply = (id) =>
      id === 'live'
        ? { type: 'cancel_result', task: view('live', { status: 'cancelled' }), previous_status: 'running', changed: true }
        : id === 'done'
          ? { type: 'cancel_result', task: view('done', { status: 'succeeded' }), previous_status: 'succeeded', changed: false }
          : { type: 'cancel_result', task: null, changed: false };
    const ok = await request(app).post('/cancel/live');
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ task_id: 'live', status: 'cancelled' });
    const final = await request(app).post('/cancel/done');
    expectError(final, 409, ErrorCode.TASK_ALREADY_FINAL);
    expect(final.body.error.details.status).toBe('succeeded');
    expectError(await request(app).post('/cancel/ghost'), 404, ErrorCode.TASK_NOT_FOUND);
    // An id no task has is tried as a workflow id before the 404.
    expect(broker.queries.map((q) => q.type)).toEqual(['cancel_task', 'cancel_task', 'cancel_task', 'cancel_workflow']);
  });

  it('queues a cancel command behind the submit of a task not recorded yet', async () => {
    const { app, broker } = await setup();
    const sub = await request(app).post('/submit').send({ function: 'f' });
    const res = await request(app).post(`/cancel/${sub.body.task_id}`);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ task_id: sub.body.task_id, cancel_requested: true });
    const cancel = broker.published[1]!.body as { type: string; task_id: string };
    expect(validators.command(cancel).ok).toBe(true);
    expect(cancel).toMatchObject({ type: 'cancel', task_id: sub.body.task_id });
  });
});

describe('ops routes and routing', () => {
  it('serves healthz, readyz and metrics', async () => {
    const { app, broker, shutdown } = await setup();
    expect((await request(app).get('/healthz')).body).toEqual({ status: 'ok' });
    expect((await request(app).get('/readyz')).status).toBe(200);
    broker.connected = false;
    const notReady = await request(app).get('/readyz');
    expect(notReady.status).toBe(503);
    expect(notReady.body).toEqual({ status: 'not_ready', checks: { broker: false, shutting_down: false } });
    broker.connected = true;
    shutdown.value = true;
    expect((await request(app).get('/readyz')).body.checks.shutting_down).toBe(true);
    const metrics = await request(app).get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('sje_executor_http_requests_total{method="GET",route="/readyz",status="503"} 2');
  });

  it('counts accepted tasks', async () => {
    const { app, metrics } = await setup();
    await request(app).post('/submit').send({ tasks: [{ function: 'f' }, { function: 'g' }] });
    expect(await metrics.getSingleMetricAsString('sje_executor_tasks_accepted_total')).toContain('sje_executor_tasks_accepted_total{kind="batch"} 2');
  });

  it('answers unknown routes with 404 and wrong methods with 405, always as JSON', async () => {
    const { app } = await setup();
    expectError(await request(app).get('/nope'), 404, ErrorCode.NOT_FOUND);
    const wrong = await request(app).get('/submit');
    expectError(wrong, 405, 'SJE_ERR_METHOD_NOT_ALLOWED');
    expect(wrong.headers['allow']).toBe('POST');
    expectError(await request(app).delete('/status/x'), 405, 'SJE_ERR_METHOD_NOT_ALLOWED');
    expectError(await request(app).get('/cancel/x'), 405, 'SJE_ERR_METHOD_NOT_ALLOWED');
  });

  it('refuses API requests with 503 while shutting down', async () => {
    const { app, shutdown } = await setup();
    shutdown.value = true;
    const res = await request(app).post('/submit').send({ function: 'f' });
    expectError(res, 503, ErrorCode.SHUTTING_DOWN);
    expect(res.headers['retry-after']).toBe('7');
    expect((await request(app).get('/healthz')).status).toBe(200);
  });
});
