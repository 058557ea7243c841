/**
 * What a task handler is and what it receives.
 * @module
 */
import type { Logger } from '@sje/core';

/**
 * Why a run's `signal` fired (its `signal.reason`):
 * - `'cancelled'`: the task was cancelled;
 * - `'timed_out'`: the task's `timeout_ms` passed;
 * - `'shutdown'`: the worker is shutting down and its grace time ran out (the task is re-queued);
 * - `'lease_lost'`: the task-manager no longer considers this run the task's current one.
 */
export type AbortReason = 'cancelled' | 'timed_out' | 'shutdown' | 'lease_lost';

/**
 * The second argument of every handler.
 * @example
 * ```ts
 * const download: TaskHandler<{ url: string }> = async ({ url }, ctx) => {
 *   ctx.log.info('downloading', { url });
 *   const res = await fetch(url, { signal: ctx.signal });
 *   ctx.progress(100);
 *   return { status: res.status };
 * };
 * ```
 */
export interface TaskContext {
  /** The task's id. */
  taskId: string;
  /** Which attempt this run is, from 1. */
  attempt: number;
  /** The worker pool (task queue) the task came from. */
  queue: string;
  /** The task's function name. */
  function: string;
  /** Fired on cancel, timeout and forced shutdown; `signal.reason` is an {@link AbortReason}. */
  signal: AbortSignal;
  /**
   * Reports progress, 0-100 (clamped). Throttled: at most one report per
   * ~200 ms, and the last value is always sent.
   */
  progress(pct: number): void;
  /** A child logger whose lines carry the task's `task_id`. */
  log: Logger;
  /** Results of the task's direct dependencies, keyed by task id (`{}` without dependencies). */
  dependencies: Record<string, unknown>;
  /** The task's labels. */
  labels: Record<string, string>;
  /** The workflow (batch) the task belongs to, if any. */
  workflowId?: string;
}

/**
 * A task handler: receives the task's `params` and a {@link TaskContext},
 * returns (or resolves to) a JSON-serializable result. Throwing fails the run;
 * throw `NonRetryableError` to fail it without retries.
 * @example
 * ```ts
 * const add: TaskHandler<{ a: number; b: number }, number> = ({ a, b }) => a + b;
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- params are whatever the task carries; handlers narrow them
export type TaskHandler<P = any, R = unknown> = (params: P, ctx: TaskContext) => Promise<R> | R;
