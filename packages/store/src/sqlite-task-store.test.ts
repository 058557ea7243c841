import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SPEC_FIELDS, STATE_FIELDS } from './record-parts.js';
import { SqliteTaskStore } from './sqlite-task-store.js';
import type { TaskRecord } from './task-record.js';
import type { TaskStore } from './task-store.js';
import { describeTaskStoreConformance, recordWithEveryField } from './task-store-conformance.js';

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

describe('sqlite task store: a record in two parts', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sje-store-parts-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the spec once and only the state at a transition', async () => {
    const store = new SqliteTaskStore({ dataDir: dir });
    await store.init();
    const record = recordWithEveryField('t-parts');
    await store.commit({ tasks: [record], inserted: new Set([record.task_id]), outbox: [] });
    const raw = new Database(join(dir, 'tasks.db'), { readonly: true });
    const specAfterInsert = raw.prepare('SELECT spec FROM task_specs WHERE task_id = ?').pluck().get(record.task_id);
    const running: TaskRecord = { ...record, status: 'running', worker_id: 'w-1', worker_host: 'h', started_at: '2026-12-01T10:00:02.000Z' };
    await store.commit({ tasks: [running], inserted: new Set(), outbox: [] });

    const state = JSON.parse(raw.prepare('SELECT data FROM tasks WHERE task_id = ?').pluck().get(record.task_id) as string) as Record<string, unknown>;
    const spec = JSON.parse(raw.prepare('SELECT spec FROM task_specs WHERE task_id = ?').pluck().get(record.task_id) as string) as Record<string, unknown>;
    raw.close();
    expect(state).toMatchObject({ status: 'running', worker_id: 'w-1' });
    for (const field of SPEC_FIELDS) expect(state).not.toHaveProperty(field);
    for (const field of STATE_FIELDS) expect(spec).not.toHaveProperty(field);
    expect(JSON.stringify(spec)).toBe(specAfterInsert);
    expect((await store.getTasks([record.task_id])).get(record.task_id)).toEqual(running);
    await store.close();
  });

  it('splits the whole records of a store written before the split when it opens', async () => {
    const store = new SqliteTaskStore({ dataDir: dir });
    await store.init();
    await store.close();
    // The store as the version before the split left it: whole records in tasks.data, no task_specs.
    const records = [recordWithEveryField('t-old-1'), { ...recordWithEveryField('t-old-2'), workflow_id: undefined, status: 'succeeded' as const, result: { ok: true }, finished_at: '2026-12-01T10:00:03.000Z' }];
    const old = new Database(join(dir, 'tasks.db'));
    old.exec('DROP TABLE task_specs');
    const insert = old.prepare(
      "INSERT INTO tasks (task_id, workflow_id, status, function, queue, deps_remaining, updated_at, data) VALUES (?, ?, ?, ?, ?, 0, '2026-12-01T10:00:00.000Z', ?)",
    );
    for (const r of records) insert.run(r.task_id, r.workflow_id ?? null, r.status, r.function, r.queue, JSON.stringify(r));
    old.pragma('user_version = 4');
    old.close();

    const reopened = new SqliteTaskStore({ dataDir: dir });
    await reopened.init();
    const read = await reopened.getTasks(records.map((r) => r.task_id));
    expect(read.get('t-old-1')).toEqual(records[0]);
    expect(read.get('t-old-2')).toEqual(JSON.parse(JSON.stringify(records[1])));
    expect(await reopened.getWorkflowTasks('wf-1')).toEqual([records[0]]);
    await reopened.close();
    const raw = new Database(join(dir, 'tasks.db'), { readonly: true });
    const data = raw.prepare('SELECT data FROM tasks').pluck().all() as string[];
    raw.close();
    for (const d of data) expect(JSON.parse(d)).not.toHaveProperty('params');
  });
});
