/**
 * Workflows through the REST API with the three services as real processes:
 * DAGs, fan-out/fan-in, scans, templates, approval gates, failure
 * propagation, cancellation and a task-manager restart.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SjeConfig, TaskView, WorkflowTaskView, WorkflowView } from '../packages/core/src/index.js';
import type { TimedResult } from './fixtures/workflow-handlers.js';
import { http, metricValue, parsePrometheus, waitForStatus } from './helpers/http.js';
import { disposeTestConfig, REPO_ROOT, spawnService, testConfig, type SpawnedService } from './helpers/stack.js';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'workflow-handlers.ts');
const FINAL_WORKFLOW = ['succeeded', 'failed', 'cancelled', 'partially_succeeded'];

let config: SjeConfig;
let tm: SpawnedService;
let worker: SpawnedService;
let executor: SpawnedService;
let api: string;
let logDir: string;

beforeAll(async () => {
  config = await testConfig({ worker: { concurrency: 8, handlers: ['@sje/examples', FIXTURES] } });
  logDir = await mkdtemp(join(tmpdir(), 'sje-wf-log-'));
  [tm, worker, executor] = await Promise.all([
    spawnService('task-manager', config),
    spawnService('worker', config),
    spawnService('executor', config),
  ]);
  api = executor.baseUrl;
});

afterAll(async () => {
  await Promise.all([executor?.stop(), worker?.stop(), tm?.stop()]);
  if (config) await disposeTestConfig(config, ['nobody']);
  if (logDir) await rm(logDir, { recursive: true, force: true });
});

interface BatchAnswer {
  workflow_id: string;
  tasks: { task_id: string; status: string }[];
}

interface ErrorAnswer {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

interface SumResult {
  sum: number;
  count: number;
  missing: string[];
}

async function submit(body: unknown, base = api): Promise<BatchAnswer> {
  const res = await http<BatchAnswer>(`${base}/submit`, { json: body });
  if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${res.text}`);
  return res.body;
}

/** Polls `GET /workflows/:id` until the workflow is final. */
async function waitForWorkflow(id: string, timeoutMs = 30_000, base = api): Promise<WorkflowView> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const res = await http<WorkflowView>(`${base}/workflows/${encodeURIComponent(id)}`);
    last = res.body;
    if (res.status === 200 && FINAL_WORKFLOW.includes(res.body.status)) return res.body;
    if (Date.now() > deadline) throw new Error(`workflow ${id} did not finish within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function taskOf(view: WorkflowView, id: string): WorkflowTaskView {
  const t = view.tasks.find((x) => x.task_id === id);
  if (!t) throw new Error(`workflow has no task ${id}`);
  return t;
}

/** The result of a task of the workflow, as the handler returned it. */
function resultOf<T>(view: WorkflowView, id: string): T {
  return taskOf(view, id).result as T;
}

/** `GET /status/:id` for a task expected to exist. */
async function status(id: string, base = api): Promise<TaskView> {
  const res = await http<TaskView>(`${base}/status/${encodeURIComponent(id)}`);
  if (res.status !== 200) throw new Error(`status of ${id} answered ${res.status}: ${res.text}`);
  return res.body;
}

/** {@link waitForStatus}, typed. */
async function reach(id: string, statuses: string[]): Promise<TaskView> {
  return (await waitForStatus(api, id, statuses)) as TaskView;
}

function ran(task: TaskView): boolean {
  return task.history.some((h) => h.status === 'running');
}

function logLines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

async function tasksInStore(): Promise<number> {
  const res = await fetch(`${tm.baseUrl}/metrics`);
  return metricValue(parsePrometheus(await res.text()), 'sje_tasks');
}

describe('workflows', () => {
  it('runs a diamond A -> (B, C) -> D in dependency order and hands D both results', async () => {
    const p = `dia-${Date.now()}`;
    const { workflow_id } = await submit({
      tasks: [
        { task_id: `${p}-a`, function: 'timed', params: { ms: 200, value: 'a' } },
        { task_id: `${p}-b`, function: 'timed', params: { ms: 300, value: 'b' }, depends_on: [`${p}-a`] },
        { task_id: `${p}-c`, function: 'timed', params: { ms: 300, value: 'c' }, depends_on: [`${p}-a`] },
        { task_id: `${p}-d`, function: 'timed', params: { value: 'd' }, depends_on: [`${p}-b`, `${p}-c`] },
      ],
    });
    const view = await waitForWorkflow(workflow_id);
    expect(view.status).toBe('succeeded');
    expect(view.counts).toEqual({ succeeded: 4 });
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((s) => resultOf<TimedResult>(view, `${p}-${s}`)) as [
      TimedResult,
      TimedResult,
      TimedResult,
      TimedResult,
    ];
    expect(b.started_at).toBeGreaterThanOrEqual(a.ended_at);
    expect(c.started_at).toBeGreaterThanOrEqual(a.ended_at);
    expect(d.started_at).toBeGreaterThanOrEqual(Math.max(b.ended_at, c.ended_at));
    expect(Object.keys(d.deps)).toEqual([`${p}-b`, `${p}-c`]);
    expect(d.deps[`${p}-b`]).toEqual(b);
    expect(d.deps[`${p}-c`]).toEqual(c);
    expect(view.edges).toEqual(
      expect.arrayContaining([
        [`${p}-a`, `${p}-b`],
        [`${p}-a`, `${p}-c`],
        [`${p}-b`, `${p}-d`],
        [`${p}-c`, `${p}-d`],
      ]),
    );
  });

  it('fans out 200 parallel tasks and fans in with a sum of their results', async () => {
    const p = `fan-${Date.now()}`;
    const leaves = Array.from({ length: 200 }, (_, i) => ({ task_id: `${p}-${i}`, function: 'echo', params: { value: i } }));
    const { workflow_id, tasks } = await submit({
      tasks: [...leaves, { task_id: `${p}-sum`, function: 'sum', params: { field: 'value' }, depends_on: leaves.map((l) => l.task_id) }],
    });
    expect(tasks).toHaveLength(201);
    const view = await waitForWorkflow(workflow_id, 60_000);
    expect(view.status).toBe('succeeded');
    expect(view.total).toBe(201);
    expect(resultOf<SumResult>(view, `${p}-sum`)).toEqual({ sum: 19_900, count: 200, missing: [] });
  });

  it('refuses a cycle and an unknown reference with 400 and queues nothing', async () => {
    const before = await tasksInStore();
    const p = `bad-${Date.now()}`;
    const cycle = await http<ErrorAnswer>(`${api}/submit`, {
      json: {
        tasks: [
          { task_id: `${p}-x`, function: 'echo', depends_on: [`${p}-z`] },
          { task_id: `${p}-y`, function: 'echo', depends_on: [`${p}-x`] },
          { task_id: `${p}-z`, function: 'echo', depends_on: [`${p}-y`] },
        ],
      },
    });
    expect(cycle.status).toBe(400);
    expect(cycle.body.error.code).toBe('SJE_ERR_DEPENDENCY_CYCLE');
    expect(cycle.body.error.details?.['cycle']).toHaveLength(4);
    const unknown = await http<ErrorAnswer>(`${api}/submit`, {
      json: {
        tasks: [
          { task_id: `${p}-u`, function: 'echo' },
          { task_id: `${p}-v`, function: 'echo', depends_on: [`${p}-u`, `${p}-nowhere`] },
        ],
      },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('SJE_ERR_UNKNOWN_DEPENDENCY');
    expect(unknown.body.error.details?.['dependency']).toBe(`${p}-nowhere`);
    // Give a wrongly published command time to be stored, then look.
    await new Promise((r) => setTimeout(r, 500));
    for (const id of ['x', 'y', 'z', 'u', 'v']) expect((await http(`${api}/status/${p}-${id}`)).status).toBe(404);
    expect(await tasksInStore()).toBe(before);
  });

  it('skips the dependents of a failed task, leaves siblings alone, fails the workflow, and runs an all_done dependent', async () => {
    const p = `fail-${Date.now()}`;
    const { workflow_id } = await submit({
      tasks: [
        { task_id: `${p}-root`, function: 'echo', params: { n: 1 } },
        { task_id: `${p}-bad`, function: 'fail', params: { message: 'broken on purpose', retryable: false }, depends_on: [`${p}-root`] },
        { task_id: `${p}-sibling`, function: 'timed', params: { ms: 100 }, depends_on: [`${p}-root`] },
        { task_id: `${p}-after`, function: 'echo', depends_on: [`${p}-bad`] },
        { task_id: `${p}-after2`, function: 'echo', depends_on: [`${p}-after`] },
        { task_id: `${p}-cleanup`, function: 'timed', trigger_rule: 'all_done', depends_on: [`${p}-bad`, `${p}-sibling`] },
      ],
    });
    const view = await waitForWorkflow(workflow_id);
    expect(view.status).toBe('failed');
    const statusOf = (s: string): string => taskOf(view, `${p}-${s}`).status;
    expect([statusOf('root'), statusOf('bad'), statusOf('sibling'), statusOf('after'), statusOf('after2'), statusOf('cleanup')]).toEqual([
      'succeeded',
      'failed',
      'succeeded',
      'skipped',
      'skipped',
      'succeeded',
    ]);
    expect(taskOf(view, `${p}-bad`).error?.message).toBe('broken on purpose');
    const cleanup = resultOf<TimedResult>(view, `${p}-cleanup`);
    // The all_done task ran after both, and was handed the failed task's missing result as null.
    expect(cleanup.deps).toEqual({ [`${p}-bad`]: null, [`${p}-sibling`]: taskOf(view, `${p}-sibling`).result });
    expect(ran(await reach(`${p}-after`, ['skipped']))).toBe(false);
  });

  it('cancels a workflow mid-run: the running task aborts, pending ones never run', async () => {
    const p = `cxl-${Date.now()}`;
    const log = join(logDir, `${p}.log`);
    const { workflow_id } = await submit({
      tasks: [
        { task_id: `${p}-long`, function: 'timed', params: { ms: 60_000, log } },
        { task_id: `${p}-next`, function: 'timed', params: { log }, depends_on: [`${p}-long`] },
        { task_id: `${p}-last`, function: 'timed', params: { log }, trigger_rule: 'all_done', depends_on: [`${p}-next`] },
        { task_id: `${p}-parked`, function: 'timed', queue: 'nobody', params: { log } },
      ],
    });
    await reach(`${p}-long`, ['running']);
    const res = await http<WorkflowView>(`${api}/workflows/${workflow_id}/cancel`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(res.body.workflow_id).toBe(workflow_id);
    expect(res.body.status).toBe('cancelled');
    // Every task ended without running; a dependent of the cancelled task may be skipped before its own cancel comes.
    expect((res.body.counts.cancelled ?? 0) + (res.body.counts.skipped ?? 0)).toBe(4);
    expect(taskOf(res.body, `${p}-long`).status).toBe('cancelled');
    expect(taskOf(res.body, `${p}-parked`).status).toBe('cancelled');
    // The worker aborts the running handler through its signal.
    const deadline = Date.now() + 5000;
    while (!logLines(log).includes(`abort ${p}-long`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(logLines(log)).toEqual([`start ${p}-long`, `abort ${p}-long`]);
    await new Promise((r) => setTimeout(r, 500));
    expect(logLines(log)).toEqual([`start ${p}-long`, `abort ${p}-long`]);
    for (const id of ['next', 'last', 'parked']) expect(ran(await reach(`${p}-${id}`, ['cancelled', 'skipped']))).toBe(false);
    // Cancelling again changes nothing and still answers the view; /cancel/<workflow id> does the same.
    expect((await http<WorkflowView>(`${api}/workflows/${workflow_id}/cancel`, { method: 'POST' })).body.status).toBe('cancelled');
    const viaCancel = await http<WorkflowView>(`${api}/cancel/${workflow_id}`, { method: 'POST' });
    expect(viaCancel.status).toBe(200);
    expect(viaCancel.body.workflow_id).toBe(workflow_id);
  });

  it('runs a 3x4 scan with a fan-in: every point visible, the sum right', async () => {
    const grid = `grid-${Date.now()}`;
    const { workflow_id, tasks } = await submit({
      tasks: [
        { task_id: grid, function: 'product', scan: { a: [1, 2, 3], b: [10, 20, 30, 40] } },
        { task_id: `${grid}-total`, function: 'sum', params: { field: 'value' }, depends_on: [grid] },
      ],
    });
    const points = Array.from({ length: 12 }, (_, i) => `${grid}.${i}`);
    expect(tasks.map((t) => t.task_id)).toEqual([...points, `${grid}-total`]);
    const view = await waitForWorkflow(workflow_id);
    expect(view.status).toBe('succeeded');
    expect(view.total).toBe(13);
    const total = taskOf(view, `${grid}-total`);
    expect(total.depends_on).toEqual(points);
    expect(total.result as SumResult).toEqual({ sum: 600, count: 12, missing: [] });
    // Point 5 of a (3 values) x b (4 values), the last key fastest: a = 2, b = 20.
    const p5 = await status(`${grid}.5`);
    expect(p5.params).toEqual({ a: 2, b: 20 });
    expect(p5.labels).toEqual({ scan_index: '5' });
    expect(p5.result).toEqual({ value: 40 });
    expect(p5.workflow_id).toBe(workflow_id);
    expect((await http(`${api}/status/${grid}`)).status).toBe(404);
  });

  it('holds the dependents of an approval gate until it is approved; a rejected gate skips them', async () => {
    const p = `gate-${Date.now()}`;
    const { workflow_id } = await submit({
      tasks: [
        { task_id: `${p}-build`, function: 'echo', params: { build: 1 } },
        { task_id: `${p}-ok`, kind: 'approval', depends_on: [`${p}-build`] },
        { task_id: `${p}-deploy`, function: 'timed', depends_on: [`${p}-ok`] },
        { task_id: `${p}-no`, kind: 'approval', depends_on: [`${p}-build`] },
        { task_id: `${p}-drop`, function: 'timed', depends_on: [`${p}-no`] },
      ],
    });
    const gate = await reach(`${p}-ok`, ['waiting_approval']);
    expect(gate.function).toBe('approval');
    await reach(`${p}-no`, ['waiting_approval']);
    // Held: nothing moves while nobody decides.
    await new Promise((r) => setTimeout(r, 1000));
    expect((await status(`${p}-deploy`)).status).toBe('pending');
    expect((await http<WorkflowView>(`${api}/workflows/${workflow_id}`)).body.status).toBe('running');
    // Approving something not waiting is a conflict.
    const early = await http<ErrorAnswer>(`${api}/approve/${p}-deploy`, { method: 'POST' });
    expect(early.status).toBe(409);
    expect(early.body.error.code).toBe('SJE_ERR_NOT_WAITING_APPROVAL');

    const approvedAt = Date.now();
    const ok = await http<{ task_id: string; status: string }>(`${api}/approve/${p}-ok`, { json: { comment: 'ship it' } });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ task_id: `${p}-ok`, status: 'succeeded' });
    const deploy = (await reach(`${p}-deploy`, ['succeeded'])).result as TimedResult;
    expect(deploy.started_at).toBeGreaterThanOrEqual(approvedAt);
    expect(deploy.deps).toEqual({ [`${p}-ok`]: { approved: true, comment: 'ship it' } });

    const no = await http<{ task_id: string; status: string }>(`${api}/reject/${p}-no`, { method: 'POST' });
    expect(no.status).toBe(200);
    expect(no.body).toEqual({ task_id: `${p}-no`, status: 'failed' });
    const view = await waitForWorkflow(workflow_id);
    expect(taskOf(view, `${p}-drop`).status).toBe('skipped');
    expect(taskOf(view, `${p}-no`).error?.code).toBe('SJE_ERR_APPROVAL_REJECTED');
    expect(view.status).toBe('failed');
    expect((await http(`${api}/reject/${p}-no`, { method: 'POST' })).status).toBe(409);
    expect((await http(`${api}/approve/${p}-ghost`, { method: 'POST' })).status).toBe(404);
  });

  it('loses nothing of a workflow across a task-manager restart in its middle', async () => {
    const p = `rst-${Date.now()}`;
    const { workflow_id } = await submit({
      tasks: [
        { task_id: `${p}-first`, function: 'timed', params: { ms: 1500, value: 1 } },
        { task_id: `${p}-left`, function: 'timed', params: { ms: 200, value: 2 }, depends_on: [`${p}-first`] },
        { task_id: `${p}-right`, function: 'timed', params: { ms: 200, value: 3 }, depends_on: [`${p}-first`] },
        { task_id: `${p}-join`, function: 'sum', params: { field: 'value' }, depends_on: [`${p}-left`, `${p}-right`] },
      ],
    });
    await reach(`${p}-first`, ['running']);
    await tm.restart();
    const view = await waitForWorkflow(workflow_id, 60_000);
    expect(view.status).toBe('succeeded');
    expect(view.counts).toEqual({ succeeded: 4 });
    expect(resultOf<SumResult>(view, `${p}-join`)).toEqual({ sum: 5, count: 2, missing: [] });
    expect((await status(`${p}-first`)).history.filter((h) => h.status === 'succeeded')).toHaveLength(1);
  });
});

describe('workflow templates', () => {
  let templated: SpawnedService;

  afterAll(async () => {
    await templated?.stop();
  });

  it('submits a template by name: params substituted, ids prefixed per instance, scan and fan-in run', async () => {
    const template = {
      description: 'a grid of products and their total',
      params: { label: 'nightly' },
      tasks: [
        { task_id: 'setup', function: 'echo', params: { run: '${params.label}', size: '${params.a}' } },
        {
          task_id: 'grid',
          function: 'product',
          depends_on: ['setup'],
          scan: { a: '${params.a}', b: '${params.b}' },
          labels: { run: 'grid ${params.label}' },
        },
        { task_id: 'total', function: 'sum', params: { field: 'value' }, depends_on: ['grid'] },
      ],
    };
    templated = await spawnService('executor', { ...config, workflows: { grid_total: template } });
    const base = templated.baseUrl;
    const res = await http<BatchAnswer>(`${base}/submit`, {
      json: { workflow: 'grid_total', params: { a: [1, 2, 3], b: [10, 20, 30, 40] } },
    });
    expect(res.status).toBe(201);
    const wf = res.body.workflow_id;
    expect(res.body.tasks.map((t) => t.task_id)).toEqual([
      `${wf}.setup`,
      ...Array.from({ length: 12 }, (_, i) => `${wf}.grid.${i}`),
      `${wf}.total`,
    ]);
    const view = await waitForWorkflow(wf, 30_000, base);
    expect(view.status).toBe('succeeded');
    expect(view.template).toBe('grid_total');
    expect(taskOf(view, `${wf}.setup`).result).toEqual({ run: 'nightly', size: [1, 2, 3] });
    expect(resultOf<SumResult>(view, `${wf}.total`)).toEqual({ sum: 600, count: 12, missing: [] });
    const point = await status(`${wf}.grid.11`, base);
    expect(point.labels).toEqual({ run: 'grid nightly', scan_index: '11' });
    expect(point.result).toEqual({ value: 120 });

    // The same template again is a separate workflow; a missing param and an unknown template are refused.
    const again = await submit({ workflow: 'grid_total', params: { a: [5], b: [5], label: 'again' } }, base);
    expect(again.workflow_id).not.toBe(wf);
    const done = await waitForWorkflow(again.workflow_id, 30_000, base);
    expect(resultOf<SumResult>(done, `${again.workflow_id}.total`).sum).toBe(25);
    const missing = await http<ErrorAnswer>(`${base}/submit`, { json: { workflow: 'grid_total', params: { a: [1] } } });
    expect(missing.status).toBe(400);
    expect(missing.body.error.details?.['field']).toBe('params.b');
    const unknown = await http<ErrorAnswer>(`${base}/submit`, { json: { workflow: 'nope' } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('SJE_ERR_TEMPLATE_NOT_FOUND');
  });

  it('stops an executor whose template is invalid, with a message naming it', async () => {
    const broken = { tasks: [{ task_id: 'a', function: 'echo', depends_on: ['missing'] }] };
    await expect(spawnService('executor', { ...config, workflows: { broken } }, { readyTimeoutMs: 30_000 })).rejects.toThrow(
      /SJE_ERR_CONFIG_INVALID: workflow template workflows\.broken: tasks\[0\]\.depends_on names 'missing'/,
    );
  });
});
