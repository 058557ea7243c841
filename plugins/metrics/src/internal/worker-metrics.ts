import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { HookPayloads } from '@sje/core';

/** Worker metrics: handler runs as this worker saw them. */
export class WorkerMetrics {
  private readonly runs: Counter<'function' | 'queue' | 'outcome'>;
  private readonly inFlight: Gauge;
  private running = 0;
  private readonly runTime: Histogram<'function' | 'queue'>;

  constructor(registry: Registry, buckets: number[]) {
    this.runs = new Counter({
      name: 'sje_worker_tasks_total',
      help: 'Handler runs ended on this worker, by outcome.',
      labelNames: ['function', 'queue', 'outcome'],
      registers: [registry],
    });
    this.inFlight = new Gauge({ name: 'sje_worker_tasks_in_flight', help: 'Handlers running now on this worker.', registers: [registry] });
    this.runTime = new Histogram({
      name: 'sje_worker_task_run_seconds',
      help: 'Run time of handlers on this worker.',
      labelNames: ['function', 'queue'],
      buckets,
      registers: [registry],
    });
  }

  beforeExecute(): void {
    this.running += 1;
    this.inFlight.set(this.running);
  }

  afterExecute(payload: HookPayloads['afterExecute']): void {
    const { task } = payload;
    this.running = Math.max(0, this.running - 1);
    this.inFlight.set(this.running);
    this.runs.inc({ function: task.function, queue: task.queue, outcome: payload.outcome });
    this.runTime.observe({ function: task.function, queue: task.queue }, payload.run_ms / 1000);
  }
}
