import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PostgresTaskStore } from './postgres-task-store.js';
import { SPEC_FIELDS, STATE_FIELDS } from './record-parts.js';
import type { TaskRecord } from './task-record.js';
import type { TaskStore } from './task-store.js';
import { describeTaskStoreConformance, recordWithEveryField } from './task-store-conformance.js';

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

describe('postgres task store: a record in two parts', () => {
  let prefix: string;
  let store: PostgresTaskStore;
  let raw: pg.Client;
  const rowOf = async (id: string): Promise<{ spec: Record<string, unknown> | null; data: Record<string, unknown> }> => {
    const { rows } = await raw.query<{ spec: Record<string, unknown> | null; data: Record<string, unknown> }>(`SELECT spec, data FROM ${prefix}tasks WHERE task_id = $1`, [id]);
    return rows[0]!;
  };

  beforeEach(async () => {
    prefix = `t_${randomUUID().slice(0, 8)}_`;
    store = new PostgresTaskStore({ url, tablePrefix: prefix });
    await store.init();
    raw = new pg.Client({ connectionString: url });
    await raw.connect();
  });
  afterEach(async () => {
    await raw.end();
    await store.dropAll();
    await store.close();
  });

  it('writes the spec once and only the state at a transition', async () => {
    const record = recordWithEveryField('t-parts');
    await store.commit({ tasks: [record], inserted: new Set([record.task_id]), outbox: [] });
    const specAfterInsert = (await rowOf(record.task_id)).spec;
    const running: TaskRecord = { ...record, status: 'running', worker_id: 'w-1', worker_host: 'h', started_at: '2026-12-01T10:00:02.000Z' };
    await store.commit({ tasks: [running], inserted: new Set(), outbox: [] });

    const { spec, data } = await rowOf(record.task_id);
    expect(data).toMatchObject({ status: 'running', worker_id: 'w-1' });
    for (const field of SPEC_FIELDS) expect(data).not.toHaveProperty(field);
    for (const field of STATE_FIELDS) expect(spec).not.toHaveProperty(field);
    expect(spec).toEqual(specAfterInsert);
    expect((await store.getTasks([record.task_id])).get(record.task_id)).toEqual(running);
  });

  it('splits whole records when it opens a store written before the split', async () => {
    const record = recordWithEveryField('t-old');
    await raw.query(
      `INSERT INTO ${prefix}tasks (task_id, workflow_id, status, function, queue, deps_remaining, data) VALUES ($1, $2, $3, $4, $5, 0, $6::jsonb)`,
      [record.task_id, record.workflow_id, record.status, record.function, record.queue, JSON.stringify(record)],
    );
    await raw.query(`DELETE FROM ${prefix}schema_migrations WHERE version >= 4`);
    await store.close();
    store = new PostgresTaskStore({ url, tablePrefix: prefix });
    await store.init();

    const { spec, data } = await rowOf(record.task_id);
    expect(spec).toHaveProperty('params', record.params);
    expect(data).not.toHaveProperty('params');
    expect((await store.getTasks([record.task_id])).get(record.task_id)).toEqual(record);
    expect(await store.getWorkflowTasks('wf-1')).toEqual([record]);
  });

  it('gives its spec to a row written whole by an older task-manager when it updates it', async () => {
    const record = recordWithEveryField('t-whole');
    await raw.query(
      `INSERT INTO ${prefix}tasks (task_id, workflow_id, status, function, queue, deps_remaining, data) VALUES ($1, $2, $3, $4, $5, 0, $6::jsonb)`,
      [record.task_id, record.workflow_id, record.status, record.function, record.queue, JSON.stringify(record)],
    );
    const running: TaskRecord = { ...record, status: 'running', worker_id: 'w-1' };
    await store.commit({ tasks: [running], inserted: new Set(), outbox: [] });
    expect((await rowOf(record.task_id)).spec).toHaveProperty('params', record.params);
    expect((await store.getTasks([record.task_id])).get(record.task_id)).toEqual(running);
  });
});
