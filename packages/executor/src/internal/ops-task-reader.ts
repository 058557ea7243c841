/**
 * Reading a task straight from the task-managers' ops endpoints
 * (`GET /tasks/:task_id`, served from their store) when the query over
 * RabbitMQ cannot be answered: the broker is away, or the task-manager did
 * not reply in time. So `/status` of a known task keeps answering through a
 * broker restart.
 */
import { BrokerUnavailableError, ErrorCode, SjeError, type Logger, type TaskView } from '@sje/core';
import { visibleToCaller } from './auth/principal.js';
import { isTaskView } from './task-manager-query.js';

/** Longest wait for one task-manager, by default. */
export const FALLBACK_TIMEOUT_MS = 1000;

/** Options of {@link TaskStoreFallback}. */
export interface TaskStoreFallbackOptions {
  /** Base URLs of the task-managers' ops endpoints, asked in order (`executor.task_manager_urls`). */
  urls: readonly string[];
  /** Longest wait for each URL. @defaultValue 1000 */
  timeoutMs?: number;
  /** Sent as `Authorization: Bearer <token>` when not empty (`security.ops_token`). */
  opsToken?: string;
  /** Told about task-managers that did not answer. */
  logger?: Logger;
  /** The HTTP client. @defaultValue globalThis.fetch */
  fetch?: typeof fetch;
}

/**
 * Whether `err` means the task-manager could not be asked over the broker
 * (rather than a real answer such as "not found").
 */
export function isQueryUnavailable(err: unknown): boolean {
  if (err instanceof BrokerUnavailableError) return true;
  return err instanceof SjeError && (err.code === ErrorCode.BROKER_UNAVAILABLE || err.code === ErrorCode.TASK_MANAGER_UNAVAILABLE);
}


function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function errorCode(body: unknown): unknown {
  if (typeof body !== 'object' || body === null) return undefined;
  const error = (body as { error?: unknown }).error;
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

/** Asks the task-managers' ops endpoints for one task. */
export class TaskStoreFallback {
  private readonly urls: readonly string[];
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly options: TaskStoreFallbackOptions) {
    this.urls = options.urls.map((u) => u.replace(/\/+$/, ''));
    this.timeoutMs = options.timeoutMs ?? FALLBACK_TIMEOUT_MS;
    this.headers = { accept: 'application/json' };
    if (options.opsToken !== undefined && options.opsToken !== '') this.headers['authorization'] = `Bearer ${options.opsToken}`;
    this.fetchFn = options.fetch ?? globalThis.fetch;
  }

  /** Whether any URL is configured. */
  get enabled(): boolean {
    return this.urls.length > 0;
  }

  /**
   * The task from the first task-manager that answers: its view, or `null`
   * when that task-manager's store does not hold it. `undefined` when none
   * answered (each gets {@link TaskStoreFallbackOptions.timeoutMs}).
   */
  async getTask(taskId: string): Promise<TaskView | null | undefined> {
    for (const base of this.urls) {
      const url = `${base}/tasks/${encodeURIComponent(taskId)}`;
      try {
        const res = await this.fetchFn(url, { headers: this.headers, signal: AbortSignal.timeout(this.timeoutMs) });
        const text = await res.text();
        const body = parseJson(text);
        // Only the task-manager's own "no such task" counts; a 404 of anything else (a wrong port) does not.
        if (res.status === 404 && errorCode(body) === ErrorCode.TASK_NOT_FOUND) return null;
        // The ops endpoint serves every tenant: another tenant's task is answered as unknown.
        if (res.status === 200 && isTaskView(body, taskId)) return visibleToCaller(body.tenant) ? body : null;
        this.options.logger?.warn('task-manager ops endpoint gave no usable answer to a task lookup', { url: base, status: res.status });
      } catch (err) {
        this.options.logger?.debug('task-manager ops endpoint did not answer', { url: base, err: err instanceof Error ? err.message : String(err) });
      }
    }
    return undefined;
  }
}
