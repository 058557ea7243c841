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
export { SqliteTaskStore } from './internal/store/sqlite-task-store.js';
export { PostgresTaskStore } from './internal/store/postgres-task-store.js';
export type { PostgresTaskStoreOptions } from './internal/store/postgres-task-store.js';
export type { SqliteTaskStoreOptions } from './internal/store/sqlite-task-store.js';
export type { StoreCommit, TaskStore } from './internal/store/task-store.js';
export type { OutboxMessage, OutboxRow, TaskRecord } from './internal/store/task-record.js';
