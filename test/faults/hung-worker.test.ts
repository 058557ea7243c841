/**
 * A hung worker (SIGSTOP: no heartbeats, TCP connection still open): its
 * task is handed to another worker within the configured bound, and once
 * the hung worker wakes up (SIGCONT) its late result changes nothing.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { http, waitForStatus } from '../helpers/http.js';
import { spawnService } from '../helpers/stack.js';
import { FAULT_WORKER_TIMEOUT_MS, faultConfig, figure, sleep, startStack, until, variant, type Stack } from './support/fault-stack.js';
import { readRunLog, submitTask, taskProblems, waitForView, type StatusView } from './support/tasks.js';

const TEST = 'hung worker (SIGSTOP)';
const RUN_MS = 8000;
let stack: Stack | undefined;

afterAll(async () => {
  for (const w of stack?.workers ?? []) if (w.pid !== undefined && w.running) process.kill(w.pid, 'SIGCONT');
  await Promise.all([stack?.executor.stop(), stack?.taskManager.stop(), ...(stack?.workers ?? []).map((w) => w.stop())]);
});

describe('a hung worker', () => {
  it('loses its task to another worker within worker_timeout_ms, and its late result is ignored', async () => {
    const config = await faultConfig({ worker: { concurrency: 2 } });
    const log = join(config.task_manager.data_dir, 'runs.log');
    // The first worker logs at info, so that the end of its stale run shows in its output.
    stack = await startStack(variant(config, { worker: { id: 'hung-a' }, log: { level: 'info' } }), { workers: 1 });
    const hung = stack.workers[0]!;

    const id = await submitTask(stack.api, { function: 'record_run', params: { log, ms: RUN_MS } });
    const first = (await waitForStatus(stack.api, id, ['running'])) as StatusView;
    expect(first.worker?.id).toBe('hung-a');
    // The second worker joins while the task runs on the first.
    const other = await spawnService('worker', variant(config, { worker: { id: 'healthy-b' } }));
    stack.workers.push(other);
    await until('the task to have started on the first worker', () => readRunLog(log).get(id)?.length === 1);

    process.kill(hung.pid!, 'SIGSTOP');
    const stoppedAt = Date.now();
    const moved = await waitForView(stack.api, id, (v) => v.status === 'running' && v.worker?.id === 'healthy-b', 20_000);
    const handedOverMs = Date.now() - stoppedAt;
    expect(moved.worker?.id).toBe('healthy-b');
    // Not before its heartbeats had been missing for the timeout (one heartbeat interval of slack), and not much after.
    expect(handedOverMs).toBeGreaterThanOrEqual(FAULT_WORKER_TIMEOUT_MS - 600);
    expect(handedOverMs).toBeLessThan(FAULT_WORKER_TIMEOUT_MS + 3000);
    const requeue = moved.history.find((h) => h.status === 'queued' && /hung-a/.test(h.reason ?? ''));
    expect(requeue?.reason).toMatch(/lost/);

    // Wake the hung worker while the second run is still going: its run is long overdue, its result goes out at once.
    await until('the task to have started on the second worker', () => readRunLog(log).get(id)?.length === 2);
    process.kill(hung.pid!, 'SIGCONT');
    const wokeAt = Date.now();
    await until('the woken worker to report its stale run', () => /task run ended/.test(hung.output()), 10_000);
    await sleep(500);
    const during = (await http(`${stack.api}/status/${id}`)).body as StatusView;
    expect(during.status).toBe('running');
    expect(during.worker?.id).toBe('healthy-b');

    const done = (await waitForStatus(stack.api, id, ['succeeded', 'failed', 'cancelled', 'timed_out'], RUN_MS + 10_000)) as StatusView;
    expect(done.status).toBe('succeeded');
    expect(done.worker?.id).toBe('healthy-b');
    expect((done.result as { pid: number }).pid).toBe(other.pid);
    expect(done.history.filter((h) => h.status === 'succeeded')).toHaveLength(1);
    expect(done.history.filter((h) => h.status === 'running').map((h) => h.worker_id)).toEqual(['hung-a', 'healthy-b']);
    expect(done.attempt).toBe(1);
    expect(taskProblems(done)).toEqual([]);
    expect(readRunLog(log).get(id)).toEqual([hung.pid, other.pid]);
    // The woken worker is still alive and well: it rejoins and takes new work.
    expect(hung.running).toBe(true);

    figure(
      TEST,
      `SIGSTOP → task running on the other worker (worker_timeout_ms ${FAULT_WORKER_TIMEOUT_MS}, heartbeat 500 ms)`,
      `${handedOverMs} ms`,
    );
    figure(
      TEST,
      'late result of the woken worker',
      `ignored (woken ${Math.round((wokeAt - stoppedAt) / 100) / 10} s after SIGSTOP; one succeeded in history, worker stays the second)`,
    );
  });
});
