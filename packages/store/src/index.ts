/**
 * `@sje/store`: the durable task store. The task-manager writes it (through
 * {@link TaskStore.commit}, the only writer); an executor may read a task
 * from the store directly: the embedded store's file on the same host
 * ({@link SqliteTaskReader}) or the PostgreSQL tables ({@link PostgresTaskReader}).
 *
 * - {@link SqliteTaskStore}: the embedded default, one SQLite file in WAL mode.
 * - {@link PostgresTaskStore}: a shared server, which allows a standby task-manager.
 * - {@link TaskRecord}, {@link toView}: what is stored of a task, and its public view.
 */
export * from './task-record.js';
export * from './task-store.js';
export { outboxText, serializeOutboxMessage, stripNullPriority } from './outbox-text.js';
export * from './sqlite-task-store.js';
export { SqliteTaskReader } from './sqlite-task-reader.js';
export { isStoreIdentity, storeIdentity, type StoreIdentity } from './store-identity.js';
export * from './postgres-task-store.js';
export { PostgresTaskReader, type PostgresTaskReaderOptions } from './postgres-task-reader.js';
export type { CheckpointStats } from './wal-checkpointer.js';
