import { ErrorCode, SjeError, type DispatchMessage, type Logger, type PluginHost } from '@sje/core';
import type { AbortReason, TaskContext, TaskHandler } from '../task-handler.js';
import { normalizeProgress, ProgressThrottle } from './progress-throttle.js';
import { abortReport, settledReport, type RunReport, type Settled } from './run-report.js';

/** What a {@link TaskRun} needs from its worker. */
export interface TaskRunDeps {
  workerId: string;
  handlers: ReadonlyMap<string, TaskHandler>;
  plugins: PluginHost;
  logger: Logger;
  /** Publishes one progress value of this run (best effort). */
  sendProgress: (task: DispatchMessage, progress: number) => void;
  /** Shortest gap between two progress reports. @defaultValue 200 */
  progressIntervalMs?: number;
  /** After a cancel or shutdown, how long to wait for the handler to settle before reporting. @defaultValue 1000 */
  abortSettleMs?: number;
  /** Largest result (bytes of JSON); a larger one fails the run with `SJE_ERR_RESULT_TOO_LARGE`. @defaultValue Infinity */
  maxResultBytes?: number;
}

/** How a run ended, with its duration. */
export interface RunSummary extends RunReport {
  run_ms: number;
}

/**
 * One run of one task: builds the handler's context, calls it through the
 * plugins' `beforeExecute` hook and `execute` interceptors, enforces the
 * task's timeout, honours aborts and raises `afterExecute`.
 */
export class TaskRun {
  private readonly controller = new AbortController();
  private finished = false;

  constructor(
    readonly task: DispatchMessage,
    private readonly deps: TaskRunDeps,
  ) {}

  /** Fires the handler's signal. Returns `false` when the run already ended or was aborted. */
  abort(reason: AbortReason): boolean {
    if (this.finished || this.controller.signal.aborted) return false;
    this.controller.abort(reason);
    return true;
  }

  /** Runs the handler to its outcome. Never rejects. */
  async execute(): Promise<RunSummary> {
    const { task, deps } = this;
    const signal = this.controller.signal;
    const log = deps.logger.child({ task_id: task.task_id, function: task.function, attempt: task.attempt });
    const started = performance.now();
    const throttle = new ProgressThrottle(deps.progressIntervalMs ?? 200, (value) => deps.sendProgress(task, value));
    const ctx: TaskContext = {
      taskId: task.task_id,
      attempt: task.attempt,
      queue: task.queue,
      function: task.function,
      signal,
      progress: (pct) => {
        const value = normalizeProgress(pct);
        if (value !== undefined) throttle.push(value);
      },
      log,
      dependencies: task.dependencies ?? {},
      labels: task.labels,
    };
    if (task.workflow_id !== undefined) ctx.workflowId = task.workflow_id;

    const timer = task.timeout_ms === undefined ? undefined : setTimeout(() => this.abort('timed_out'), task.timeout_ms);
    const handlerDone: Promise<Settled> = this.invoke(ctx).then(
      (value) => ({ ok: true, value }),
      (error: unknown) => ({ ok: false, error }),
    );
    const abortSeen = new Promise<{ aborted: AbortReason }>((resolve) => {
      const fire = (): void => resolve({ aborted: signal.reason as AbortReason });
      if (signal.aborted) fire();
      else signal.addEventListener('abort', fire, { once: true });
    });

    const first = await Promise.race([handlerDone, abortSeen]);
    let report: RunReport;
    let handlerSettled = !('aborted' in first);
    if ('aborted' in first || (!first.ok && signal.aborted)) {
      const reason = signal.reason as AbortReason;
      // A timeout is reported at once; a cancel or shutdown gives the handler a moment to stop.
      if (!handlerSettled && reason !== 'timed_out') {
        handlerSettled = await settlesWithin(handlerDone, deps.abortSettleMs ?? 1000);
      }
      report = abortReport(reason, task.timeout_ms);
    } else {
      report = settledReport(first, deps.maxResultBytes);
    }
    this.finished = true;
    if (timer) clearTimeout(timer);
    throttle.stop();
    if (!handlerSettled) {
      log.warn('handler ignored its abort signal; its run is reported, its eventual result discarded', { reason: String(signal.reason) });
      void handlerDone.then(() => log.info('handler of an aborted run settled'));
    }
    const run_ms = Math.round(performance.now() - started);
    await deps.plugins.run('afterExecute', { task, worker_id: deps.workerId, ...report, run_ms });
    return { ...report, run_ms };
  }

  private async invoke(ctx: TaskContext): Promise<unknown> {
    const { deps } = this;
    const input = { task: this.task, worker_id: deps.workerId };
    await deps.plugins.run('beforeExecute', input);
    return await deps.plugins.intercept('execute', input, async ({ task }) => {
      const handler = deps.handlers.get(task.function);
      if (!handler) {
        throw new SjeError(ErrorCode.UNKNOWN_FUNCTION, `no handler for function '${task.function}' on worker ${deps.workerId}`, {
          retryable: false,
          data: { function: task.function },
        });
      }
      return await handler(task.params, ctx);
    });
  }
}

/** Whether `promise` settles within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
