/**
 * Task and message types: everything that crosses RabbitMQ or the REST API.
 * Each message type has a JSON schema in `schemas.ts`, checked on receipt.
 * @module
 */
import type { SerializedError } from './errors.js';
import type { TaskStatus } from './task-states.js';

/** How a failed task is retried. */
export interface RetryPolicy {
  /** Total attempts including the first. @defaultValue 1 (no retry) */
  max_attempts: number;
  /** Backoff shape. @defaultValue 'exponential' */
  backoff?: 'fixed' | 'exponential';
  /** First (or every, for `fixed`) delay in ms. @defaultValue 1000 */
  delay_ms?: number;
  /** Upper bound of one delay in ms. @defaultValue 300000 */
  max_delay_ms?: number;
  /** Randomise each delay (full jitter between half and the whole delay). @defaultValue true */
  jitter?: boolean;
}

/**
 * When a task with dependencies runs: `all_success` (default) only when every
 * dependency succeeded; `all_done` once every dependency is final, whatever
 * its outcome.
 */
export type TriggerRule = 'all_success' | 'all_done';

/** `task` runs a handler; `approval` waits for a person (`POST /approve` or `/reject`). */
export type TaskKind = 'task' | 'approval';

/** A task as a client submits it (`POST /submit`). Only `function` is required (not for approvals). */
export interface TaskInput {
  task_id?: string;
  function?: string;
  kind?: TaskKind;
  trigger_rule?: TriggerRule;
  /** Expand into one task per point of the cartesian product of these parameter values. */
  scan?: Record<string, unknown[]>;
  params?: Record<string, unknown>;
  queue?: string;
  priority?: number;
  depends_on?: string[];
  retry?: RetryPolicy;
  timeout_ms?: number;
  delay_ms?: number;
  labels?: Record<string, string>;
}

/** A task as the executor hands it to the task-manager: every default filled in. */
export interface TaskSpec {
  task_id: string;
  function: string;
  kind?: TaskKind;
  trigger_rule?: TriggerRule;
  params: Record<string, unknown>;
  queue: string;
  priority: number;
  depends_on: string[];
  retry?: RetryPolicy;
  timeout_ms?: number;
  delay_ms?: number;
  labels: Record<string, string>;
  /**
   * The tenant that owns the task: set by the executor from the API key that
   * submitted it, never from the request body. Absent when the API runs
   * without authentication (`security.auth: none`) or for an admin key with
   * no tenant.
   */
  tenant?: string;
}

/** One recorded state transition of a task. */
export interface HistoryEntry {
  status: TaskStatus;
  at: string;
  attempt: number;
  reason?: string;
  worker_id?: string;
}

/** Where a task ran. */
export interface WorkerRef {
  id: string;
  host: string;
}

/** What `GET /status/:task_id` returns: the task's full record. */
export interface TaskView {
  task_id: string;
  function: string;
  kind?: TaskKind;
  trigger_rule?: TriggerRule;
  queue: string;
  priority: number;
  status: TaskStatus;
  attempt: number;
  params: Record<string, unknown>;
  depends_on: string[];
  labels: Record<string, string>;
  retry?: RetryPolicy;
  timeout_ms?: number;
  workflow_id?: string;
  /** The tenant that owns the task (see {@link TaskSpec.tenant}). */
  tenant?: string;
  result?: unknown;
  error?: SerializedError;
  progress?: number;
  worker?: WorkerRef;
  created_at: string;
  queued_at?: string;
  started_at?: string;
  finished_at?: string;
  /** When a delayed or retrying task becomes due. */
  not_before?: string;
  queue_wait_ms?: number;
  run_ms?: number;
  history: HistoryEntry[];
}

// ---------------------------------------------------------------- commands → task-manager

/** Executor → task-manager: store these tasks (a batch is applied atomically). */
export interface SubmitCommand {
  type: 'submit';
  tasks: TaskSpec[];
  workflow_id?: string;
  /** Name of the workflow template the batch came from. */
  template?: string;
  submitted_at: string;
}

/** Executor → task-manager: cancel a task. */
export interface CancelCommand {
  type: 'cancel';
  task_id: string;
  requested_at: string;
}

/** Worker → task-manager: I hold this dispatch and want to start it (a lease claim). */
export interface StartedReport {
  type: 'started';
  task_id: string;
  lease_id: string;
  worker_id: string;
  host: string;
  at: string;
}

/**
 * What a worker asks of the task-manager with a report message it sent
 * transient on the claims queue (at idle, instead of a quorum write on the
 * commands queue): a `stored` control message back to `worker_id` naming
 * `seq` once the message's changes are committed to the store.
 */
export interface ReportReceipt {
  worker_id: string;
  /** Increases with every receipt the worker process asks for. */
  seq: number;
}

/** Worker → task-manager: progress of a running task (0-100). */
export interface ProgressReport {
  type: 'progress';
  task_id: string;
  lease_id: string;
  progress: number;
  at: string;
  /** Sent transient: answer once stored (see {@link ReportReceipt}). */
  receipt?: ReportReceipt;
}

/** How a run ended, as the worker saw it. `requeue`: aborted by a worker shutdown, run again without using an attempt. */
export type RunOutcome = 'succeeded' | 'failed' | 'timed_out' | 'cancelled' | 'requeue';

/** Worker → task-manager: a run ended. */
export interface OutcomeReport {
  type: 'outcome';
  task_id: string;
  lease_id: string;
  worker_id: string;
  outcome: RunOutcome;
  result?: unknown;
  error?: SerializedError;
  at: string;
  /** Sent transient: answer once stored (see {@link ReportReceipt}). */
  receipt?: ReportReceipt;
}

/** One report of a worker about a run. */
export type RunReport = StartedReport | ProgressReport | OutcomeReport;

/** Worker → task-manager: several reports in one message (coalesced under load). */
export interface ReportsBatch {
  type: 'reports';
  reports: RunReport[];
  /** Sent transient: answer once stored (see {@link ReportReceipt}). */
  receipt?: ReportReceipt;
}

/**
 * Executor → task-manager: submit commands of separate requests that met in
 * one message (coalesced under load). Each is applied on its own: one that
 * fails (an id already taken by another spec) is dead-lettered alone.
 */
export interface SubmitsBatch {
  type: 'submits';
  submits: SubmitCommand[];
}

/** Everything the task-manager consumes from its durable command queue. */
export type TaskManagerCommand = SubmitCommand | SubmitsBatch | CancelCommand | StartedReport | ProgressReport | OutcomeReport | ReportsBatch;

// ---------------------------------------------------------------- worker lifecycle

/** Worker → task-manager: a worker came online. */
export interface WorkerRegister {
  type: 'register';
  worker_id: string;
  host: string;
  pid: number;
  queues: string[];
  functions: string[];
  concurrency: number;
  started_at: string;
}

/** A task's lease as a worker names it (a task of a dispatch, under the lease of that dispatch). */
export interface LeaseRef {
  task_id: string;
  lease_id: string;
}

/** Worker → task-manager: still alive, running these leases. */
export interface WorkerHeartbeat {
  type: 'heartbeat';
  worker_id: string;
  host: string;
  running: LeaseRef[];
  /** How far this worker took in the {@link AssignCommand}s of a task-manager process, without a gap. */
  assigned?: AssignmentMark;
  at: string;
}

/** Where a worker stands in the stream of {@link AssignCommand}s one task-manager process sent it. */
export interface AssignmentMark {
  /** The sending task-manager process (a new one starts its sequence again). */
  epoch: string;
  /**
   * The highest sequence number up to which the worker took in every assign
   * from that process since its `base`: an assign lost on the way (with the
   * worker's control queue, in a broker restart) stops the mark before it,
   * and later ones are confirmed by the leases the heartbeat lists.
   */
  seq: number;
}

/**
 * Worker → task-manager: going offline on purpose, after its outcome reports
 * were confirmed. Those reports travel on another queue and may reach the
 * task-manager after this message, so only the leases in `released` are
 * handed on at once; any other task still running on the worker waits for
 * its outcome (for `worker_timeout_ms` at most).
 */
export interface WorkerDeregister {
  type: 'deregister';
  worker_id: string;
  at: string;
  /**
   * The leases it gives back without a confirmed outcome: claims it gave up
   * (possibly granted), runs that did not end, outcomes it could not
   * deliver. Absent (a worker of an earlier version): everything it held.
   */
  released?: LeaseRef[];
}

/** Everything on the worker lifecycle queue. */
export type WorkerMessage = WorkerRegister | WorkerHeartbeat | WorkerDeregister;

// ---------------------------------------------------------------- dispatch and control

/** Task-manager → worker pool: run this task. */
export interface DispatchMessage {
  type: 'dispatch';
  task_id: string;
  lease_id: string;
  function: string;
  params: Record<string, unknown>;
  attempt: number;
  queue: string;
  priority: number;
  timeout_ms?: number;
  labels: Record<string, string>;
  workflow_id?: string;
  /** Results of the task's direct dependencies, keyed by task id. */
  dependencies?: Record<string, unknown>;
}

/**
 * Task-manager → worker pool: several dispatches of one queue and one
 * priority in one message, sent under a backlog so that the broker writes,
 * delivers and is acknowledged once for the group. A worker admits each task
 * as if it came alone and acknowledges the delivery once every task in it has
 * had its claim answered. At idle every dispatch travels alone as a
 * {@link DispatchMessage}.
 */
export interface DispatchMessages {
  type: 'dispatches';
  tasks: DispatchMessage[];
}

/** A message on a task queue: one dispatch or a group of them. */
export type TaskQueueMessage = DispatchMessage | DispatchMessages;

/** Task-manager → one worker: the answer to its lease claim. */
export interface LeaseGrant {
  type: 'grant';
  task_id: string;
  lease_id: string;
  granted: boolean;
  reason?: string;
}

/** Task-manager → all workers: abort this task if you run it. */
export interface AbortCommand {
  type: 'abort';
  task_id: string;
  lease_id?: string;
  reason: 'cancelled' | 'timed_out' | 'lease_lost';
}

/**
 * Task-manager → one worker: the answers to several of its claims, sent
 * together when one batch of the task-manager answered them (under load).
 */
export interface LeaseGrants {
  type: 'grants';
  grants: LeaseGrant[];
}

/**
 * Task-manager → one worker with a free slot, at idle: run these tasks. Each
 * is already `running` under its lease on this worker (granted, no claim to
 * send); the task-manager learns from the worker's next heartbeat
 * (`assigned.seq` ≥ `seq`) that the command arrived, and hands the tasks on
 * when it did not.
 */
export interface AssignCommand {
  type: 'assign';
  /** The sending task-manager process. */
  epoch: string;
  /** Increases by one with every assign the process sends this worker. */
  seq: number;
  /**
   * The `seq` of the first assign since the process started sending to this
   * worker, or last forgot it (lost, or restarted under the same id): where
   * the worker's count of assigns taken in without a gap starts. Absent (a
   * task-manager of an earlier version): the mark is the highest `seq` seen.
   */
  base?: number;
  tasks: DispatchMessage[];
}

/**
 * Task-manager → one worker: send your `register` again. A task-manager
 * process that started after the worker registered hears only its
 * heartbeats, which name neither its pools, its functions nor its
 * concurrency; it asks at the first one instead of waiting for the worker's
 * periodic `register`, so assignment resumes within a heartbeat.
 */
export interface RegisterRequest {
  type: 'register_request';
}

/**
 * Task-manager → one worker: the report message it sent with receipt `seq`
 * (see {@link ReportReceipt}) is applied and committed to the store; the
 * worker may let go of it as if the broker had confirmed it on the durable
 * commands queue.
 */
export interface ReportStored {
  type: 'stored';
  seq: number;
}

/** Everything on a worker's control queue. */
export type ControlMessage = LeaseGrant | LeaseGrants | AbortCommand | AssignCommand | RegisterRequest | ReportStored;

// ---------------------------------------------------------------- events

/** Task-manager → anyone: the authoritative record of a state change. Routing key `task.<status>.<function>`. */
export interface TaskEvent {
  type: 'task_event';
  task_id: string;
  function: string;
  queue: string;
  status: TaskStatus;
  previous_status?: TaskStatus;
  attempt: number;
  at: string;
  labels: Record<string, string>;
  workflow_id?: string;
  /** The tenant that owns the task, so subscribers can filter by it (see {@link TaskSpec.tenant}). */
  tenant?: string;
  worker?: WorkerRef;
  result?: unknown;
  error?: SerializedError;
  progress?: number;
  reason?: string;
  queue_wait_ms?: number;
  run_ms?: number;
}

/**
 * Task-manager → anyone: several state events with the same routing key
 * (same status and function), raised by one task-manager batch, in one
 * message. At idle every event travels alone as a {@link TaskEvent}; under
 * load they travel together. Events of one task keep their order.
 */
export interface TaskEvents {
  type: 'task_events';
  events: TaskEvent[];
}

/** A message on the events exchange under a `task.*` routing key. */
export type TaskEventMessage = TaskEvent | TaskEvents;

// ---------------------------------------------------------------- queries (executor → task-manager RPC)

/**
 * Queries on tasks and workflows may name the caller's tenant: the
 * task-manager then answers as if tasks and workflows of any other tenant did
 * not exist. Absent: no filter (an admin key, or the API without
 * authentication).
 */
export interface TenantScoped {
  tenant?: string;
}

/** Executor → task-manager: read tasks by id. */
export interface GetTasksQuery extends TenantScoped {
  type: 'get_tasks';
  task_ids: string[];
}

/** The answer to a {@link GetTasksQuery}: one entry per id, `null` where unknown. */
export interface GetTasksReply {
  type: 'tasks';
  tasks: (TaskView | null)[];
}

/** Executor → task-manager: cancel a task now and answer with its new state. */
export interface CancelTaskQuery extends TenantScoped {
  type: 'cancel_task';
  task_id: string;
}

/** The answer to a {@link CancelTaskQuery}. `task` is null when the task is unknown. */
export interface CancelTaskReply {
  type: 'cancel_result';
  task: TaskView | null;
  /** The status before the cancel. */
  previous_status?: TaskStatus;
  /** False when the task was already final (nothing changed). */
  changed: boolean;
}

/** A query failed on the task-manager side. */
export interface ErrorReply {
  type: 'error';
  error: SerializedError;
}

/** Aggregated state of a workflow. */
export type WorkflowStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'partially_succeeded';

/** One task inside a {@link WorkflowView}. */
export interface WorkflowTaskView {
  task_id: string;
  function: string;
  status: TaskStatus;
  attempt: number;
  depends_on: string[];
  result?: unknown;
  error?: SerializedError;
}

/** What `GET /workflows/:id` returns. */
export interface WorkflowView {
  workflow_id: string;
  /** Template it came from, if any. */
  template?: string;
  status: WorkflowStatus;
  counts: Partial<Record<TaskStatus, number>>;
  total: number;
  tasks: WorkflowTaskView[];
  /** `[from, to]`: `to` depends on `from`. */
  edges: [string, string][];
  created_at: string;
  finished_at?: string;
  /** The tenant that owns the workflow's tasks. */
  tenant?: string;
}

/** Task-manager → anyone: a workflow's aggregate status changed. Routing key `workflow.<status>`. */
export interface WorkflowEvent {
  type: 'workflow_event';
  workflow_id: string;
  status: WorkflowStatus;
  previous_status?: WorkflowStatus;
  counts: Partial<Record<TaskStatus, number>>;
  total: number;
  at: string;
  /** The tenant that owns the workflow's tasks. */
  tenant?: string;
}

/** Executor → task-manager: read a workflow. */
export interface GetWorkflowQuery extends TenantScoped {
  type: 'get_workflow';
  workflow_id: string;
}

/** Executor → task-manager: cancel every task of a workflow that is not final. */
export interface CancelWorkflowQuery extends TenantScoped {
  type: 'cancel_workflow';
  workflow_id: string;
}

/** The answer to a workflow query: null when unknown. */
export interface WorkflowReply {
  type: 'workflow';
  workflow: WorkflowView | null;
}

/** Executor → task-manager: decide an approval gate. */
export interface DecideApprovalQuery extends TenantScoped {
  type: 'decide_approval';
  task_id: string;
  approve: boolean;
  comment?: string;
}

/** The answer to a {@link DecideApprovalQuery}. */
export interface ApprovalReply {
  type: 'approval_result';
  task: TaskView | null;
  previous_status?: TaskStatus;
  /** False when the task was not waiting for approval (nothing changed). */
  changed: boolean;
}

/** Executor → task-manager: which functions the workers online have declared, per worker pool (queue). */
export interface GetFunctionsQuery {
  type: 'get_functions';
}

/** The answer to a {@link GetFunctionsQuery}: for each queue, the functions some worker taking from it registered. */
export interface FunctionsReply {
  type: 'functions';
  queues: Record<string, string[]>;
}

/** Every query the task-manager answers. */
export type TaskManagerQuery = GetTasksQuery | CancelTaskQuery | GetWorkflowQuery | CancelWorkflowQuery | DecideApprovalQuery | GetFunctionsQuery;

/** Every reply the task-manager sends to a query. */
export type TaskManagerReply = GetTasksReply | CancelTaskReply | WorkflowReply | ApprovalReply | FunctionsReply | ErrorReply;
