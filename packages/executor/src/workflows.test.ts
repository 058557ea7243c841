import { describe, expect, it } from 'vitest';
import request from 'supertest';
import { Registry } from 'prom-client';
import {
  ConfigError,
  createLogger,
  createTopology,
  loadConfig,
  PluginHost,
  validators,
  type ApprovalReply,
  type SjeConfig,
  type SubmitCommand,
  type TaskManagerQuery,
  type TaskView,
  type Validator,
  type WorkflowView,
} from '@sje/core';
import type { BrokerPort } from './app-deps.js';
import { createApp } from './app.js';
import { createExecutor } from './executor.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface ErrorBody {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/** The error of an error answer. */
function errorOf(res: request.Response): ErrorBody {
  return (res.body as { error: ErrorBody }).error;
}

/** The body of a successful answer, as the given type. */
function bodyOf<T>(res: request.Response): T {
  return res.body as T;
}

type Batch = { workflow_id: string; tasks: { task_id: string; status: string }[] };

/** Plays the broker and the task-manager's workflow queries in memory. */
class FakeBroker implements BrokerPort {
  connected = true;
  readonly topology = createTopology({ prefix: 'unit' });
  readonly published: unknown[] = [];
  readonly queries: TaskManagerQuery[] = [];
  readonly workflows = new Map<string, WorkflowView>();
  readonly tasks = new Map<string, TaskView>();
  /** Workflows cancelled through `cancel_workflow`. */
  readonly cancelled: string[] = [];

  async publish(_exchange: string, _routingKey: string, body: unknown): Promise<void> {
    this.published.push(JSON.parse(JSON.stringify(body)) as unknown);
  }

  async request<T>(_routingKey: string, body: unknown, validate: Validator<T>): Promise<T> {
    const query = validators.query(body);
    if (!query.ok) throw new Error(`invalid query: ${query.reason}`);
    const q = query.value;
    this.queries.push(q);
    let reply: unknown;
    switch (q.type) {
      case 'get_tasks':
        reply = { type: 'tasks', tasks: q.task_ids.map((id) => this.tasks.get(id) ?? null) };
        break;
      case 'cancel_task':
        reply = { type: 'cancel_result', task: this.tasks.get(q.task_id) ?? null, changed: false };
        break;
      case 'get_workflow':
        reply = { type: 'workflow', workflow: this.workflows.get(q.workflow_id) ?? null };
        break;
      case 'cancel_workflow': {
        const wf = this.workflows.get(q.workflow_id);
        if (wf) {
          this.cancelled.push(q.workflow_id);
          wf.status = 'cancelled';
        }
        reply = { type: 'workflow', workflow: wf ?? null };
        break;
      }
      case 'decide_approval': {
        const task = this.tasks.get(q.task_id);
        const answer: ApprovalReply = { type: 'approval_result', task: task ?? null, changed: false };
        if (task) {
          answer.previous_status = task.status;
          if (task.status === 'waiting_approval') {
            task.status = q.approve ? 'succeeded' : 'failed';
            task.result = { approved: q.approve, comment: q.comment ?? null };
            answer.changed = true;
          }
        }
        reply = answer;
        break;
      }
      default:
        reply = { type: 'error', error: { name: 'Error', code: 'X', message: 'unexpected', retryable: false } };
    }
    const check = validate(JSON.parse(JSON.stringify(reply)));
    if (!check.ok) throw new Error(`invalid reply: ${check.reason}`);
    return check.value;
  }

  submits(): SubmitCommand[] {
    return this.published.map((p) => {
      const check = validators.command(p);
      if (!check.ok) throw new Error(`published an invalid command: ${check.reason}`);
      return check.value as SubmitCommand;
    });
  }
}

const dailyEtl = {
  description: 'numbers of a day',
  params: { date: '2024-01-01' },
  tasks: [
    { task_id: 'extract', function: 'echo', params: { date: '${params.date}' } },
    {
      task_id: 'points',
      function: 'calculate_data',
      depends_on: ['extract'],
      params: { input_data: '${params.values}' },
      scan: { offset: [0, 1] },
    },
    { task_id: 'total', function: 'sum', depends_on: ['points'], labels: { day: '${params.date}' } },
  ],
};

function setup(
  workflows: Record<string, unknown> = { daily_etl: dailyEtl },
  maxBatch = 100,
): { app: ReturnType<typeof createApp>; broker: FakeBroker } {
  const config: SjeConfig = loadConfig({ env: {}, overrides: { executor: { max_batch: maxBatch } } });
  config.workflows = workflows;
  const logger = createLogger({ service: 'executor', silent: true });
  const metrics = new Registry();
  const plugins = new PluginHost({ service: 'executor', logger, metrics, config });
  const broker = new FakeBroker();
  return { app: createApp({ config, logger, broker, plugins, metrics }), broker };
}

function view(task_id: string, extra: Partial<TaskView> = {}): TaskView {
  return {
    task_id,
    function: 'approval',
    kind: 'approval',
    queue: 'default',
    priority: 0,
    status: 'waiting_approval',
    attempt: 0,
    params: {},
    depends_on: [],
    labels: {},
    created_at: '2026-01-01T00:00:00.000Z',
    history: [],
    ...extra,
  };
}

function workflowView(id: string): WorkflowView {
  return {
    workflow_id: id,
    status: 'running',
    counts: { running: 1 },
    total: 1,
    tasks: [{ task_id: `${id}.a`, function: 'echo', status: 'running', attempt: 1, depends_on: [] }],
    edges: [],
    created_at: '2026-01-01T00:00:00.000Z',
  };
}

describe('POST /submit with a template', () => {
  it('publishes one command carrying the template, with ids prefixed by the new workflow id and the scan expanded', async () => {
    const { app, broker } = setup();
    const res = await request(app)
      .post('/submit')
      .send({ workflow: 'daily_etl', params: { date: '2024-05-01', values: [1, 2] } });
    expect(res.status).toBe(201);
    const wf = bodyOf<Batch>(res).workflow_id;
    expect(wf).toMatch(UUID_V7);
    const ids = [`${wf}.extract`, `${wf}.points.0`, `${wf}.points.1`, `${wf}.total`];
    expect(bodyOf<Batch>(res).tasks).toEqual(ids.map((task_id, i) => ({ task_id, status: i === 0 ? 'queued' : 'pending' })));
    const [cmd] = broker.submits();
    expect(cmd).toMatchObject({ workflow_id: wf, template: 'daily_etl' });
    expect(cmd!.tasks.map((t) => [t.task_id, t.depends_on])).toEqual([
      [ids[0], []],
      [ids[1], [ids[0]]],
      [ids[2], [ids[0]]],
      [ids[3], [ids[1], ids[2]]],
    ]);
    expect(cmd!.tasks[0]!.params).toEqual({ date: '2024-05-01' });
    expect(cmd!.tasks[2]!.params).toEqual({ input_data: [1, 2], offset: 1 });
    expect(cmd!.tasks[3]!.labels).toEqual({ day: '2024-05-01' });
    // A second submit is a new, independent workflow.
    const again = await request(app)
      .post('/submit')
      .send({ workflow: 'daily_etl', params: { values: [3] } });
    expect(again.status).toBe(201);
    expect(bodyOf<Batch>(again).workflow_id).not.toBe(wf);
    expect(broker.submits()[1]!.tasks[0]!.params).toEqual({ date: '2024-01-01' });
  });

  it('answers 404 for an unknown template and 400 for a missing param, an unknown param or another key', async () => {
    const { app, broker } = setup();
    const unknown = await request(app).post('/submit').send({ workflow: 'nightly' });
    expect(unknown.status).toBe(404);
    expect(errorOf(unknown).code).toBe('SJE_ERR_TEMPLATE_NOT_FOUND');
    const missing = await request(app).post('/submit').send({ workflow: 'daily_etl' });
    expect(missing.status).toBe(400);
    expect(errorOf(missing).details?.['field']).toBe('params.values');
    expect(errorOf(missing).message).toContain('params.values');
    const typo = await request(app)
      .post('/submit')
      .send({ workflow: 'daily_etl', params: { values: [1], dat: 'x' } });
    expect(typo.status).toBe(400);
    expect(errorOf(typo).details?.['field']).toBe('params.dat');
    const extra = await request(app)
      .post('/submit')
      .send({ workflow: 'daily_etl', params: { values: [1] }, priority: 3 });
    expect(extra.status).toBe(400);
    expect(errorOf(extra).details?.['field']).toBe('priority');
    expect(broker.published).toEqual([]);
  });

  it('counts a template scan against max_batch', async () => {
    const { app, broker } = setup({ daily_etl: dailyEtl }, 3);
    const res = await request(app)
      .post('/submit')
      .send({ workflow: 'daily_etl', params: { values: [1] } });
    expect(res.status).toBe(413);
    expect(errorOf(res).code).toBe('SJE_ERR_BATCH_TOO_LARGE');
    expect(broker.published).toEqual([]);
  });

  it('refuses to build an app, and createExecutor refuses to start, with an invalid template', async () => {
    const bad = {
      tasks: [
        { task_id: 'a', function: 'f', depends_on: ['b'] },
        { task_id: 'b', function: 'f', depends_on: ['a'] },
      ],
    };
    expect(() => setup({ loop: bad })).toThrow(ConfigError);
    const config = loadConfig({ env: {} });
    config.workflows = { loop: bad };
    await expect(createExecutor({ config, logger: createLogger({ service: 'executor', silent: true }), port: 0 })).rejects.toThrow(
      /workflows\.loop: dependency cycle a -> b -> a/,
    );
  });
});

describe('POST /submit with a scan', () => {
  it('turns one task with a scan into a workflow of its points', async () => {
    const { app, broker } = setup();
    const res = await request(app)
      .post('/submit')
      .send({ task_id: 'sweep', function: 'fib', scan: { n: [10, 20, 30] } });
    expect(res.status).toBe(201);
    expect(bodyOf<Batch>(res).workflow_id).toMatch(UUID_V7);
    expect(bodyOf<Batch>(res).tasks).toEqual([0, 1, 2].map((i) => ({ task_id: `sweep.${i}`, status: 'queued' })));
    const [cmd] = broker.submits();
    expect(cmd!.tasks.map((t) => t.params['n'])).toEqual([10, 20, 30]);
    expect(cmd!.tasks.map((t) => t.labels['scan_index'])).toEqual(['0', '1', '2']);
  });

  it('answers a repeated scan with a client id with the earlier workflow (200), without publishing again', async () => {
    const { app, broker } = setup();
    const body = { task_id: 'sweep', function: 'fib', scan: { n: [1, 2] } };
    const first = await request(app).post('/submit').send(body);
    expect(first.status).toBe(201);
    const again = await request(app).post('/submit').send(body);
    expect(again.status).toBe(200);
    expect(bodyOf<Batch>(again).workflow_id).toBe(bodyOf<Batch>(first).workflow_id);
    expect(broker.submits()).toHaveLength(1);
    const changed = await request(app)
      .post('/submit')
      .send({ ...body, scan: { n: [1, 3] } });
    expect(changed.status).toBe(409);
  });
});

describe('workflow routes', () => {
  it('GET /workflows/:id answers the view, 404 when unknown, 400 for a bad id', async () => {
    const { app, broker } = setup();
    broker.workflows.set('wf-1', workflowView('wf-1'));
    const ok = await request(app).get('/workflows/wf-1');
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual(workflowView('wf-1'));
    const missing = await request(app).get('/workflows/wf-2');
    expect(missing.status).toBe(404);
    expect(errorOf(missing).code).toBe('SJE_ERR_WORKFLOW_NOT_FOUND');
    expect((await request(app).get('/workflows/a%20b')).status).toBe(400);
    expect((await request(app).delete('/workflows/wf-1')).status).toBe(405);
  });

  it('POST /workflows/:id/cancel cancels and answers the view; 404 when unknown', async () => {
    const { app, broker } = setup();
    broker.workflows.set('wf-1', workflowView('wf-1'));
    const res = await request(app).post('/workflows/wf-1/cancel');
    expect(res.status).toBe(200);
    expect(bodyOf<WorkflowView>(res).status).toBe('cancelled');
    expect(broker.cancelled).toEqual(['wf-1']);
    expect(errorOf(await request(app).post('/workflows/nope/cancel')).code).toBe('SJE_ERR_WORKFLOW_NOT_FOUND');
  });

  it('POST /cancel/:id cancels a workflow when no task has the id, else answers 404 TASK_NOT_FOUND', async () => {
    const { app, broker } = setup();
    broker.workflows.set('wf-1', workflowView('wf-1'));
    const res = await request(app).post('/cancel/wf-1');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ workflow_id: 'wf-1', status: 'cancelled' });
    expect(broker.queries.map((q) => q.type)).toEqual(['cancel_task', 'cancel_workflow']);
    const none = await request(app).post('/cancel/nothing');
    expect(none.status).toBe(404);
    expect(errorOf(none).code).toBe('SJE_ERR_TASK_NOT_FOUND');
  });
});

describe('approval routes', () => {
  it('approves with an optional comment and rejects, answering the new status', async () => {
    const { app, broker } = setup();
    broker.tasks.set('gate', view('gate'));
    broker.tasks.set('gate2', view('gate2'));
    const ok = await request(app).post('/approve/gate').send({ comment: 'looks right' });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ task_id: 'gate', status: 'succeeded' });
    expect(broker.queries.at(-1)).toEqual({ type: 'decide_approval', task_id: 'gate', approve: true, comment: 'looks right' });
    const no = await request(app).post('/reject/gate2');
    expect(no.status).toBe(200);
    expect(no.body).toEqual({ task_id: 'gate2', status: 'failed' });
    expect(broker.queries.at(-1)).toEqual({ type: 'decide_approval', task_id: 'gate2', approve: false });
  });

  it('answers 409 when the task is not waiting for approval, 404 when unknown', async () => {
    const { app, broker } = setup();
    broker.tasks.set('done', view('done', { status: 'succeeded' }));
    const late = await request(app).post('/approve/done');
    expect(late.status).toBe(409);
    expect(errorOf(late).code).toBe('SJE_ERR_NOT_WAITING_APPROVAL');
    expect(errorOf(late).details).toEqual({ task_id: 'done', status: 'succeeded' });
    const unknown = await request(app).post('/reject/ghost');
    expect(unknown.status).toBe(404);
    expect(errorOf(unknown).code).toBe('SJE_ERR_TASK_NOT_FOUND');
  });

  it('refuses a body that is not { comment }', async () => {
    const { app, broker } = setup();
    broker.tasks.set('gate', view('gate'));
    expect(errorOf(await request(app).post('/approve/gate').send({ note: 'x' })).details?.['field']).toBe('note');
    expect(errorOf(await request(app).post('/approve/gate').send({ comment: 5 })).details?.['field']).toBe('comment');
    expect((await request(app).post('/approve/gate').set('content-type', 'text/plain').send('ok')).status).toBe(415);
    expect(broker.queries).toEqual([]);
    expect(broker.tasks.get('gate')!.status).toBe('waiting_approval');
  });
});
