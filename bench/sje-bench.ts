/**
 * Measures SJE itself: real executor, task-manager and worker processes,
 * tasks submitted through the public REST API, completion observed through
 * the events exchange.
 */
import { disposeAll, spawnService, testConfig, type SpawnedService } from '../test/helpers/stack.js';
import { CpuMeter, findBrokerPid } from './cpu-usage.js';
import { EventWatcher } from './event-watcher.js';
import { HttpClient } from './http-client.js';
import { percentiles, type LatencyFigures } from './stats.js';

/** Options of the SJE benchmark. */
export interface SjeBenchOptions {
  tasks: number;
  batchSize: number;
  latencySamples: number;
  workers: number;
  workerConcurrency: number;
  restClients: number;
  restTasks: number;
  queueType: 'quorum' | 'classic';
  /** Write CPU profiles of the services here. */
  profileDir?: string;
}

/** What the SJE benchmark measured. */
export interface SjeBenchResult {
  end_to_end_per_s: number;
  /** CPU milliseconds per 1,000 tasks in the throughput phase, by process (`worker`, then `worker_2`, ... with several). */
  cpu_ms_per_1000_tasks: Record<string, number>;
  /** With several workers: the tasks each ran in the throughput phase, most first. */
  tasks_per_worker?: number[];
  submit_per_s: number;
  latency_ms: LatencyFigures;
  rest_single_submit_per_s: number;
  rest_single_request_ms: LatencyFigures;
  rest_single_end_to_end_per_s: number;
  /** CPU ms per 1,000 tasks by process over the one-task-per-request phase (first request → last `succeeded`). */
  rest_cpu_ms_per_1000_tasks: Record<string, number>;
}

const http = new HttpClient();

async function post(url: string, body: unknown): Promise<{ task_id?: string; tasks?: { task_id: string }[] }> {
  const res = await http.send('POST', url, body);
  if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${res.text}`);
  return JSON.parse(res.text) as { task_id?: string; tasks?: { task_id: string }[] };
}

/** Starts the services, runs every phase, stops them. */
export async function runSjeBench(options: SjeBenchOptions, log: (line: string) => void): Promise<SjeBenchResult> {
  const config = await testConfig({
    topology: { queue_type: options.queueType },
    log: { level: 'warn' },
    plugins: [],
    worker: { concurrency: options.workerConcurrency },
  });
  const watcher = new EventWatcher();
  try {
    // --profile: each service writes a CPU profile (bench/results/profiles/*.cpuprofile) when it stops.
    const env = options.profileDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] } : {};
    const tm = await spawnService('task-manager', config, env);
    const workers: SpawnedService[] = [];
    for (let i = 0; i < options.workers; i++) workers.push(await spawnService('worker', config, env));
    const executor = await spawnService('executor', config, env);
    await watcher.start(config.amqp.url, config.topology.prefix);
    const submitUrl = `${executor.baseUrl}/submit`;
    log(`services up: task-manager :${tm.port}, ${workers.length} worker(s), executor :${executor.port}`);

    // Warm-up.
    await post(submitUrl, { tasks: Array.from({ length: 200 }, () => ({ function: 'echo' })) });
    await watcher.total(200);
    watcher.reset();

    // 1. Throughput: batches through the REST API, first submit → last succeeded.
    const meter = new CpuMeter({
      task_manager: tm.pid,
      worker: workers[0]?.pid,
      ...Object.fromEntries(workers.slice(1).map((w, i) => [`worker_${i + 2}`, w.pid])),
      executor: executor.pid,
      broker: findBrokerPid(),
      bench: process.pid,
    });
    const batches = Math.ceil(options.tasks / options.batchSize);
    meter.start();
    const t0 = performance.now();
    let submitted = 0;
    let nextBatch = 0;
    const submitter = async (): Promise<void> => {
      while (nextBatch < batches) {
        nextBatch += 1;
        const size = Math.min(options.batchSize, options.tasks - submitted);
        submitted += size;
        await post(submitUrl, { tasks: Array.from({ length: size }, () => ({ function: 'echo' })) });
      }
    };
    await Promise.all(Array.from({ length: 4 }, submitter));
    const tSubmitted = performance.now();
    const tDone = await watcher.total(options.tasks);
    const end_to_end_per_s = options.tasks / ((tDone - t0) / 1000);
    const cpu_ms_per_1000_tasks = meter.stop(options.tasks);
    const submit_per_s = options.tasks / ((tSubmitted - t0) / 1000);
    log(`throughput: ${Math.round(end_to_end_per_s)} tasks/s end to end, ${Math.round(submit_per_s)} tasks/s submitted`);
    log(`CPU ms per 1,000 tasks: ${Object.entries(cpu_ms_per_1000_tasks).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    const tasks_per_worker = workers.length > 1 ? [...watcher.byWorker.values()].sort((a, b) => b - a) : undefined;
    if (tasks_per_worker) log(`tasks per worker: ${tasks_per_worker.join(' / ')}`);
    watcher.reset();

    // 2. Latency at idle: one task at a time, submit → succeeded event.
    const samples: number[] = [];
    // No client task id: that would add the executor's idempotency look-up to every sample.
    for (let i = 0; i < options.latencySamples; i++) {
      const s = performance.now();
      const { task_id } = await post(submitUrl, { function: 'echo' });
      samples.push((await watcher.succeeded(task_id ?? '')) - s);
    }
    const latency_ms = percentiles(samples);
    log(`latency: p50 ${latency_ms.p50} ms, p99 ${latency_ms.p99} ms`);
    watcher.reset();

    // 3. One task per request under concurrent HTTP clients.
    const requestTimes: number[] = [];
    let issued = 0;
    meter.start();
    const r0 = performance.now();
    const client = async (): Promise<void> => {
      while (issued < options.restTasks) {
        issued += 1;
        const s = performance.now();
        await post(submitUrl, { function: 'echo' });
        requestTimes.push(performance.now() - s);
      }
    };
    await Promise.all(Array.from({ length: options.restClients }, client));
    const rSubmitted = performance.now();
    const rDone = await watcher.total(options.restTasks);
    const rest_cpu_ms_per_1000_tasks = meter.stop(options.restTasks);
    const result: SjeBenchResult = {
      end_to_end_per_s,
      cpu_ms_per_1000_tasks,
      submit_per_s,
      latency_ms,
      rest_single_submit_per_s: options.restTasks / ((rSubmitted - r0) / 1000),
      rest_single_request_ms: percentiles(requestTimes),
      rest_single_end_to_end_per_s: options.restTasks / ((rDone - r0) / 1000),
      rest_cpu_ms_per_1000_tasks,
    };
    if (tasks_per_worker) result.tasks_per_worker = tasks_per_worker;
    log(`REST one-at-a-time: ${Math.round(result.rest_single_submit_per_s)} req/s with ${options.restClients} clients`);
    return result;
  } finally {
    http.close();
    await watcher.close();
    await disposeAll();
  }
}
