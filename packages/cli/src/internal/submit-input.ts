import { ErrorCode, SjeError, type TaskInput } from '@sje/core';

/** The raw options of `sje submit`, as commander parsed them. */
export interface SubmitFlags {
  params?: string;
  queue?: string;
  taskId?: string;
  priority?: string;
  dependsOn?: string;
  timeoutMs?: string;
  delayMs?: string;
  maxAttempts?: string;
  label?: string[];
}

function usage(message: string): SjeError {
  return new SjeError(ErrorCode.VALIDATION, message);
}

function integer(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^-?\d+$/.test(raw.trim())) throw usage(`${flag} must be an integer, got '${raw}'`);
  return Number(raw);
}

/** Builds the task to submit from `sje submit <function>` and its flags. */
export function buildTaskInput(fn: string, flags: SubmitFlags): TaskInput {
  const task: TaskInput = { function: fn };
  if (flags.params !== undefined) {
    let params: unknown;
    try {
      params = JSON.parse(flags.params);
    } catch (err) {
      throw usage(`--params is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof params !== 'object' || params === null || Array.isArray(params)) throw usage('--params must be a JSON object');
    task.params = params as Record<string, unknown>;
  }
  if (flags.queue !== undefined) task.queue = flags.queue;
  if (flags.taskId !== undefined) task.task_id = flags.taskId;
  const priority = integer('--priority', flags.priority);
  if (priority !== undefined) task.priority = priority;
  const timeout = integer('--timeout-ms', flags.timeoutMs);
  if (timeout !== undefined) task.timeout_ms = timeout;
  const delay = integer('--delay-ms', flags.delayMs);
  if (delay !== undefined) task.delay_ms = delay;
  const maxAttempts = integer('--max-attempts', flags.maxAttempts);
  if (maxAttempts !== undefined) task.retry = { max_attempts: maxAttempts };
  if (flags.dependsOn !== undefined) {
    task.depends_on = flags.dependsOn
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }
  if (flags.label !== undefined && flags.label.length > 0) {
    const labels: Record<string, string> = {};
    for (const pair of flags.label) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw usage(`--label must be key=value, got '${pair}'`);
      labels[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    task.labels = labels;
  }
  return task;
}
