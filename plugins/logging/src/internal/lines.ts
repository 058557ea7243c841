import type { DispatchMessage, HookPayloads, TaskEvent, TaskSpec, WorkerInfo } from '@sje/core';
import { moreSevere, type LoggingOptions, type LogLevel } from '../logging-options.js';

/** One log line to write. */
export interface Line {
  level: LogLevel;
  message: string;
  fields: Record<string, unknown>;
}

/** Drops undefined fields so lines stay short. */
function compact(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = v;
  return out;
}

const FAILURES = new Set<string>(['failed', 'timed_out']);

function severity(options: LoggingOptions, status: string): LogLevel {
  return FAILURES.has(status) ? moreSevere('warn', options.level) : options.level;
}

/** Executor: one line per submitted task. */
export function submitLines(payload: HookPayloads['afterSubmit'], options: LoggingOptions): Line[] {
  return payload.tasks.map((task: TaskSpec) => ({
    level: options.level,
    message: 'task submitted',
    fields: compact({
      task_id: task.task_id,
      function: task.function,
      queue: task.queue,
      priority: task.priority,
      workflow_id: payload.workflow_id,
      depends_on: task.depends_on.length > 0 ? task.depends_on : undefined,
      delay_ms: task.delay_ms,
      params: options.include_params ? task.params : undefined,
    }),
  }));
}

/** Task-manager: one line per state change (a same-status event is a progress update, logged at debug). */
export function stateChangeLine(event: TaskEvent, options: LoggingOptions): Line {
  const isProgress = event.previous_status === event.status;
  return {
    level: isProgress ? 'debug' : severity(options, event.status),
    message: isProgress ? 'task progress' : `task ${event.status}`,
    fields: compact({
      task_id: event.task_id,
      function: event.function,
      queue: event.queue,
      status: event.status,
      previous_status: event.previous_status,
      attempt: event.attempt,
      reason: event.reason,
      error_code: event.error?.code,
      error_message: event.error?.message,
      worker_id: event.worker?.id,
      workflow_id: event.workflow_id,
      progress: event.progress,
      queue_wait_ms: event.queue_wait_ms,
      run_ms: event.run_ms,
      result: options.include_results && event.status === 'succeeded' ? event.result : undefined,
    }),
  };
}

function workerFields(worker: WorkerInfo): Record<string, unknown> {
  return { worker_id: worker.worker_id, host: worker.host, queues: worker.queues, functions: worker.functions, concurrency: worker.concurrency };
}

/** Task-manager: a worker registered. */
export function workerOnlineLine(payload: HookPayloads['onWorkerOnline'], options: LoggingOptions): Line {
  return { level: options.level, message: 'worker online', fields: workerFields(payload.worker) };
}

/** Task-manager: a worker left or was lost (a loss is a warning). */
export function workerOfflineLine(payload: HookPayloads['onWorkerOffline'], options: LoggingOptions): Line {
  return {
    level: payload.reason === 'lost' ? moreSevere('warn', options.level) : options.level,
    message: payload.reason === 'lost' ? 'worker lost' : 'worker offline',
    fields: { ...workerFields(payload.worker), reason: payload.reason },
  };
}

function taskFields(task: DispatchMessage, workerId: string): Record<string, unknown> {
  return { task_id: task.task_id, function: task.function, queue: task.queue, attempt: task.attempt, worker_id: workerId, workflow_id: task.workflow_id };
}

/** Worker: a handler is about to run. */
export function executeStartLine(payload: HookPayloads['beforeExecute'], options: LoggingOptions): Line {
  return {
    level: options.level,
    message: 'task run started',
    fields: compact({ ...taskFields(payload.task, payload.worker_id), params: options.include_params ? payload.task.params : undefined }),
  };
}

/** Worker: a handler ended. */
export function executeEndLine(payload: HookPayloads['afterExecute'], options: LoggingOptions): Line {
  return {
    level: severity(options, payload.outcome),
    message: `task run ${payload.outcome}`,
    fields: compact({
      ...taskFields(payload.task, payload.worker_id),
      outcome: payload.outcome,
      run_ms: payload.run_ms,
      error_code: payload.error?.code,
      error_message: payload.error?.message,
      result: options.include_results && payload.outcome === 'succeeded' ? payload.result : undefined,
    }),
  };
}
