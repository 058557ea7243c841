/**
 * Graceful shutdown on SIGTERM: a worker takes no new task and lets running
 * ones finish within `worker.grace_ms`; with a short grace it aborts them and
 * hands them back without using up an attempt; the executor finishes the
 * requests in flight. Every process exits 0.
 */
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SjeConfig } from '../../packages/core/src/index.js';
import { http } from '../helpers/http.js';
import { spawnService, type SpawnedService } from '../helpers/stack.js';
import { faultConfig, figure, sleep, until, variant } from './support/fault-stack.js';
import { readRunLog, submitTask, taskProblems, waitForView, type StatusView } from './support/tasks.js';

const TEST = 'graceful shutdown';
let config: SjeConfig;
let log: string;
let tm: SpawnedService;
let executor: SpawnedService;
let api: string;
const extra: SpawnedService[] = [];

beforeAll(async () => {
  config = await faultConfig({ worker: { concurrency: 4, grace_ms: 10_000 }, executor: { shutdown_grace_ms: 5000 } });
  log = join(config.task_manager.data_dir, 'runs.log');
  [tm, executor] = await Promise.all([spawnService('task-manager', config), spawnService('executor', config)]);
  api = executor.baseUrl;
});

afterAll(async () => {
  await Promise.all([executor?.stop(), tm?.stop(), ...extra.map((s) => s.stop())]);
});

async function worker(overrides: Parameters<typeof variant>[1] = {}): Promise<SpawnedService> {
  const w = await spawnService('worker', variant(config, overrides));
  extra.push(w);
  return w;
}

function submit(body: Record<string, unknown>): Promise<string> {
  return submitTask(api, body);
}

describe('SIGTERM to a worker', () => {
  it('takes no new task, lets running ones finish inside the grace period, and exits 0', async () => {
    const first = await worker();
    const running = [
      await submit({ function: 'record_run', params: { log, ms: 2500 } }),
      await submit({ function: 'record_run', params: { log, ms: 2500 } }),
    ];
    for (const id of running) await waitForView(api, id, (v) => v.status === 'running');

    first.kill('SIGTERM');
    const termAt = Date.now();
    // Work arriving during the shutdown: the worker has free slots but must not take it.
    await sleep(200);
    const later = [await submit({ function: 'record_run', params: { log } }), await submit({ function: 'record_run', params: { log } })];
    const exit = await first.waitExit(15_000);
    const exitMs = Date.now() - termAt;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(exitMs).toBeLessThan(10_000);

    for (const id of running) {
      const v = await waitForView(api, id, (x) => x.status === 'succeeded', 5000);
      expect((v.result as { pid: number }).pid).toBe(first.pid);
      expect(v.attempt).toBe(1);
      expect(v.history.filter((h) => h.status === 'running')).toHaveLength(1);
    }
    const runs = readRunLog(log);
    for (const id of later) {
      expect(runs.has(id), id).toBe(false);
      expect((await http<StatusView>(`${api}/status/${id}`)).body.status).toBe('queued');
    }
    // The next worker picks the waiting work up.
    const second = await worker();
    for (const id of later) {
      const v = await waitForView(api, id, (x) => x.status === 'succeeded');
      expect((v.result as { pid: number }).pid).toBe(second.pid);
    }
    await second.stop();
    figure(
      TEST,
      'worker SIGTERM, 2 tasks of 2.5 s running, grace 10 s',
      `both finished on it, exit 0 after ${exitMs} ms; tasks submitted meanwhile not taken`,
    );
  });

  it('with a short grace aborts long tasks and re-queues them without using up an attempt', async () => {
    const short = await worker({ worker: { grace_ms: 1000 } });
    const ids = [
      await submit({ function: 'long_first_run', params: { log, first_ms: 60_000, then_ms: 200 } }),
      await submit({ function: 'long_first_run', params: { log, first_ms: 60_000, then_ms: 200 } }),
    ];
    for (const id of ids) await waitForView(api, id, (v) => v.status === 'running' && readRunLog(log).get(v.task_id)?.length === 1);
    short.kill('SIGTERM');
    const termAt = Date.now();
    expect(await short.waitExit(15_000)).toEqual({ code: 0, signal: null });
    const exitMs = Date.now() - termAt;
    for (const id of ids) await waitForView(api, id, (v) => v.status === 'queued', 5000);

    const next = await worker();
    for (const id of ids) {
      const v = await waitForView(api, id, (x) => x.status === 'succeeded');
      expect(v.attempt).toBe(1);
      expect(v.result).toEqual({ pid: next.pid, first: false });
      expect(v.history.map((h) => h.status)).toEqual(['pending', 'queued', 'running', 'queued', 'running', 'succeeded']);
      expect(v.history[3]!.reason).toMatch(/shut down/);
      expect(v.history.every((h) => h.attempt === 1 || h.status === 'pending')).toBe(true);
      expect(taskProblems(v)).toEqual([]);
      expect(readRunLog(log).get(id)).toEqual([short.pid, next.pid]);
    }
    await next.stop();
    figure(
      TEST,
      'worker SIGTERM, grace 1 s, 2 tasks of 60 s running',
      `aborted and re-queued, exit 0 after ${exitMs} ms; finished by the next worker with attempt 1`,
    );
  });
});

/** A POST /submit whose body is sent in two halves; resolves with the answer. */
function slowSubmit(url: string, body: string): { sendRest: () => void; answer: Promise<{ status: number; body: string }> } {
  const half = Math.floor(body.length / 2);
  let sendRest!: () => void;
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      `${url}/submit`,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.flushHeaders();
    req.write(body.slice(0, half));
    sendRest = () => req.end(body.slice(half));
  });
  return { sendRest, answer };
}

describe('SIGTERM to the executor', () => {
  it('finishes the requests in flight (201), refuses new ones, then exits 0', async () => {
    const inFlight = Array.from({ length: 5 }, (_, i) =>
      slowSubmit(api, JSON.stringify({ function: 'echo', params: { i, pad: 'x'.repeat(2000) } })),
    );
    // Let the headers and half of each body reach the executor before the signal.
    await sleep(300);
    executor.kill('SIGTERM');
    const termAt = Date.now();
    await sleep(500);
    // A new request now is not accepted.
    const late = await http(`${api}/submit`, { json: { function: 'echo' } }).then(
      (r) => `HTTP ${r.status}`,
      (err: unknown) => `refused (${(err as Error).message})`,
    );
    expect(late).not.toBe('HTTP 201');
    for (const r of inFlight) r.sendRest();
    const answers = await Promise.all(inFlight.map((r) => r.answer));
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201, 201]);
    expect(await executor.waitExit(10_000)).toEqual({ code: 0, signal: null });
    const exitMs = Date.now() - termAt;
    // What was accepted reaches the task-manager and runs (read straight from its ops endpoint).
    const ids = answers.map((a) => (JSON.parse(a.body) as { task_id: string }).task_id);
    const w = await worker();
    for (const id of ids) {
      await until(
        `task ${id} to succeed`,
        async () => {
          const res = await fetch(`${tm.baseUrl}/tasks/${id}`);
          return res.status === 200 && ((await res.json()) as StatusView).status === 'succeeded';
        },
        20_000,
      );
    }
    await w.stop();
    figure(
      TEST,
      'executor SIGTERM with 5 requests half-sent',
      `all 5 answered 201 after the signal, a new request got "${late}", exit 0 after ${exitMs} ms`,
    );
  });
});
