/**
 * Measures SJE itself: real executor, task-manager and worker processes,
 * tasks submitted through the public REST API, completion observed through
 * the events exchange.
 */
import { disposeAll, spawnService, testConfig, type SpawnedService } from '../test/helpers/stack.js';
import { CpuMeter, findBrokerPid } from './cpu-usage.js';
import { EventWatcher } from './event-watcher.js';
import { echoTask } from './payload.js';
import { HttpClient } from './http-client.js';
import { percentiles, type LatencyFigures } from './stats.js';

/** Options of the SJE services under test. */
export interface SjeBenchOptions {
  /** Tasks per batched submit. */
  batchSize: number;
  workers: number;
  workerConcurrency: number;
  queueType: 'quorum' | 'classic';
  /** The task-manager's `task_manager.assign_at_idle`. */
  assignAtIdle: boolean;
  /** The worker's `worker.report_receipts`. */
  reportReceipts: boolean;
  /** The task-manager's `task_manager.hold_limit` (0: no held backlog). */
  holdLimit: number;
  /** Characters of params each task carries (`{ data: "xx…" }`, returned by `echo`); 0: none. */
  paramsBytes: number;
  /** Write CPU profiles of the services here. */
  profileDir?: string;
  /** Run the services' build with plain Node instead of their sources through tsx. */
  compiled: boolean;
}

/** One throughput round: N tasks in batches through the REST API, first submit to last `succeeded`. */
export interface SjeRound {
  end_to_end_per_s: number;
  /** Tasks per second accepted (first submit to last `201`). */
  submit_per_s: number;
  /** CPU milliseconds per 1,000 tasks, by process (`worker`, then `worker_2`, ... with several). */
  cpu_ms_per_1000_tasks: Record<string, number>;
  /** With several workers: the tasks each ran, most first. */
  tasks_per_worker?: number[];
  /** Tasks of the round the task-manager assigned straight to a worker (`sje_tasks_assigned_total`); the rest went through the pool queue. */
  assigned_tasks: number;
}

/** One task per request from concurrent HTTP clients. */
export interface SjeSingleSubmits {
  rest_single_submit_per_s: number;
  rest_single_request_ms: LatencyFigures;
  rest_single_end_to_end_per_s: number;
  /** CPU ms per 1,000 tasks by process over the phase (first request → last `succeeded`). */
  rest_cpu_ms_per_1000_tasks: Record<string, number>;
  /** Tasks of the phase the task-manager assigned straight to a worker. */
  rest_assigned_tasks: number;
}

interface SubmitAnswer {
  task_id?: string;
  tasks?: { task_id: string }[];
}

/** The services of one installation, started once and measured phase by phase. */
export class SjeBench {
  private readonly http = new HttpClient();

  private constructor(
    private readonly options: SjeBenchOptions,
    private readonly watcher: EventWatcher,
    private readonly submitUrl: string,
    private readonly meter: CpuMeter,
    private readonly workerCount: number,
    private readonly taskManagerMetricsUrl: string,
  ) {}

  /** The task-manager's count of tasks assigned at idle so far. */
  async assignedSoFar(): Promise<number> {
    const res = await this.http.send('GET', this.taskManagerMetricsUrl);
    const m = /^sje_tasks_assigned_total(?:\{[^}]*\})? (\d+)$/m.exec(res.text);
    return m ? Number(m[1]) : 0;
  }

  /** Starts a task-manager, the workers and an executor on a fresh installation. */
  static async start(options: SjeBenchOptions, log: (line: string) => void): Promise<SjeBench> {
    const config = await testConfig({
      topology: { queue_type: options.queueType },
      log: { level: 'warn' },
      plugins: [],
      worker: { concurrency: options.workerConcurrency, report_receipts: options.reportReceipts },
      task_manager: { assign_at_idle: options.assignAtIdle, hold_limit: options.holdLimit },
    });
    const watcher = new EventWatcher();
    try {
      // --profile: each service writes a CPU profile (bench/results/profiles/*.cpuprofile) when it stops.
      const env = { compiled: options.compiled, ...(options.profileDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] } : {}) };
      const tm = await spawnService('task-manager', config, env);
      const workers: SpawnedService[] = [];
      for (let i = 0; i < options.workers; i++) workers.push(await spawnService('worker', config, env));
      const executor = await spawnService('executor', config, env);
      await watcher.start(config.amqp.url, config.topology.prefix);
      log(`services up: task-manager :${tm.port}, ${workers.length} worker(s), executor :${executor.port}`);
      const meter = new CpuMeter({
        task_manager: tm.pid,
        worker: workers[0]?.pid,
        ...Object.fromEntries(workers.slice(1).map((w, i) => [`worker_${i + 2}`, w.pid])),
        executor: executor.pid,
        broker: findBrokerPid(),
        bench: process.pid,
      });
      return new SjeBench(options, watcher, `${executor.baseUrl}/submit`, meter, workers.length, `${tm.baseUrl}/metrics`);
    } catch (err) {
      await watcher.close();
      await disposeAll();
      throw err;
    }
  }

  private async post(body: unknown): Promise<SubmitAnswer> {
    const res = await this.http.send('POST', this.submitUrl, body);
    if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${res.text}`);
    return JSON.parse(res.text) as SubmitAnswer;
  }

  /** `tasks` no-op tasks in batches from four concurrent submitters; the round ends at the last `succeeded` event. */
  async throughputRound(tasks: number): Promise<SjeRound> {
    this.watcher.reset();
    const assignedBefore = await this.assignedSoFar();
    this.meter.start();
    const t0 = performance.now();
    let submitted = 0;
    const submitter = async (): Promise<void> => {
      while (submitted < tasks) {
        const size = Math.min(this.options.batchSize, tasks - submitted);
        submitted += size;
        await this.post({ tasks: Array.from({ length: size }, () => echoTask(this.options.paramsBytes)) });
      }
    };
    await Promise.all(Array.from({ length: 4 }, submitter));
    const tSubmitted = performance.now();
    const tDone = await this.watcher.total(tasks);
    const round: SjeRound = {
      end_to_end_per_s: tasks / ((tDone - t0) / 1000),
      submit_per_s: tasks / ((tSubmitted - t0) / 1000),
      cpu_ms_per_1000_tasks: this.meter.stop(tasks),
      assigned_tasks: (await this.assignedSoFar()) - assignedBefore,
    };
    if (this.workerCount > 1) round.tasks_per_worker = [...this.watcher.byWorker.values()].sort((a, b) => b - a);
    return round;
  }

  /** Latency at idle: one task at a time, submit → `succeeded` event, `samples` times; and how many of them were assigned. */
  async latency(samples: number): Promise<{ latency_ms: LatencyFigures; latency_assigned_tasks: number }> {
    this.watcher.reset();
    const times: number[] = [];
    const assignedBefore = await this.assignedSoFar();
    // No client task id: that would add the executor's idempotency look-up to every sample.
    for (let i = 0; i < samples; i++) {
      const s = performance.now();
      const { task_id } = await this.post(echoTask(this.options.paramsBytes));
      times.push((await this.watcher.succeeded(task_id ?? '')) - s);
    }
    return { latency_ms: percentiles(times), latency_assigned_tasks: (await this.assignedSoFar()) - assignedBefore };
  }

  /** `tasks` single-task submits from `clients` concurrent HTTP clients; ends at the last `succeeded`. */
  async singleSubmits(tasks: number, clients: number): Promise<SjeSingleSubmits> {
    this.watcher.reset();
    const requestTimes: number[] = [];
    let issued = 0;
    const assignedBefore = await this.assignedSoFar();
    this.meter.start();
    const r0 = performance.now();
    const client = async (): Promise<void> => {
      while (issued < tasks) {
        issued += 1;
        const s = performance.now();
        await this.post(echoTask(this.options.paramsBytes));
        requestTimes.push(performance.now() - s);
      }
    };
    await Promise.all(Array.from({ length: clients }, client));
    const rSubmitted = performance.now();
    const rDone = await this.watcher.total(tasks);
    return {
      rest_single_submit_per_s: tasks / ((rSubmitted - r0) / 1000),
      rest_single_request_ms: percentiles(requestTimes),
      rest_single_end_to_end_per_s: tasks / ((rDone - r0) / 1000),
      rest_cpu_ms_per_1000_tasks: this.meter.stop(tasks),
      rest_assigned_tasks: (await this.assignedSoFar()) - assignedBefore,
    };
  }

  /** Stops the services and removes the installation. */
  async close(): Promise<void> {
    this.http.close();
    await this.watcher.close();
    await disposeAll();
  }
}
