/**
 * The three services as real processes against the real RabbitMQ: what a
 * user of the REST API sees.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SjeConfig } from '../packages/core/src/index.js';
import { SqliteTaskStore } from '../packages/store/src/index.js';
import { drainQueue, publishRaw } from './helpers/broker.js';
import { http, metricValue, parsePrometheus, waitForStatus } from './helpers/http.js';
import { disposeTestConfig, spawnService, testConfig, type SpawnedService } from './helpers/stack.js';

let config: SjeConfig;
let tm: SpawnedService;
let worker: SpawnedService;
let executor: SpawnedService;
let api: string;

beforeAll(async () => {
  config = await testConfig({
    plugins: [{ name: 'logging' }, { name: 'retry' }, { name: 'metrics' }],
    worker: { concurrency: 4 },
  });
  [tm, worker, executor] = await Promise.all([spawnService('task-manager', config), spawnService('worker', config), spawnService('executor', config)]);
  api = executor.baseUrl;
});

afterAll(async () => {
  await Promise.all([executor?.stop(), worker?.stop(), tm?.stop()]);
  if (config) await disposeTestConfig(config, ['nobody', 'later']);
});

describe('end to end', () => {
  it('runs echo and calculate_data to succeeded with their results', async () => {
    const echo = await http(`${api}/submit`, { json: { function: 'echo', params: { hello: 'world', n: [1, 2] } } });
    expect(echo.status).toBe(201);
    expect(echo.body.task_id).toMatch(/^[0-9a-f-]{36}$/);
    const calc = await http(`${api}/submit`, { json: { function: 'calculate_data', params: { input_data: [4, 8, 15, 16, 23, 42] } } });
    expect(calc.status).toBe(201);
    const e = await waitForStatus(api, echo.body.task_id, ['succeeded']);
    expect(e.result).toEqual({ hello: 'world', n: [1, 2] });
    expect(e.attempt).toBe(1);
    expect(e.worker?.id).toBeTruthy();
    expect(e.history.map((h: { status: string }) => h.status)).toEqual(['pending', 'queued', 'running', 'succeeded']);
    const c = await waitForStatus(api, calc.body.task_id, ['succeeded']);
    expect(c.result).toMatchObject({ count: 6, sum: 108, mean: 18, min: 4, max: 42 });
  });

  it('fails a failing task with its message, and retries it with visible backoff', async () => {
    const once = await http(`${api}/submit`, { json: { function: 'fail', params: { message: 'disk on fire' } } });
    const failed = await waitForStatus(api, once.body.task_id, ['failed']);
    expect(failed.error).toMatchObject({ message: 'disk on fire' });
    expect(failed.attempt).toBe(1);

    const retried = await http(`${api}/submit`, {
      json: { function: 'fail', params: { message: 'flaky' }, retry: { max_attempts: 3, backoff: 'fixed', delay_ms: 300, jitter: false } },
    });
    const t = await waitForStatus(api, retried.body.task_id, ['failed']);
    expect(t.attempt).toBe(3);
    const runs = t.history.filter((h: { status: string }) => h.status === 'running');
    expect(runs).toHaveLength(3);
    const waits = t.history.filter((h: { status: string }) => h.status === 'retrying');
    expect(waits).toHaveLength(2);
    // Each retry waited its backoff before being queued again.
    for (const w of waits) {
      const requeued = t.history.find((h: { status: string; at: string; attempt: number }) => h.status === 'queued' && h.attempt === w.attempt + 1);
      expect(Date.parse(requeued.at) - Date.parse(w.at)).toBeGreaterThanOrEqual(290);
    }
  });

  it('cancels a queued task that then never runs, and a running sleep within 2 s', async () => {
    const queued = await http(`${api}/submit`, { json: { function: 'echo', queue: 'later', params: { never: true } } });
    await waitForStatus(api, queued.body.task_id, ['queued']);
    const cancel = await http(`${api}/cancel/${queued.body.task_id}`, { method: 'POST' });
    expect(cancel.status).toBe(200);
    expect(cancel.body).toEqual({ task_id: queued.body.task_id, status: 'cancelled' });
    // A worker for that queue appears and drains it; the cancelled task must not run.
    const lateWorker = await spawnService('worker', { ...config, worker: { ...config.worker, queues: ['later'] } });
    try {
      const marker = await http(`${api}/submit`, { json: { function: 'echo', queue: 'later', params: { after: true } } });
      await waitForStatus(api, marker.body.task_id, ['succeeded']);
      const after = await waitForStatus(api, queued.body.task_id, ['cancelled']);
      expect(after.history.some((h: { status: string }) => h.status === 'running')).toBe(false);
    } finally {
      await lateWorker.stop();
    }

    const sleeping = await http(`${api}/submit`, { json: { function: 'sleep', params: { ms: 60_000 } } });
    await waitForStatus(api, sleeping.body.task_id, ['running']);
    const t0 = Date.now();
    const res = await http(`${api}/cancel/${sleeping.body.task_id}`, { method: 'POST' });
    expect(res.status).toBe(200);
    const cancelled = await waitForStatus(api, sleeping.body.task_id, ['cancelled'], 2000);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(cancelled.status).toBe('cancelled');
    // Cancelling again: already final.
    const again = await http(`${api}/cancel/${sleeping.body.task_id}`, { method: 'POST' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('SJE_ERR_TASK_ALREADY_FINAL');
  });

  it('keeps tasks submitted while the task-manager is down, and loses nothing across its restart', async () => {
    const before = await http(`${api}/submit`, { json: { function: 'echo', params: { before: 1 } } });
    await waitForStatus(api, before.body.task_id, ['succeeded']);
    await tm.stop();
    const during = await http(`${api}/submit`, { json: { function: 'echo', params: { during: 1 } } });
    expect(during.status).toBe(201);
    await tm.restart();
    const d = await waitForStatus(api, during.body.task_id, ['succeeded']);
    expect(d.result).toEqual({ during: 1 });
    const b = await waitForStatus(api, before.body.task_id, ['succeeded']);
    expect(b.history.map((h: { status: string }) => h.status)).toEqual(['pending', 'queued', 'running', 'succeeded']);
  });

  it('answers bad input with JSON 4xx errors naming the problem', async () => {
    const cases: [string, RequestInit & { path?: string }, number, string, string?][] = [
      ['malformed JSON', { method: 'POST', body: '{"function": ', headers: { 'content-type': 'application/json' } }, 400, 'SJE_ERR_INVALID_JSON'],
      ['missing function', { method: 'POST', body: '{"params":{}}', headers: { 'content-type': 'application/json' } }, 400, 'SJE_ERR_VALIDATION', 'function'],
      ['non-string function', { method: 'POST', body: '{"function":42}', headers: { 'content-type': 'application/json' } }, 400, 'SJE_ERR_VALIDATION', 'function'],
      ['wrong priority type', { method: 'POST', body: '{"function":"echo","priority":"high"}', headers: { 'content-type': 'application/json' } }, 400, 'SJE_ERR_VALIDATION', 'priority'],
      ['unknown field', { method: 'POST', body: '{"function":"echo","colour":"red"}', headers: { 'content-type': 'application/json' } }, 400, 'SJE_ERR_VALIDATION', 'colour'],
      ['wrong content type', { method: 'POST', body: 'function=echo', headers: { 'content-type': 'text/plain' } }, 415, 'SJE_ERR_UNSUPPORTED_MEDIA_TYPE'],
    ];
    for (const [name, init, status, code, field] of cases) {
      const res = await fetch(`${api}/submit`, init);
      const body = (await res.json()) as { error: { code: string; message: string; details?: { field?: string } } };
      expect(res.status, name).toBe(status);
      expect(res.headers.get('content-type'), name).toMatch(/application\/json/);
      expect(body.error.code, name).toBe(code);
      if (field) expect(`${body.error.message} ${JSON.stringify(body.error.details ?? {})}`, name).toContain(field);
    }
    const unknown = await http(`${api}/status/does-not-exist`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('SJE_ERR_TASK_NOT_FOUND');
    const id = `client-${Date.now()}`;
    expect((await http(`${api}/submit`, { json: { task_id: id, function: 'echo', params: { a: 1 } } })).status).toBe(201);
    await waitForStatus(api, id, ['succeeded']);
    const same = await http(`${api}/submit`, { json: { task_id: id, function: 'echo', params: { a: 1 } } });
    expect(same.status).toBe(200);
    expect(same.body.task_id).toBe(id);
    const conflict = await http(`${api}/submit`, { json: { task_id: id, function: 'echo', params: { a: 2 } } });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe('SJE_ERR_TASK_ID_CONFLICT');
  });

  it('dead-letters schema-invalid messages on service queues and keeps working', async () => {
    const t = config.topology.prefix;
    await publishRaw(config.amqp.url, `${t}.commands`, 'command', '{"type":"submit","tasks":[{"function":1}]}');
    await publishRaw(config.amqp.url, `${t}.tasks`, 'default', 'not json at all');
    const dead = await drainQueue(config.amqp.url, `${t}.dead-letter`, { min: 2, timeoutMs: 10_000 });
    const reasons = dead.map((d) => `${String(d.headers['x-sje-source-queue'])}: ${String(d.headers['x-sje-reason'])}`);
    expect(reasons.some((r) => r.startsWith(`${t}.task-manager.commands: schema validation failed`))).toBe(true);
    expect(reasons.some((r) => r.startsWith(`${t}.tasks.default: message is not valid JSON`))).toBe(true);
    const ok = await http(`${api}/submit`, { json: { function: 'echo' } });
    await waitForStatus(api, ok.body.task_id, ['succeeded']);
  });

  it('serves Prometheus metrics on every service whose counters match the tasks run', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await http(`${api}/submit`, { json: { function: 'calculate_data', params: { input_data: [i] } } })).body.task_id);
    for (const id of ids) await waitForStatus(api, id, ['succeeded']);
    const scrape = async (s: SpawnedService) => parsePrometheus(await (await fetch(`${s.baseUrl}/metrics`)).text());
    const [ex, tmm, wk] = await Promise.all([scrape(executor), scrape(tm), scrape(worker)]);
    // calculate_data ran once in the first test and three times here; the
    // task-manager restarted in between, so its counters start over.
    expect(metricValue(ex, 'sje_tasks_submitted_total', { function: 'calculate_data' })).toBe(4);
    expect(metricValue(wk, 'sje_worker_tasks_total', { function: 'calculate_data', outcome: 'succeeded' })).toBe(4);
    expect(metricValue(tmm, 'sje_tasks_succeeded_total', { function: 'calculate_data' })).toBe(3);
    expect(metricValue(tmm, 'sje_workers_online')).toBeGreaterThanOrEqual(1);
    // One task at a time: the worker's reports went transient, each let go of once the task-manager said it was stored.
    expect(metricValue(wk, 'sje_worker_report_messages_total', { way: 'receipt' })).toBeGreaterThanOrEqual(3);
    expect(tmm.some((s) => s.name === 'sje_task_run_seconds_count')).toBe(true);
    // Every pool a registered worker serves is reported, nothing waiting in it now.
    expect(tmm.some((s) => s.name === 'sje_queue_depth' && s.labels['queue'] === 'default')).toBe(true);
    expect(metricValue(tmm, 'sje_queue_depth', { queue: 'default' })).toBe(0);
    // Tasks by status: counted from the store when the task-manager (re)started, moved by every batch since.
    const store = new SqliteTaskStore({ dataDir: tm.config.task_manager.data_dir, checkpointMs: 0 });
    await store.init();
    const stored = Object.entries(await store.countByStatus());
    await store.close();
    expect(stored.length).toBeGreaterThan(0);
    for (const [status, n] of stored) expect(metricValue(tmm, 'sje_tasks', { status })).toBe(n);
  });
});
