/**
 * Scale: the task-manager holding many finished tasks. Fills an embedded
 * store with N finished tasks (through the store's own commit path, in large
 * batches), starts the real task-manager and executor on it, then measures
 * the task-manager's resident memory and `GET /status` latency, and the parts
 * of a status read on their own: the task-manager's ops endpoint
 * (`GET /tasks/:id`, what `/status` asks first with `status_reads:
 * ops_first`), the `get_tasks` query over RabbitMQ, and the store read.
 */
import { readFileSync, statSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createRuntime, uuidv7, validators, type SjeConfig } from '../packages/core/src/index.js';
import { SqliteTaskStore, type TaskRecord } from '../packages/task-manager/src/index.js';
import { disposeAll, freePort, spawnService, testConfig } from '../test/helpers/stack.js';
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
  /** Reads made first and not counted (JIT warm-up). */
  warmup_reads: number;
  /** `GET /healthz` on the same executor, interleaved with the status reads: the HTTP floor. */
  healthz_ms: LatencyFigures;
  /** Where `/status` read first (`executor.status_reads`). */
  status_reads: 'ops_first' | 'broker_first';
  /** Whether the services ran from their build (plain Node) rather than from their sources through tsx. */
  compiled: boolean;
  /** The parts, each measured on its own from the benchmark process after the reads above. */
  parts: {
    /** `GET /tasks/:id` on the task-manager's ops endpoint. */
    task_manager_ops_ms: LatencyFigures;
    /** `GET /healthz` on the task-manager's ops endpoint (its HTTP floor). */
    task_manager_healthz_ms: LatencyFigures;
    /** A `get_tasks` query of one task over RabbitMQ (direct reply-to). */
    broker_query_ms: LatencyFigures;
    /** One task read from the store file in the benchmark process (a second connection with SQLite's default cache). */
    store_read_ms: LatencyFigures;
  };
  /** The benchmark process's own event-loop delay while it measured the parts (ms): how much of a tail is the client's. */
  client_loop_delay_ms: { p50: number; p99: number; max: number };
}

/** Status reads (each with a `/healthz`) made before the measured ones and not counted. */
export const DEFAULT_SCALE_WARMUP = 300;

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
export async function runScaleBench(
  tasks: number,
  samples: number,
  log: (line: string) => void,
  statusReads: 'ops_first' | 'broker_first' = 'ops_first',
  warmup = DEFAULT_SCALE_WARMUP,
  compiled = false,
): Promise<ScaleResult> {
  const tmPort = await freePort();
  const config: SjeConfig = await testConfig({
    log: { level: 'warn' },
    plugins: [],
    task_manager: { ops_port: tmPort },
    executor: { task_manager_urls: [`http://127.0.0.1:${tmPort}`], status_reads: statusReads },
  });
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

    const tm = await spawnService('task-manager', config, { compiled });
    const executor = await spawnService('executor', config, { compiled });
    await new Promise((r) => setTimeout(r, 2000));
    const task_manager_rss_mb = rssMb(tm.pid as number);
    const http = new HttpClient();
    // Warm-up reads take ids of their own, so that no measured read finds its page cached by one.
    const warmupIds = ids.filter((_, i) => i % 2 === 1);
    const measuredIds = ids.filter((_, i) => i % 2 === 0);
    const pick = (): string => measuredIds[Math.floor(Math.random() * measuredIds.length)] as string;
    const timed = async <T>(into: number[], fn: () => Promise<T>): Promise<T> => {
      const s = performance.now();
      const out = await fn();
      into.push(performance.now() - s);
      return out;
    };
    // Not counted: the services' first requests run before the JIT has compiled their paths.
    for (let i = 0; i < warmup; i++) {
      const id = warmupIds[i % warmupIds.length] as string;
      await http.send('GET', `${executor.baseUrl}/status/${id}`);
      await http.send('GET', `${executor.baseUrl}/healthz`);
    }
    const times: number[] = [];
    const floor: number[] = [];
    for (let i = 0; i < samples; i++) {
      const id = pick();
      const res = await timed(times, () => http.send('GET', `${executor.baseUrl}/status/${id}`));
      if (res.status !== 200) throw new Error(`status of ${id} answered ${res.status}`);
      // The same executor's /healthz (no broker, no store): what HTTP alone costs here.
      await timed(floor, () => http.send('GET', `${executor.baseUrl}/healthz`));
    }
    const status_ms = percentiles(times);
    const healthz_ms = percentiles(floor);
    const task_manager_rss_after_reads_mb = rssMb(tm.pid as number);
    log(`task-manager RSS ${task_manager_rss_mb} MB (${task_manager_rss_after_reads_mb} MB after reads); status p50 ${status_ms.p50} ms, p99 ${status_ms.p99} ms; healthz p50 ${healthz_ms.p50} ms, p99 ${healthz_ms.p99} ms`);

    // The parts on their own, after the figures above (so they do not disturb them).
    const rt = await createRuntime('executor', config);
    await rt.broker.start();
    const reader = new SqliteTaskStore({ dataDir: config.task_manager.data_dir });
    await reader.init();
    const ops: number[] = [];
    const opsFloor: number[] = [];
    const query: number[] = [];
    const storeReads: number[] = [];
    const loopDelay = monitorEventLoopDelay({ resolution: 1 });
    loopDelay.enable();
    for (let i = 0; i < samples; i++) {
      const res = await timed(ops, () => http.send('GET', `${tm.baseUrl}/tasks/${pick()}`));
      if (res.status !== 200) throw new Error(`the task-manager's ops endpoint answered ${res.status}`);
      await timed(opsFloor, () => http.send('GET', `${tm.baseUrl}/healthz`));
      await timed(query, () => rt.broker.request(rt.broker.topology.routingKeys.query, { type: 'get_tasks', task_ids: [pick()] }, validators.reply, 3000));
      await timed(storeReads, () => reader.getTasks([pick()]));
    }
    loopDelay.disable();
    await reader.close();
    await rt.broker.close();
    http.close();
    const parts = {
      task_manager_ops_ms: percentiles(ops),
      task_manager_healthz_ms: percentiles(opsFloor),
      broker_query_ms: percentiles(query),
      store_read_ms: percentiles(storeReads),
    };
    // The histogram counts from the timer's resolution (1 ms): what is above it is delay.
    const delay = (ns: number): number => Math.round(Math.max(0, ns / 1e6 - 1) * 1000) / 1000;
    const client_loop_delay_ms = { p50: delay(loopDelay.percentile(50)), p99: delay(loopDelay.percentile(99)), max: delay(loopDelay.max) };
    return {
      tasks,
      fill_seconds,
      db_bytes,
      task_manager_rss_mb,
      task_manager_rss_after_reads_mb,
      status_ms,
      warmup_reads: warmup,
      healthz_ms,
      status_reads: statusReads,
      compiled,
      parts,
      client_loop_delay_ms,
    };
  } finally {
    await disposeAll();
  }
}
