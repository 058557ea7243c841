import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteTaskStore } from './sqlite-task-store.js';
import type { TaskStore } from './task-store.js';
import { describeTaskStoreConformance } from './task-store-conformance.js';

const dirs = new Map<TaskStore, string>();

describeTaskStoreConformance('sqlite', {
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'sje-store-'));
    const store = new SqliteTaskStore({ dataDir: dir });
    await store.init();
    dirs.set(store, dir);
    return store;
  },
  async reopen(store) {
    const dir = dirs.get(store) as string;
    await store.close();
    dirs.delete(store);
    const again = new SqliteTaskStore({ dataDir: dir });
    await again.init();
    dirs.set(again, dir);
    return again;
  },
  async dispose(store) {
    await store.close();
    const dir = dirs.get(store);
    dirs.delete(store);
    if (dir) rmSync(dir, { recursive: true, force: true });
  },
});
