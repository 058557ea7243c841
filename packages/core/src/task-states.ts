/**
 * The task state machine: the one place that defines legal transitions.
 * @module
 */

/** Every state a task can be in. */
export const TaskStatus = {
  PENDING: 'pending',
  QUEUED: 'queued',
  RUNNING: 'running',
  RETRYING: 'retrying',
  WAITING_APPROVAL: 'waiting_approval',
  SUCCEEDED: 'succeeded',
  FAILED: 'failed',
  TIMED_OUT: 'timed_out',
  CANCELLED: 'cancelled',
  SKIPPED: 'skipped',
} as const;

/** A task state. */
export type TaskStatus = (typeof TaskStatus)[keyof typeof TaskStatus];

/** All task states, in lifecycle order. */
export const TASK_STATUSES: readonly TaskStatus[] = Object.values(TaskStatus);

/** States from which a task never moves again. */
export const FINAL_STATUSES: ReadonlySet<TaskStatus> = new Set<TaskStatus>([
  TaskStatus.SUCCEEDED,
  TaskStatus.FAILED,
  TaskStatus.TIMED_OUT,
  TaskStatus.CANCELLED,
  TaskStatus.SKIPPED,
]);

const TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  pending: ['queued', 'waiting_approval', 'cancelled', 'skipped'],
  waiting_approval: ['succeeded', 'failed', 'cancelled'],
  queued: ['running', 'cancelled', 'pending'],
  running: ['succeeded', 'failed', 'timed_out', 'cancelled', 'retrying', 'queued'],
  retrying: ['queued', 'cancelled', 'pending'],
  succeeded: [],
  failed: [],
  timed_out: [],
  cancelled: [],
  skipped: [],
};

/** Whether `status` is final (the task will never change again). */
export function isFinalStatus(status: TaskStatus): boolean {
  return FINAL_STATUSES.has(status);
}

/**
 * Whether a task may move from `from` to `to`.
 * `running → queued` is the re-queue of a task whose worker was lost or shut
 * down; `queued → pending` and `retrying → pending` happen only when a
 * dependency is re-evaluated.
 */
export function canTransition(from: TaskStatus, to: TaskStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** The states reachable from `from` in one step. */
export function nextStatuses(from: TaskStatus): readonly TaskStatus[] {
  return TRANSITIONS[from];
}
