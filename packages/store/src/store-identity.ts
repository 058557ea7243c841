/**
 * What a task-manager tells of its store on its ops endpoint (`GET /store`),
 * so that an executor can read the store itself: which kind of store, its
 * store id (a reader checks the id in what it opens: {@link SqliteTaskReader},
 * {@link PostgresTaskReader}), and where it is — for SQLite the file's
 * absolute path (the executor must be on the same host or share the
 * volume), for PostgreSQL the table prefix (the executor connects with its
 * own `task_manager.postgres_url`; the task-manager never hands out its
 * credentials).
 */
import { resolve } from 'node:path';
import { PostgresTaskStore } from './postgres-task-store.js';
import { SqliteTaskStore } from './sqlite-task-store.js';
import type { TaskStore } from './task-store.js';

/** A task-manager's description of its store. */
export type StoreIdentity = { store: 'sqlite'; file: string; store_id: string } | { store: 'postgres'; table_prefix: string; store_id: string };

/** The identity of an open store; `undefined` for a store of another kind (one a test made). */
export function storeIdentity(store: TaskStore): StoreIdentity | undefined {
  if (store instanceof SqliteTaskStore) return { store: 'sqlite', file: resolve(store.file), store_id: store.storeId };
  if (store instanceof PostgresTaskStore) return { store: 'postgres', table_prefix: store.tablePrefix, store_id: store.storeId };
  return undefined;
}

/** Whether `body` (parsed JSON from an ops endpoint) is a {@link StoreIdentity}. */
export function isStoreIdentity(body: unknown): body is StoreIdentity {
  if (typeof body !== 'object' || body === null) return false;
  const b = body as Record<string, unknown>;
  const nonEmpty = (v: unknown): boolean => typeof v === 'string' && v !== '';
  if (!nonEmpty(b['store_id'])) return false;
  return (b['store'] === 'sqlite' && nonEmpty(b['file'])) || (b['store'] === 'postgres' && nonEmpty(b['table_prefix']));
}
