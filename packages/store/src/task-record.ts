/**
 * The task record the task-manager keeps, and its public view.
 */
import type {
  HistoryEntry,
  RetryPolicy,
  SerializedError,
  TaskKind,
  TaskSpec,
  TaskStatus,
  TaskView,
  TriggerRule,
  WorkerRef,
  WorkflowStatus,
} from '@sje/core';

/** A task as stored: its spec, its state and bookkeeping. */
export interface TaskRecord {
  task_id: string;
  workflow_id?: string;
  function: string;
  kind?: TaskKind;
  trigger_rule?: TriggerRule;
  queue: string;
  priority: number;
  params: Record<string, unknown>;
  depends_on: string[];
  labels: Record<string, string>;
  retry?: RetryPolicy;
  timeout_ms?: number;
  delay_ms?: number;
  /** The tenant that owns the task (from the submitting API key); absent without authentication. */
  tenant?: string;
  status: TaskStatus;
  /** Number of the current (or last) attempt; 0 before the first dispatch. */
  attempt: number;
  /** Runs started (claims granted) in total, across attempts and re-queues. */
  deliveries: number;
  /** Dependencies not yet succeeded. */
  deps_remaining: number;
  /**
   * Whether any task depends on this one. `false` lets the task-manager skip
   * the dependents look-up when the task ends; absent (older records) means unknown.
   */
  has_dependents?: boolean;
  lease_id?: string;
  worker_id?: string;
  worker_host?: string;
  result?: unknown;
  error?: SerializedError;
  progress?: number;
  created_at: string;
  queued_at?: string;
  started_at?: string;
  finished_at?: string;
  not_before?: string;
  history: HistoryEntry[];
}

/** A workflow (one batch submit) as stored: its aggregate status. */
export interface WorkflowRecord {
  workflow_id: string;
  template?: string;
  /** The tenant that owns the workflow's tasks. */
  tenant?: string;
  status: WorkflowStatus;
  total: number;
  /** Tasks of the workflow in each status, kept up to date with every transition. */
  counts: Partial<Record<TaskStatus, number>>;
  created_at: string;
  finished_at?: string;
}

/** A dispatch as the outbox keeps it: the task and the lease it was sent under. */
export interface DispatchRef {
  task_id: string;
  lease_id: string;
}

/** A message waiting in the outbox to be published. */
export interface OutboxMessage {
  exchange: string;
  routing_key: string;
  /** The message; absent in a dispatch loaded from the store, which names its tasks in `dispatch_of` instead. */
  body: unknown;
  /**
   * Only in messages loaded from the store: the dispatches (`dispatch` or a
   * `dispatches` group) this message carries, by task and lease. Their bodies,
   * params included, are not stored twice: they are built again from the
   * task records when the message must be published after all (see
   * `outbox-rebuild.ts`).
   */
  dispatch_of?: DispatchRef[];
  /** AMQP priority (dispatches). */
  priority?: number;
  /**
   * Not kept in the outbox: published after the commit, non-persistent,
   * best effort (grants and aborts, which the protocol repeats or recovers
   * through claims and heartbeats).
   */
  transient?: boolean;
  /**
   * The succeeded events in the body whose `result` the stored text leaves
   * out, by task id: their records hold the result, and an outbox drain
   * puts it back (see `outbox-rebuild.ts`). Set when the message is
   * serialised ({@link OutboxMessage.stored_json}) and in messages loaded from the store.
   */
  result_of?: string[];
  /** The body already serialised, when the producer did it (not stored: the outbox text and the publish reuse it). */
  json?: string;
  /** The body as its row stores it, where that differs from {@link OutboxMessage.json} (results left out; not stored as a field). */
  stored_json?: string;
}

/** The messages of one committed batch, kept in the outbox until all are confirmed. */
export interface OutboxRow {
  id: number;
  messages: OutboxMessage[];
}

/** The spec fields a client controls and the owning tenant, used to compare a resubmission with the stored task. */
export function specOf(r: TaskRecord): TaskSpec {
  const spec: TaskSpec = {
    task_id: r.task_id,
    function: r.function,
    params: r.params,
    queue: r.queue,
    priority: r.priority,
    depends_on: r.depends_on,
    labels: r.labels,
  };
  copyOptionalSpecFields(r, spec);
  return spec;
}

/** The optional fields a task's spec and its record share. */
type OptionalSpecFields = Pick<TaskSpec, 'kind' | 'trigger_rule' | 'retry' | 'timeout_ms' | 'delay_ms' | 'tenant'>;

/** Copies the optional spec fields that are set, always in the same order (so objects built alike share one shape). */
export function copyOptionalSpecFields(from: OptionalSpecFields, to: OptionalSpecFields): void {
  if (from.kind !== undefined) to.kind = from.kind;
  if (from.trigger_rule !== undefined) to.trigger_rule = from.trigger_rule;
  if (from.retry !== undefined) to.retry = from.retry;
  if (from.timeout_ms !== undefined) to.timeout_ms = from.timeout_ms;
  if (from.delay_ms !== undefined) to.delay_ms = from.delay_ms;
  if (from.tenant !== undefined) to.tenant = from.tenant;
}

/** Milliseconds a task waited in its queue before its current run started. */
export function queueWaitMs(r: TaskRecord): number | undefined {
  return ms(r.queued_at, r.started_at);
}

/** Milliseconds its last run took. */
export function runMs(r: TaskRecord): number | undefined {
  return ms(r.started_at, r.finished_at);
}

/** Where the task runs or ran. */
export function workerOf(r: TaskRecord): WorkerRef | undefined {
  return r.worker_id === undefined ? undefined : { id: r.worker_id, host: r.worker_host ?? '' };
}

function ms(from: string | undefined, to: string | undefined): number | undefined {
  if (!from || !to) return undefined;
  return Math.max(0, Date.parse(to) - Date.parse(from));
}

/**
 * Whether a query scoped to `tenant` may see `owner`'s task or workflow: an
 * unscoped query (`undefined`: an admin key, or no authentication) sees
 * everything; a scoped one sees only its own tenant's.
 */
export function visibleTo(tenant: string | undefined, owner: string | undefined): boolean {
  return tenant === undefined || owner === tenant;
}

/** The public view of a record (`GET /status`). */
export function toView(r: TaskRecord): TaskView {
  const view: TaskView = {
    task_id: r.task_id,
    function: r.function,
    queue: r.queue,
    priority: r.priority,
    status: r.status,
    attempt: r.attempt,
    params: r.params,
    depends_on: r.depends_on,
    labels: r.labels,
    created_at: r.created_at,
    history: r.history,
  };
  if (r.kind !== undefined) view.kind = r.kind;
  if (r.trigger_rule !== undefined) view.trigger_rule = r.trigger_rule;
  if (r.retry !== undefined) view.retry = r.retry;
  if (r.timeout_ms !== undefined) view.timeout_ms = r.timeout_ms;
  if (r.workflow_id !== undefined) view.workflow_id = r.workflow_id;
  if (r.tenant !== undefined) view.tenant = r.tenant;
  if (r.result !== undefined) view.result = r.result;
  if (r.error !== undefined) view.error = r.error;
  if (r.progress !== undefined) view.progress = r.progress;
  const worker = workerOf(r);
  if (worker !== undefined) view.worker = worker;
  if (r.queued_at !== undefined) view.queued_at = r.queued_at;
  if (r.started_at !== undefined) view.started_at = r.started_at;
  if (r.finished_at !== undefined) view.finished_at = r.finished_at;
  if (r.not_before !== undefined) view.not_before = r.not_before;
  const wait = queueWaitMs(r);
  if (wait !== undefined) view.queue_wait_ms = wait;
  const run = runMs(r);
  if (run !== undefined) view.run_ms = run;
  return view;
}
