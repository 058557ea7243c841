/**
 * The task store interface. The embedded SQLite store implements it; a
 * PostgreSQL store joins it later. Only the task-manager's command loop
 * writes, through {@link TaskStore.commit}; reads may come from anywhere.
 */
import type { TaskStatus } from '@sje/core';
import type { OutboxMessage, OutboxRow, TaskRecord, WorkflowRecord } from './task-record.js';

/** Everything one command-loop batch changes, committed atomically. */
export interface StoreCommit {
  /** Tasks created or changed (whole records). */
  tasks: TaskRecord[];
  /**
   * Ids among `tasks` that are new; every other record of `tasks` is already
   * stored. A store may use it to update rows in place instead of upserting
   * them. @defaultValue unknown: every record is upserted
   */
  inserted?: ReadonlySet<string>;
  /** Messages to publish once committed. */
  outbox: OutboxMessage[];
  /** Workflows created or changed. */
  workflows?: WorkflowRecord[];
  /** Outbox rows whose messages the broker has confirmed since: removed in the same transaction. */
  published?: readonly number[];
}

/** Whether the batch says task `taskId` is already stored (not among its {@link StoreCommit.inserted}); `false` when it does not say. */
export function storedBefore(batch: StoreCommit, taskId: string): boolean {
  return batch.inserted !== undefined && !batch.inserted.has(taskId);
}

/** The durable store of tasks, their history and the outbox. */
export interface TaskStore {
  /** Opens the store and runs migrations. */
  init(): Promise<void>;
  close(): Promise<void>;
  /** Records by id; unknown ids are absent from the map. */
  getTasks(ids: readonly string[]): Promise<Map<string, TaskRecord>>;
  /** Ids of the tasks that depend on `taskId`. */
  getDependents(taskId: string): Promise<string[]>;
  /** Tasks in `running`, optionally only those held by one worker. */
  getRunningTasks(workerId?: string): Promise<TaskRecord[]>;
  /** Tasks in `queued`, in submission order (read at start-up, to send again the dispatches of a backlog the previous process held). */
  getQueuedTasks(): Promise<TaskRecord[]>;
  /** `pending`/`retrying` tasks with no dependency left whose `not_before` has passed. */
  getDueTasks(now: string, limit: number): Promise<TaskRecord[]>;
  /** The earliest `not_before` of a waiting task with no dependency left. */
  nextDueTime(): Promise<string | undefined>;
  /**
   * Commits a batch atomically; returns the outbox row written (one row holds
   * all the batch's messages; none when it has no message).
   */
  commit(batch: StoreCommit): Promise<OutboxRow[]>;
  /** Outbox rows not yet published (after a crash), oldest first. */
  loadOutbox(limit: number): Promise<OutboxRow[]>;
  /** Removes published outbox rows. */
  deleteOutbox(ids: readonly number[]): Promise<void>;
  /** A workflow's record. */
  getWorkflow(workflowId: string): Promise<WorkflowRecord | undefined>;
  /** Every task of a workflow, in submission order. */
  getWorkflowTasks(workflowId: string): Promise<TaskRecord[]>;
  /** Number of tasks in each status. */
  countByStatus(): Promise<Partial<Record<TaskStatus, number>>>;
}
