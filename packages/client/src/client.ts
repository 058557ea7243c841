/**
 * The typed REST client of the executor.
 * @module
 */
import { ErrorCode, isFinalStatus, SjeError, type TaskInput, type TaskStatus, type TaskView, type WorkflowStatus, type WorkflowView } from '@sje/core';
import { ClientErrorCode, SjeHttpError } from './errors.js';
import { requestJson, type HttpSettings } from './internal/http.js';

/** Options of {@link createClient}. */
export interface ClientOptions {
  /** The executor's base URL, e.g. `http://sje-executor:8080`. */
  baseUrl: string;
  /**
   * Sent as `Authorization: Bearer <apiKey>`: the executor's API key
   * (`security.api_keys`), which decides the scopes and the tenant of every
   * call (see docs/security.md).
   */
  apiKey?: string;
  /** Time limit of one HTTP request. @defaultValue 10000 */
  timeoutMs?: number;
  /** The fetch implementation. @defaultValue globalThis.fetch */
  fetch?: typeof fetch;
}

/** The answer to a submit of one task. */
export interface SubmitResult {
  task_id: string;
  /** `queued`, or `pending` when waiting on dependencies or a delay; for a repeated submit, the task's current status. */
  status: TaskStatus;
}

/** The answer to a batch submit. */
export interface BatchResult {
  workflow_id: string;
  tasks: SubmitResult[];
}

/**
 * The status answer for a task the executor accepted a moment ago that the
 * task-manager has not recorded yet.
 */
export interface AcceptedTaskView {
  task_id: string;
  function: string;
  status: 'pending';
  attempt: 0;
  accepted: true;
}

/** What `status()` returns: the task's full view, or {@link AcceptedTaskView} right after acceptance. */
export type TaskStatusView = TaskView | AcceptedTaskView;

/** The answer to a cancel. */
export interface CancelResult {
  task_id: string;
  status: TaskStatus;
  /** Set when the task was not recorded yet: the cancel is queued behind its submit (HTTP 202). */
  cancel_requested?: true;
  /**
   * Set when the id named a workflow rather than a task: the workflow was
   * cancelled (as {@link SjeClient.cancelWorkflow} does) and this is its view;
   * `status` is then `cancelled`.
   */
  workflow?: WorkflowView;
}

/** The answer to an approve or reject. */
export interface ApprovalResult {
  task_id: string;
  /** `succeeded` after an approval, `failed` after a rejection. */
  status: TaskStatus;
}

/** Options of {@link SjeClient.waitFor}. */
export interface WaitOptions {
  /** Give up after this long. @defaultValue 300000 */
  timeoutMs?: number;
  /** Pause between polls. @defaultValue 1000 */
  intervalMs?: number;
  /**
   * How long a `404` is taken for "not recorded yet" rather than "no such
   * task" (another executor replica may have accepted it). @defaultValue 10000
   */
  notFoundGraceMs?: number;
  /** Stops waiting. */
  signal?: AbortSignal;
}

/** The executor's REST API, typed. */
export interface SjeClient {
  /** Submits one task. A task id given by you is an idempotency key: resubmitting the same task returns it again. */
  submit(task: TaskInput): Promise<SubmitResult>;
  /** Submits tasks as one workflow; they may depend on each other by `task_id`. */
  submitBatch(tasks: TaskInput[]): Promise<BatchResult>;
  /** The task's current state. */
  status(taskId: string): Promise<TaskStatusView>;
  /** Cancels a task (a running one through its handler's abort signal). */
  cancel(taskId: string): Promise<CancelResult>;
  /** Polls until the task reaches a final status and returns its view. */
  waitFor(taskId: string, options?: WaitOptions): Promise<TaskView>;
  /** Submits the configured workflow template `name` with its parameters; the answer holds the new workflow id and every task. */
  submitTemplate(name: string, params?: Record<string, unknown>): Promise<BatchResult>;
  /** A workflow's aggregate status, counts, tasks (with results) and edges. */
  workflow(workflowId: string): Promise<WorkflowView>;
  /** Cancels every task of the workflow that has not ended (running ones through their abort signal) and returns the workflow's view. */
  cancelWorkflow(workflowId: string): Promise<WorkflowView>;
  /** Approves an approval gate (it succeeds and its dependents may run). */
  approve(taskId: string, comment?: string): Promise<ApprovalResult>;
  /** Rejects an approval gate (it fails and its `all_success` dependents are skipped). */
  reject(taskId: string, comment?: string): Promise<ApprovalResult>;
  /** Polls until the workflow reaches a final status (`succeeded`, `failed`, `cancelled`, `partially_succeeded`) and returns its view. */
  waitForWorkflow(workflowId: string, options?: WaitOptions): Promise<WorkflowView>;
}

/** Workflow statuses after which nothing changes any more. */
const FINAL_WORKFLOW_STATUSES: ReadonlySet<WorkflowStatus> = new Set<WorkflowStatus>(['succeeded', 'failed', 'cancelled', 'partially_succeeded']);

function isAccepted(view: TaskStatusView): view is AcceptedTaskView {
  return (view as { accepted?: unknown }).accepted === true;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Creates a client of the executor's REST API.
 * @example
 * ```ts
 * const sje = createClient({ baseUrl: 'http://127.0.0.1:8080' });
 * const { task_id } = await sje.submit({ function: 'resize_image', params: { url } });
 * const done = await sje.waitFor(task_id, { timeoutMs: 60_000 });
 * if (done.status === 'succeeded') console.log(done.result);
 * ```
 */
export function createClient(options: ClientOptions): SjeClient {
  const settings: HttpSettings = {
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    timeoutMs: options.timeoutMs ?? 10_000,
    fetch: options.fetch ?? globalThis.fetch,
  };
  if (options.apiKey !== undefined) settings.apiKey = options.apiKey;
  const taskPath = (route: 'status' | 'cancel' | 'approve' | 'reject', taskId: string): string => `/${route}/${encodeURIComponent(taskId)}`;
  const workflowPath = (workflowId: string, suffix = ''): string => `/workflows/${encodeURIComponent(workflowId)}${suffix}`;
  const decide = async (route: 'approve' | 'reject', taskId: string, comment: string | undefined): Promise<ApprovalResult> => {
    const { body } = await requestJson<ApprovalResult>(settings, 'POST', taskPath(route, taskId), comment === undefined ? undefined : { comment });
    return { task_id: body.task_id, status: body.status };
  };

  /**
   * Polls `read` until `done` holds for its answer. A `404` with
   * `notFoundCode` counts as "not recorded yet" during the grace time;
   * retryable errors are retried.
   */
  const poll = async <T>(what: string, ids: Record<string, string>, read: () => Promise<T>, done: (value: T) => boolean, statusOf: (value: T) => string, notFoundCode: string, waitOptions: WaitOptions): Promise<T> => {
    const timeoutMs = waitOptions.timeoutMs ?? 300_000;
    const intervalMs = waitOptions.intervalMs ?? 1000;
    const notFoundGraceMs = waitOptions.notFoundGraceMs ?? 10_000;
    const started = Date.now();
    let last: string | undefined;
    for (;;) {
      try {
        const value = await read();
        last = statusOf(value);
        if (done(value)) return value;
      } catch (err) {
        const elapsed = Date.now() - started;
        const notYet = err instanceof SjeHttpError && err.code === notFoundCode && elapsed < notFoundGraceMs;
        if (!notYet && !(err instanceof SjeError && err.retryable)) throw err;
      }
      const left = timeoutMs - (Date.now() - started);
      if (left <= 0) {
        throw new SjeError(ClientErrorCode.WAIT_TIMEOUT, `${what} did not finish within ${timeoutMs} ms (last status: ${last ?? 'unknown'})`, {
          retryable: true,
          data: { ...ids, last_status: last ?? null },
        });
      }
      await sleep(Math.min(intervalMs, left), waitOptions.signal);
    }
  };

  const client: SjeClient = {
    async submit(task) {
      return (await requestJson<SubmitResult>(settings, 'POST', '/submit', task)).body;
    },
    async submitBatch(tasks) {
      return (await requestJson<BatchResult>(settings, 'POST', '/submit', { tasks })).body;
    },
    async status(taskId) {
      return (await requestJson<TaskStatusView>(settings, 'GET', taskPath('status', taskId))).body;
    },
    async cancel(taskId) {
      const { body } = await requestJson<(CancelResult & { accepted?: true }) | WorkflowView>(settings, 'POST', taskPath('cancel', taskId));
      if ('workflow_id' in body && !('task_id' in body)) return { task_id: taskId, status: 'cancelled', workflow: body };
      const task = body as CancelResult;
      const result: CancelResult = { task_id: task.task_id, status: task.status };
      if (task.cancel_requested === true) result.cancel_requested = true;
      return result;
    },
    async waitFor(taskId, waitOptions = {}) {
      const view = await poll<TaskStatusView>(
        `task ${taskId}`,
        { task_id: taskId },
        () => client.status(taskId),
        (v) => !isAccepted(v) && isFinalStatus(v.status),
        (v) => v.status,
        ErrorCode.TASK_NOT_FOUND,
        waitOptions,
      );
      return view as TaskView;
    },
    async submitTemplate(name, params = {}) {
      return (await requestJson<BatchResult>(settings, 'POST', '/submit', { workflow: name, params })).body;
    },
    async workflow(workflowId) {
      return (await requestJson<WorkflowView>(settings, 'GET', workflowPath(workflowId))).body;
    },
    async cancelWorkflow(workflowId) {
      return (await requestJson<WorkflowView>(settings, 'POST', workflowPath(workflowId, '/cancel'))).body;
    },
    approve(taskId, comment) {
      return decide('approve', taskId, comment);
    },
    reject(taskId, comment) {
      return decide('reject', taskId, comment);
    },
    async waitForWorkflow(workflowId, waitOptions = {}) {
      return await poll(
        `workflow ${workflowId}`,
        { workflow_id: workflowId },
        () => client.workflow(workflowId),
        (v) => FINAL_WORKFLOW_STATUSES.has(v.status),
        (v) => v.status,
        ErrorCode.WORKFLOW_NOT_FOUND,
        waitOptions,
      );
    },
  };
  return client;
}
