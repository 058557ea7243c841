import { Counter, type Registry } from 'prom-client';
import type { HookPayloads } from '@sje/core';

/** Executor metrics: submitted tasks. */
export class ExecutorMetrics {
  private readonly submitted: Counter<'function' | 'queue'>;

  constructor(registry: Registry) {
    this.submitted = new Counter({
      name: 'sje_tasks_submitted_total',
      help: 'Tasks accepted by POST /submit (after the broker confirmed them).',
      labelNames: ['function', 'queue'],
      registers: [registry],
    });
  }

  afterSubmit(payload: HookPayloads['afterSubmit']): void {
    for (const task of payload.tasks) this.submitted.inc({ function: task.function, queue: task.queue });
  }
}
