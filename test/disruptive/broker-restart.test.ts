/**
 * RabbitMQ restarted (`rabbitmqctl stop_app` / `start_app`) while 500 tasks
 * flow: every service reconnects by itself, declares its topology and
 * consumers again, and every task completes exactly once. While the broker is
 * away the executor answers `/submit` with 503 + Retry-After at once, still
 * answers `/status` of known tasks (from the task-manager's ops endpoint) and
 * reports not ready.
 *
 * Restarting the broker drops every connection on it: this file runs in the
 * `disruptive` project, alone, after every other test.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rabbitmqctl } from '../helpers/broker.js';
import { http } from '../helpers/http.js';
import type { SpawnedService } from '../helpers/stack.js';
import { expectBrokerToOurselves } from '../faults/support/broker-guard.js';
import { faultConfig, figure, sleep, startStack, until, type Stack } from '../faults/support/fault-stack.js';
import {
  getViews,
  readRunLog,
  runLogLines,
  submitMany,
  submitTask,
  taskProblems,
  waitForFinalCount,
  waitForView,
  type ErrorAnswer,
  type StatusView,
} from '../faults/support/tasks.js';

const TEST = 'broker restart';
const TASKS = 500;
let stack: Stack | undefined;
let brokerStopped = false;

async function startBroker(): Promise<void> {
  await rabbitmqctl(['start_app'], 120_000);
  await rabbitmqctl(['await_startup', '--timeout', '60'], 90_000);
  brokerStopped = false;
}

afterAll(async () => {
  // Never leave the broker stopped, whatever happened above.
  if (brokerStopped) await startBroker();
  await Promise.all([stack?.executor.stop(), stack?.taskManager.stop(), ...(stack?.workers ?? []).map((w) => w.stop())]);
});

async function ready(s: SpawnedService): Promise<number> {
  try {
    return (await fetch(`${s.baseUrl}/readyz`, { signal: AbortSignal.timeout(2000) })).status;
  } catch {
    return 0;
  }
}

describe('a RabbitMQ restart while tasks flow', () => {
  it('is ridden out: 503 + Retry-After on /submit, /status still answers, then every service reconnects and every task completes', async () => {
    const config = await faultConfig({ worker: { concurrency: 4 } });
    const log = join(config.task_manager.data_dir, 'runs.log');
    stack = await startStack(config, { workers: 2 });
    const { api } = stack;
    const all = [stack.taskManager, stack.executor, ...stack.workers];
    const connections = await expectBrokerToOurselves(all.map((s) => s.pid!));

    const ids = await submitMany(api, TASKS, () => ({ function: 'record_run', params: { log, ms: 100 } }), { concurrency: 16 });
    await until('100 runs to have started', () => runLogLines(log) >= 100, 30_000);
    const known = ids.slice(0, 3);

    const stopStarted = Date.now();
    brokerStopped = true;
    await rabbitmqctl(['stop_app'], 120_000);
    const stoppedAt = Date.now();
    const runsAtStop = runLogLines(log);

    // While the broker is away.
    await until('the executor to notice', async () => (await ready(stack!.executor)) === 503, 10_000);
    for (const s of all) expect(await ready(s), s.name).toBe(503);
    const t0 = Date.now();
    const refused = await http<ErrorAnswer>(`${api}/submit`, { json: { function: 'echo' } });
    const refusedMs = Date.now() - t0;
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('SJE_ERR_BROKER_UNAVAILABLE');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refusedMs).toBeLessThan(1000);
    const statusTimes: number[] = [];
    for (const id of known) {
      const s0 = Date.now();
      const res = await http<StatusView>(`${api}/status/${id}`);
      statusTimes.push(Date.now() - s0);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.task_id).toBe(id);
      expect(res.body.history[0]?.status).toBe('pending');
    }
    const unknown = await http(`${api}/status/never-submitted-${Date.now()}`);
    expect(unknown.status).toBe(404);
    expect((await http(`${api}/readyz`)).status).toBe(503);
    await sleep(2000);

    const startAt = Date.now();
    await startBroker();
    const brokerBackAt = Date.now();
    const reconnect = await Promise.all(
      all.map(async (s) => {
        await until(`${s.name} to be ready again`, async () => (await ready(s)) === 200, 60_000, 100);
        return Date.now() - brokerBackAt;
      }),
    );

    const counts = await waitForFinalCount([stack.taskManager.baseUrl], TASKS, 120_000);
    expect(counts['succeeded']).toBe(TASKS);
    const views = await getViews(api, ids);
    expect(views.flatMap(taskProblems)).toEqual([]);
    for (const v of views) expect(v.history.filter((h) => h.status === 'succeeded')).toHaveLength(1);
    const runs = readRunLog(log);
    expect(ids.filter((id) => !runs.has(id))).toEqual([]);
    // And new work goes through again.
    const after = await submitTask(api, { function: 'echo', params: { back: true } });
    await waitForView(api, after, (v) => v.status === 'succeeded');
    for (const s of all) expect(s.running, s.name).toBe(true);

    figure(TEST, 'tasks / workers / connections on the broker (all ours)', `${TASKS} / 2 × 4 slots, 100 ms each / ${connections}`);
    figure(TEST, 'runs started when the broker stopped', runsAtStop);
    figure(
      TEST,
      'rabbitmqctl stop_app took / broker away',
      `${stoppedAt - stopStarted} ms / ${brokerBackAt - stoppedAt} ms (start_app ${brokerBackAt - startAt} ms)`,
    );
    figure(
      TEST,
      '/submit while away',
      `503 SJE_ERR_BROKER_UNAVAILABLE, Retry-After ${refused.headers.get('retry-after')}, in ${refusedMs} ms`,
    );
    figure(TEST, '/status of known tasks while away (ops-endpoint fallback)', `200 in ${statusTimes.join(' / ')} ms`);
    figure(TEST, 'broker back → /readyz 200 (task-manager, executor, workers)', `${reconnect.join(' / ')} ms`);
    figure(TEST, 'tasks run more than once', [...runs.values()].filter((p) => p.length > 1).length);
    figure(TEST, 'tasks lost / not succeeded / duplicated in history', '0 / 0 / 0');
  });
});
