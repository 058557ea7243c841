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

/** Stands for the handler's end when an abort came first: the handler has not settled. */
const ABORTED_FIRST: Settled = { ok: false, error: Symbol('aborted before the handler settled') };

/**
 * One run of one task: builds the handler's context, calls it through the
 * plugins' `beforeExecute` hook and `execute` interceptors, enforces the
 * task's timeout, honours aborts and raises `afterExecute`.
 *
 * The context's `signal` and `log` are made when the handler first reads
 * them (most handlers read neither): an abort before that is kept as
 * {@link abortReason} and the signal is born aborted with it.
 */
export class TaskRun {
  private controller: AbortController | undefined;
  private logger: Logger | undefined;
  /** Why the run was aborted, once it was. */
  private abortReason: AbortReason | undefined;
  /** Ends the wait in {@link execute} when the run is aborted. */
  private onAbort: (() => void) | undefined;
  private finished = false;

  constructor(
    readonly task: DispatchMessage,
    private readonly deps: TaskRunDeps,
  ) {}

  /** Fires the handler's signal. Returns `false` when the run already ended or was aborted. */
  abort(reason: AbortReason): boolean {
    if (this.finished || this.abortReason !== undefined) return false;
    this.abortReason = reason;
    this.controller?.abort(reason);
    this.onAbort?.();
    return true;
  }

  /** The handler's abort signal, made on first use (already aborted if the run is). */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortReason !== undefined) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  /** The run's child logger (lines carry `task_id`, `function`, `attempt`), made on first use. */
  get log(): Logger {
    const { task } = this;
    this.logger ??= this.deps.logger.child({ task_id: task.task_id, function: task.function, attempt: task.attempt });
    return this.logger;
  }

  /** Runs the handler to its outcome. Never rejects. */
  async execute(): Promise<RunSummary> {
    const { task, deps } = this;
    const started = performance.now();
    let throttle: ProgressThrottle | undefined;
    const signal = (): AbortSignal => this.signal;
    const log = (): Logger => this.log;
    const ctx: TaskContext = {
      taskId: task.task_id,
      attempt: task.attempt,
      queue: task.queue,
      function: task.function,
      get signal() {
        return signal();
      },
      progress: (pct) => {
        const value = normalizeProgress(pct);
        if (value === undefined) return;
        throttle ??= new ProgressThrottle(deps.progressIntervalMs ?? 200, (v) => deps.sendProgress(task, v));
        throttle.push(value);
      },
      get log() {
        return log();
      },
      dependencies: task.dependencies ?? {},
      labels: task.labels,
    };
    if (task.workflow_id !== undefined) ctx.workflowId = task.workflow_id;

    const timer = task.timeout_ms === undefined ? undefined : setTimeout(() => this.abort('timed_out'), task.timeout_ms);
    const handlerDone: Promise<Settled> = this.invoke(ctx).then(
      (value) => ({ ok: true, value }),
      (error: unknown) => ({ ok: false, error }),
    );
    // The handler's end or an abort, whichever comes first.
    const first = await new Promise<Settled>((resolve) => {
      if (this.abortReason !== undefined) resolve(ABORTED_FIRST);
      this.onAbort = () => resolve(ABORTED_FIRST);
      void handlerDone.then(resolve);
    });
    this.onAbort = undefined;
    let report: RunReport;
    let handlerSettled = first !== ABORTED_FIRST;
    const reason = this.abortReason;
    // An abort ends the run, whether the handler is still busy or threw because of it.
    if (reason !== undefined && !first.ok) {
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
    throttle?.stop();
    if (!handlerSettled) {
      const runLog = this.log;
      runLog.warn('handler ignored its abort signal; its run is reported, its eventual result discarded', { reason: String(reason) });
      void handlerDone.then(() => runLog.info('handler of an aborted run settled'));
    }
    const run_ms = Math.round(performance.now() - started);
    if (deps.plugins.has('afterExecute')) {
      const { resultJson, ...ended } = report;
      // Hooks see the result as it will be stored: the value of its JSON.
      const result = resultJson === undefined ? {} : { result: JSON.parse(resultJson) as unknown };
      await deps.plugins.run('afterExecute', { task, worker_id: deps.workerId, ...ended, ...result, run_ms });
    }
    return { ...report, run_ms };
  }

  private async invoke(ctx: TaskContext): Promise<unknown> {
    const { deps } = this;
    const input = { task: this.task, worker_id: deps.workerId };
    if (deps.plugins.has('beforeExecute')) await deps.plugins.run('beforeExecute', input);
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
