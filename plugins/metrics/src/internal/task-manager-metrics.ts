import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { FINAL_STATUSES, type HookPayloads, type TaskEvent, type TaskStatus } from '@sje/core';

type TaskLabels = 'function' | 'queue';

/** The counter each status increments when a task enters it. */
const COUNTED: Partial<Record<TaskStatus, { name: string; help: string }>> = {
  succeeded: { name: 'sje_tasks_succeeded_total', help: 'Tasks that succeeded.' },
  failed: { name: 'sje_tasks_failed_total', help: 'Tasks that failed for good (after any retries).' },
  cancelled: { name: 'sje_tasks_cancelled_total', help: 'Tasks cancelled.' },
  timed_out: { name: 'sje_tasks_timed_out_total', help: 'Tasks that timed out for good (after any retries).' },
  skipped: { name: 'sje_tasks_skipped_total', help: 'Tasks skipped because a dependency did not succeed.' },
  retrying: { name: 'sje_tasks_retried_total', help: 'Failed or timed-out runs scheduled for another attempt.' },
};

/** Task-manager metrics, all derived from state-change events and worker arrivals/departures. */
export class TaskManagerMetrics {
  private readonly counters = new Map<TaskStatus, Counter<TaskLabels>>();
  private readonly queueWait: Histogram<TaskLabels>;
  private readonly runTime: Histogram<TaskLabels | 'status'>;
  private readonly inFlight: Gauge<'queue'>;
  private readonly inFlightByQueue = new Map<string, number>();
  private readonly workersOnline: Gauge;
  private readonly workers = new Set<string>();

  constructor(registry: Registry, buckets: number[]) {
    for (const [status, def] of Object.entries(COUNTED)) {
      this.counters.set(status as TaskStatus, new Counter({ ...def, labelNames: ['function', 'queue'], registers: [registry] }));
    }
    this.queueWait = new Histogram({
      name: 'sje_task_queue_wait_seconds',
      help: 'Time from queued to running.',
      labelNames: ['function', 'queue'],
      buckets,
      registers: [registry],
    });
    this.runTime = new Histogram({
      name: 'sje_task_run_seconds',
      help: 'Run time of the last attempt of tasks that ended, by final status.',
      labelNames: ['function', 'queue', 'status'],
      buckets,
      registers: [registry],
    });
    this.inFlight = new Gauge({ name: 'sje_tasks_in_flight', help: 'Tasks running now.', labelNames: ['queue'], registers: [registry] });
    this.workersOnline = new Gauge({ name: 'sje_workers_online', help: 'Workers registered and alive.', registers: [registry] });
  }

  onTaskStateChange(event: TaskEvent): void {
    const labels = { function: event.function, queue: event.queue };
    const changed = event.previous_status !== event.status;
    if (changed) this.counters.get(event.status)?.inc(labels);
    if (event.status === 'running' && changed) {
      this.adjustInFlight(event.queue, 1);
      if (event.queue_wait_ms !== undefined) this.queueWait.observe(labels, event.queue_wait_ms / 1000);
    }
    if (event.previous_status === 'running' && event.status !== 'running') this.adjustInFlight(event.queue, -1);
    if (changed && FINAL_STATUSES.has(event.status) && event.run_ms !== undefined) {
      this.runTime.observe({ ...labels, status: event.status }, event.run_ms / 1000);
    }
  }

  onWorkerOnline(payload: HookPayloads['onWorkerOnline']): void {
    this.workers.add(payload.worker.worker_id);
    this.workersOnline.set(this.workers.size);
  }

  onWorkerOffline(payload: HookPayloads['onWorkerOffline']): void {
    this.workers.delete(payload.worker.worker_id);
    this.workersOnline.set(this.workers.size);
  }

  /** Never below zero: a task that started before a restart may end after it. */
  private adjustInFlight(queue: string, delta: number): void {
    const next = Math.max(0, (this.inFlightByQueue.get(queue) ?? 0) + delta);
    this.inFlightByQueue.set(queue, next);
    this.inFlight.set({ queue }, next);
  }
}
