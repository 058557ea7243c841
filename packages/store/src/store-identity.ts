/**
 * What a task-manager tells of its store on its ops endpoint (`GET /store`),
 * so that an executor on the same host can read the same file itself: which
 * kind of store, and for SQLite the file's absolute path and its store id
 * (a reader checks the id in the file it opens, see {@link SqliteTaskReader}).
 */
import { resolve } from 'node:path';
import { SqliteTaskStore } from './sqlite-task-store.js';
import type { TaskStore } from './task-store.js';

/** A task-manager's description of its store. */
export type StoreIdentity = { store: 'sqlite'; file: string; store_id: string } | { store: 'postgres' };

/** The identity of an open store. */
export function storeIdentity(store: TaskStore): StoreIdentity {
  return store instanceof SqliteTaskStore ? { store: 'sqlite', file: resolve(store.file), store_id: store.storeId } : { store: 'postgres' };
}

/** Whether `body` (parsed JSON from an ops endpoint) is a {@link StoreIdentity}. */
export function isStoreIdentity(body: unknown): body is StoreIdentity {
  if (typeof body !== 'object' || body === null) return false;
  const b = body as Record<string, unknown>;
  if (b['store'] === 'postgres') return true;
  return b['store'] === 'sqlite' && typeof b['file'] === 'string' && b['file'] !== '' && typeof b['store_id'] === 'string' && b['store_id'] !== '';
}
