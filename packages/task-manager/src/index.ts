/**
 * `@sje/task-manager`: the brain of SJE — the task store, state machine,
 * dependencies, retries and delays, worker leases, cancellation.
 *
 * @example
 * ```ts
 * import { loadConfig } from '@sje/core';
 * import { createTaskManager } from '@sje/task-manager';
 * const tm = await createTaskManager({ config: loadConfig({ file: 'config/default.yaml' }) });
 * await tm.start();
 * process.on('SIGTERM', () => void tm.close());
 * ```
 * @module
 */
export { createTaskManager } from './task-manager.js';
export type { TaskManager, TaskManagerOptions } from './task-manager.js';
// The stores, re-exported from @sje/store for those who open one beside a task-manager.
export { PostgresTaskStore, SqliteTaskStore } from '@sje/store';
export type { OutboxMessage, OutboxRow, PostgresTaskStoreOptions, SqliteTaskStoreOptions, StoreCommit, TaskRecord, TaskStore } from '@sje/store';
