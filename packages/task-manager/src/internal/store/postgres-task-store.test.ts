import { randomUUID } from 'node:crypto';
import { PostgresTaskStore } from './postgres-task-store.js';
import type { TaskStore } from './task-store.js';
import { describeTaskStoreConformance } from './task-store-conformance.js';

/** The PostgreSQL server the tests use (this project's machines run one with trust auth). */
const url = process.env['SJE_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const prefixes = new Map<TaskStore, string>();

describeTaskStoreConformance('postgres', {
  async open() {
    const prefix = `t_${randomUUID().slice(0, 8)}_`;
    const store = new PostgresTaskStore({ url, tablePrefix: prefix });
    await store.init();
    prefixes.set(store, prefix);
    return store;
  },
  async reopen(store) {
    const prefix = prefixes.get(store) as string;
    await store.close();
    prefixes.delete(store);
    const again = new PostgresTaskStore({ url, tablePrefix: prefix });
    await again.init();
    prefixes.set(again, prefix);
    return again;
  },
  async dispose(store) {
    await (store as PostgresTaskStore).dropAll();
    await store.close();
    prefixes.delete(store);
  },
});
