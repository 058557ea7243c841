/**
 * Scale: the task-manager holding many finished tasks. Fills an embedded
 * store with N finished tasks (through the store's own commit path, in large
 * batches), starts the real task-manager and executor on it, then measures
 * the task-manager's resident memory and `GET /status` latency.
 */
import { readFileSync, statSync } from 'node:fs';
import { uuidv7, type SjeConfig } from '../packages/core/src/index.js';
import { SqliteTaskStore, type TaskRecord } from '../packages/task-manager/src/index.js';
import { disposeAll, spawnService, testConfig } from '../test/helpers/stack.js';
import { HttpClient } from './http-client.js';
import { percentiles, type LatencyFigures } from './stats.js';

/** What the scale run measured. */
export interface ScaleResult {
  tasks: number;
  fill_seconds: number;
  db_bytes: number;
  task_manager_rss_mb: number;
  task_manager_rss_after_reads_mb: number;
  status_ms: LatencyFigures;
  /** `GET /healthz` on the same executor, interleaved with the status reads: the HTTP floor. */
  healthz_ms: LatencyFigures;
}

function finishedTask(id: string, at: number): TaskRecord {
  const t = (ms: number): string => new Date(at + ms).toISOString();
  return {
    task_id: id,
    function: 'calculate_data',
    queue: 'default',
    priority: 0,
    params: { input_data: [1, 2, 3, 4] },
    depends_on: [],
    labels: { source: 'scale-bench' },
    status: 'succeeded',
    attempt: 1,
    deliveries: 1,
    deps_remaining: 0,
    lease_id: uuidv7(),
    worker_id: 'bench-worker',
    worker_host: 'bench',
    result: { count: 4, sum: 10, mean: 2.5, min: 1, max: 4 },
    created_at: t(0),
    queued_at: t(1),
    started_at: t(2),
    finished_at: t(5),
    history: [
      { status: 'pending', at: t(0), attempt: 0 },
      { status: 'queued', at: t(1), attempt: 1 },
      { status: 'running', at: t(2), attempt: 1, worker_id: 'bench-worker' },
      { status: 'succeeded', at: t(5), attempt: 1 },
    ],
  };
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

/** Fills a store with `tasks` finished tasks and measures the task-manager on it. */
export async function runScaleBench(tasks: number, samples: number, log: (line: string) => void): Promise<ScaleResult> {
  const config: SjeConfig = await testConfig({ log: { level: 'warn' }, plugins: [] });
  try {
    const store = new SqliteTaskStore({ dataDir: config.task_manager.data_dir });
    await store.init();
    const ids: string[] = [];
    const start = performance.now();
    const base = Date.now() - 86_400_000;
    for (let done = 0; done < tasks; ) {
      const batch: TaskRecord[] = [];
      for (let i = 0; i < 10_000 && done < tasks; i++, done++) {
        const id = uuidv7();
        if (done % Math.max(1, Math.floor(tasks / 20_000)) === 0) ids.push(id);
        batch.push(finishedTask(id, base + done));
      }
      await store.commit({ tasks: batch, outbox: [] });
      if (done % 100_000 === 0) log(`stored ${done} tasks`);
    }
    const fill_seconds = (performance.now() - start) / 1000;
    await store.close();
    const db_bytes = statSync(store.file).size;
    log(`filled ${tasks} tasks in ${fill_seconds.toFixed(1)} s (${(db_bytes / 2 ** 20).toFixed(0)} MB)`);

    const tm = await spawnService('task-manager', config);
    const executor = await spawnService('executor', config);
    await new Promise((r) => setTimeout(r, 2000));
    const task_manager_rss_mb = rssMb(tm.pid as number);
    const http = new HttpClient();
    const times: number[] = [];
    const floor: number[] = [];
    for (let i = 0; i < samples; i++) {
      const id = ids[Math.floor(Math.random() * ids.length)] as string;
      const s = performance.now();
      const res = await http.send('GET', `${executor.baseUrl}/status/${id}`);
      times.push(performance.now() - s);
      if (res.status !== 200) throw new Error(`status of ${id} answered ${res.status}`);
      // The same executor's /healthz (no broker, no store): what HTTP alone costs here.
      const h = performance.now();
      await http.send('GET', `${executor.baseUrl}/healthz`);
      floor.push(performance.now() - h);
    }
    http.close();
    const status_ms = percentiles(times);
    const healthz_ms = percentiles(floor);
    const task_manager_rss_after_reads_mb = rssMb(tm.pid as number);
    log(`task-manager RSS ${task_manager_rss_mb} MB (${task_manager_rss_after_reads_mb} MB after reads); status p50 ${status_ms.p50} ms, p99 ${status_ms.p99} ms; healthz p50 ${healthz_ms.p50} ms, p99 ${healthz_ms.p99} ms`);
    return { tasks, fill_seconds, db_bytes, task_manager_rss_mb, task_manager_rss_after_reads_mb, status_ms, healthz_ms };
  } finally {
    await disposeAll();
  }
}
