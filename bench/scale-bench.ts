/**
 * Scale: the task-manager holding many finished tasks. Fills an embedded
 * store with N finished tasks (in a child process: `scale-fill.ts`), starts
 * the real task-manager and executor on it, then measures the
 * task-manager's resident memory and `GET /status` latency, and the parts
 * of a status read on their own: the task-manager's ops endpoint
 * (`GET /tasks/:id`, what `/status` asks first with `status_reads:
 * ops_first`), the `get_tasks` query over RabbitMQ, and the store read (what
 * the executor does itself with `store_first`, the default).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { createRuntime, validators, type SjeConfig, type StatusReads } from '../packages/core/src/index.js';
import pg from 'pg';
import { PostgresTaskReader, PostgresTaskStore, SqliteTaskReader } from '../packages/store/src/index.js';
import { disposeAll, freePort, spawnService, testConfig } from '../test/helpers/stack.js';
import { HttpClient } from './http-client.js';
import { fillScaleStore, type FillTarget } from './scale-fill.js';
import { percentiles, type LatencyFigures } from './stats.js';

/** How late the benchmark process's event loop ran, in ms (p50, p99, max). */
export interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
}

/** What the scale run measured. */
export interface ScaleResult {
  tasks: number;
  fill_seconds: number;
  db_bytes: number;
  task_manager_rss_mb: number;
  task_manager_rss_after_reads_mb: number;
  /** The executor's resident memory after the reads (it holds a connection to the store file with `store_first`). */
  executor_rss_after_reads_mb: number;
  /** Where the measured reads were answered (`sje_executor_status_reads_total` by source, counted over them). */
  status_sources: Record<string, number>;
  status_ms: LatencyFigures;
  /** Reads made first and not counted (JIT warm-up). */
  warmup_reads: number;
  /** `GET /healthz` on the same executor, interleaved with the status reads: the HTTP floor. */
  healthz_ms: LatencyFigures;
  /** The benchmark process's own event-loop delay during the status and `/healthz` reads above (ms). */
  status_client_loop_delay_ms: LoopDelay;
  /** Where `/status` read first (`executor.status_reads`). */
  status_reads: StatusReads;
  /** The task store. */
  store: 'sqlite' | 'postgres';
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
    /** The task-manager's `/metrics` (a Prometheus scrape), over a few scrapes. */
    task_manager_metrics_ms: LatencyFigures;
  };
  /** The benchmark process's own event-loop delay while it measured the parts (ms): how much of a tail is the client's. */
  client_loop_delay_ms: LoopDelay;
}

/** Status reads (each with a `/healthz`) made before the measured ones and not counted. */
export const DEFAULT_SCALE_WARMUP = 300;

/** Figures of a loop-delay histogram, in ms above its 1 ms resolution (what is above it is delay). */
function loopDelayFigures(h: IntervalHistogram): LoopDelay {
  const delay = (ns: number): number => Math.round(Math.max(0, ns / 1e6 - 1) * 1000) / 1000;
  return { p50: delay(h.percentile(50)), p99: delay(h.percentile(99)), max: delay(h.max) };
}

/** Starts timing this process's event-loop delay (a 1 ms timer's lateness). */
function monitorLoopDelay(): IntervalHistogram {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  return h;
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

/** The executor's `sje_executor_status_reads_total`, by source. */
async function statusSources(http: HttpClient, baseUrl: string): Promise<Record<string, number>> {
  const res = await http.send('GET', `${baseUrl}/metrics`);
  const out: Record<string, number> = {};
  for (const m of res.text.matchAll(/^sje_executor_status_reads_total\{source="(\w+)"[^}]*\} (\d+)/gm)) out[m[1] as string] = Number(m[2]);
  return out;
}

/** Fills a store with `tasks` finished tasks and measures the task-manager on it. */
/** Scrapes of the task-manager's `/metrics` the scale run times. */
const METRICS_SCRAPES = 20;

/** The PostgreSQL server of `--scale-store postgres` by default (that of the tests). */
const DEFAULT_POSTGRES_URL = process.env['SJE_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** What {@link runScaleBench} measures, and how. */
export interface ScaleOptions {
  /** Finished tasks stored. */
  tasks: number;
  /** Measured status reads. */
  samples: number;
  log: (line: string) => void;
  /** The executor's `executor.status_reads`. @defaultValue 'store_first' */
  statusReads?: StatusReads;
  /** Reads first, not counted. @defaultValue {@link DEFAULT_SCALE_WARMUP} */
  warmup?: number;
  /** Run the services from their build. @defaultValue false */
  compiled?: boolean;
  /** The task store: the embedded default, or PostgreSQL at `postgresUrl` (tables of a prefix of their own, dropped after). @defaultValue 'sqlite' */
  store?: 'sqlite' | 'postgres';
  /** The PostgreSQL server for `store: 'postgres'`. */
  postgresUrl?: string;
}

/** Fills a store with `tasks` finished tasks and measures the task-manager on it. */
export async function runScaleBench(options: ScaleOptions): Promise<ScaleResult> {
  const { tasks, samples, log, statusReads = 'store_first', warmup = DEFAULT_SCALE_WARMUP, compiled = false, store = 'sqlite' } = options;
  const tmPort = await freePort();
  const prefix = `scale_${randomUUID().slice(0, 8)}_`;
  const postgresUrl = options.postgresUrl ?? DEFAULT_POSTGRES_URL;
  const config: SjeConfig = await testConfig({
    log: { level: 'warn' },
    plugins: [],
    task_manager: { ops_port: tmPort, ...(store === 'postgres' ? { store: 'postgres', postgres_url: postgresUrl, postgres_table_prefix: prefix } : {}) },
    executor: { task_manager_urls: [`http://127.0.0.1:${tmPort}`], status_reads: statusReads },
  });
  const target: FillTarget = store === 'sqlite' ? { kind: 'sqlite', dataDir: config.task_manager.data_dir } : { kind: 'postgres', url: postgresUrl, prefix };
  try {
    const { ids, fill_seconds } = await fillScaleStore(target, tasks, log);
    const db_bytes = await storeBytes(target);
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
    const sourcesBefore = await statusSources(http, executor.baseUrl);
    const times: number[] = [];
    const floor: number[] = [];
    const statusLoopDelay = monitorLoopDelay();
    for (let i = 0; i < samples; i++) {
      const id = pick();
      const res = await timed(times, () => http.send('GET', `${executor.baseUrl}/status/${id}`));
      if (res.status !== 200) throw new Error(`status of ${id} answered ${res.status}`);
      // The same executor's /healthz (no broker, no store): what HTTP alone costs here.
      await timed(floor, () => http.send('GET', `${executor.baseUrl}/healthz`));
    }
    statusLoopDelay.disable();
    const status_ms = percentiles(times);
    const healthz_ms = percentiles(floor);
    const status_client_loop_delay_ms = loopDelayFigures(statusLoopDelay);
    const task_manager_rss_after_reads_mb = rssMb(tm.pid as number);
    const executor_rss_after_reads_mb = rssMb(executor.pid as number);
    const sourcesAfter = await statusSources(http, executor.baseUrl);
    const status_sources = Object.fromEntries(
      Object.entries(sourcesAfter)
        .map(([source, n]) => [source, n - (sourcesBefore[source] ?? 0)] as const)
        .filter(([, n]) => n > 0),
    );
    log(`status reads answered from ${JSON.stringify(status_sources)}; executor RSS ${executor_rss_after_reads_mb} MB`);
    log(`task-manager RSS ${task_manager_rss_mb} MB (${task_manager_rss_after_reads_mb} MB after reads); status p50 ${status_ms.p50} ms, p99 ${status_ms.p99} ms; healthz p50 ${healthz_ms.p50} ms, p99 ${healthz_ms.p99} ms`);

    // The parts on their own, after the figures above (so they do not disturb them).
    const rt = await createRuntime('executor', config);
    await rt.broker.start();
    const reader = target.kind === 'sqlite' ? new SqliteTaskReader(join(target.dataDir, 'tasks.db')) : new PostgresTaskReader({ url: target.url, tablePrefix: target.prefix });
    const ops: number[] = [];
    const opsFloor: number[] = [];
    const query: number[] = [];
    const storeReads: number[] = [];
    const loopDelay = monitorLoopDelay();
    for (let i = 0; i < samples; i++) {
      const res = await timed(ops, () => http.send('GET', `${tm.baseUrl}/tasks/${pick()}`));
      if (res.status !== 200) throw new Error(`the task-manager's ops endpoint answered ${res.status}`);
      await timed(opsFloor, () => http.send('GET', `${tm.baseUrl}/healthz`));
      await timed(query, () => rt.broker.request(rt.broker.topology.routingKeys.query, { type: 'get_tasks', task_ids: [pick()] }, validators.reply, 3000));
      await timed(storeReads, async () => reader.getTask(pick()));
    }
    loopDelay.disable();
    // What a Prometheus scrape of the task-manager costs at this size (it answers from the same event loop as the commands).
    const scrapes: number[] = [];
    for (let i = 0; i < METRICS_SCRAPES; i++) {
      const res = await timed(scrapes, () => http.send('GET', `${tm.baseUrl}/metrics`));
      if (res.status !== 200) throw new Error(`the task-manager's /metrics answered ${res.status}`);
    }
    await reader.close();
    await rt.broker.close();
    http.close();
    const parts = {
      task_manager_ops_ms: percentiles(ops),
      task_manager_healthz_ms: percentiles(opsFloor),
      broker_query_ms: percentiles(query),
      store_read_ms: percentiles(storeReads),
      task_manager_metrics_ms: percentiles(scrapes),
    };
    const client_loop_delay_ms = loopDelayFigures(loopDelay);
    return {
      tasks,
      fill_seconds,
      db_bytes,
      task_manager_rss_mb,
      task_manager_rss_after_reads_mb,
      executor_rss_after_reads_mb,
      status_sources,
      status_ms,
      warmup_reads: warmup,
      healthz_ms,
      status_client_loop_delay_ms,
      status_reads: statusReads,
      store,
      compiled,
      parts,
      client_loop_delay_ms,
    };
  } finally {
    await disposeAll();
    if (target.kind === 'postgres') await dropScaleTables(target);
  }
}

/** The store's size on disk: the file, or the tables' total relation size. */
async function storeBytes(target: FillTarget): Promise<number> {
  if (target.kind === 'sqlite') return statSync(join(target.dataDir, 'tasks.db')).size;
  const client = new pg.Client({ connectionString: target.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ bytes: string }>(
      "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) AS bytes FROM pg_class c WHERE c.relkind = 'r' AND starts_with(c.relname, $1)",
      [target.prefix],
    );
    return Number(rows[0]?.bytes ?? 0);
  } finally {
    await client.end();
  }
}

/** Drops the PostgreSQL tables the scale run made. */
async function dropScaleTables(target: { url: string; prefix: string }): Promise<void> {
  const store = new PostgresTaskStore({ url: target.url, tablePrefix: target.prefix });
  try {
    await store.dropAll();
  } finally {
    await store.close();
  }
}
