/**
 * The PostgreSQL task store: the same records, history and outbox as the
 * embedded store, in a server several hosts can reach, so a standby
 * task-manager can take over (see {@link PostgresTaskStore.acquireLeadership}).
 * A record is kept in two parts, as in the embedded store (see
 * `record-parts.ts`): the spec in `spec`, written when the task is stored,
 * and the state in `data`, the only column a transition rewrites (an
 * unchanged column's value, once moved out of line, is not written again).
 */
import pg from 'pg';
import type { TaskStatus } from '@sje/core';
import { SPEC_FIELDS, specJson, STATE_FIELDS, stateJson } from './record-parts.js';
import { checkedTablePrefix, PG_STORE_ID, pgRecordOf as recordOf, withPrefix, type PgTaskRow as TaskRow } from './postgres-task-rows.js';
import { outboxText, stripNullPriority } from './outbox-text.js';
import type { OutboxMessage, OutboxRow, TaskRecord, WorkflowRecord } from './task-record.js';
import { storedBefore, type StoreCommit, type TaskStore } from './task-store.js';

/** Versioned schema migrations; each runs once, in order, at start-up, under a lock. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS {p}tasks (
     task_id TEXT PRIMARY KEY,
     workflow_id TEXT,
     status TEXT NOT NULL,
     function TEXT NOT NULL,
     queue TEXT NOT NULL,
     worker_id TEXT,
     not_before TEXT,
     deps_remaining INTEGER NOT NULL DEFAULT 0,
     updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     data JSONB NOT NULL
   );
   CREATE INDEX IF NOT EXISTS {p}tasks_running ON {p}tasks (worker_id) WHERE status = 'running';
   CREATE INDEX IF NOT EXISTS {p}tasks_waiting ON {p}tasks (not_before) WHERE status IN ('pending', 'retrying') AND deps_remaining = 0;
   CREATE INDEX IF NOT EXISTS {p}tasks_workflow ON {p}tasks (workflow_id) WHERE workflow_id IS NOT NULL;
   CREATE TABLE IF NOT EXISTS {p}task_deps (
     task_id TEXT NOT NULL,
     depends_on TEXT NOT NULL,
     PRIMARY KEY (depends_on, task_id)
   );
   CREATE TABLE IF NOT EXISTS {p}outbox (
     id BIGSERIAL PRIMARY KEY,
     exchange TEXT NOT NULL,
     routing_key TEXT NOT NULL,
     priority INTEGER,
     body JSONB NOT NULL
   );`,
  `CREATE TABLE IF NOT EXISTS {p}workflows (
     workflow_id TEXT PRIMARY KEY,
     data JSONB NOT NULL
   );
   ALTER TABLE {p}tasks ADD COLUMN IF NOT EXISTS seq BIGSERIAL;
   CREATE INDEX IF NOT EXISTS {p}tasks_workflow_seq ON {p}tasks (workflow_id, seq) WHERE workflow_id IS NOT NULL;`,
  // One outbox row per committed batch instead of one per message.
  `CREATE TABLE IF NOT EXISTS {p}outbox_batches (
     id BIGSERIAL PRIMARY KEY,
     messages JSONB NOT NULL
   );
   INSERT INTO {p}outbox_batches (messages)
     SELECT jsonb_build_array(jsonb_build_object('exchange', exchange, 'routing_key', routing_key, 'priority', priority, 'body', body))
     FROM {p}outbox ORDER BY id;
   DROP TABLE {p}outbox;`,
  // A record in two parts: the spec (written once) and the state in data (rewritten at every transition).
  `ALTER TABLE {p}tasks ADD COLUMN IF NOT EXISTS spec JSONB;
   UPDATE {p}tasks SET spec = data - ${textArray(STATE_FIELDS)}, data = data - ${textArray(SPEC_FIELDS)} WHERE spec IS NULL;`,
  // The queued tasks, read at start-up to send their dispatches again, in submission order.
  `CREATE INDEX IF NOT EXISTS {p}tasks_queued ON {p}tasks (seq) WHERE status = 'queued';`,
  // The store's identity: an executor that reads these tables itself (its /status) checks that the database
  // and prefix it reaches are the ones the task-manager it asked writes.
  `CREATE TABLE IF NOT EXISTS {p}store_info (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     store_id TEXT NOT NULL
   );
   INSERT INTO {p}store_info (id, store_id) VALUES (1, md5(random()::text || clock_timestamp()::text)) ON CONFLICT (id) DO NOTHING;`,
];

/** A SQL `text[]` literal of field names (names of record fields: letters and underscores only). */
function textArray(fields: readonly string[]): string {
  return `ARRAY[${fields.map((f) => `'${f}'`).join(', ')}]::text[]`;
}

/** Options of {@link PostgresTaskStore}. */
export interface PostgresTaskStoreOptions {
  /** Connection string, e.g. `postgres://postgres@127.0.0.1:5432/sje`. */
  url: string;
  /** Prefix of table names (several installations in one database). @defaultValue 'sje_' */
  tablePrefix?: string;
  /** Pool size. @defaultValue 5 */
  poolSize?: number;
}

function lockKey(prefix: string): number {
  let h = 0;
  for (const c of `sje-leader:${prefix}`) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
  return h;
}

/** The PostgreSQL task store. */
export class PostgresTaskStore implements TaskStore {
  private readonly pool: pg.Pool;
  private readonly p: string;
  private leaderClient: pg.PoolClient | undefined;
  private id: string | undefined;

  constructor(options: PostgresTaskStoreOptions) {
    this.p = checkedTablePrefix(options.tablePrefix ?? 'sje_');
    this.pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 5 });
    this.pool.on('error', () => undefined);
  }

  /** The tables' prefix. */
  get tablePrefix(): string {
    return this.p;
  }

  /** The store's id, random when its tables were made (set once the store is open): what tells this store from any other. */
  get storeId(): string {
    if (this.id === undefined) throw new Error('task store is not open');
    return this.id;
  }

  private sql(text: string): string {
    return withPrefix(text, this.p);
  }

  async init(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [lockKey(`${this.p}migrate`)]);
      await client.query(this.sql('CREATE TABLE IF NOT EXISTS {p}schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())'));
      const { rows } = await client.query<{ v: number | null }>(this.sql('SELECT MAX(version) AS v FROM {p}schema_migrations'));
      for (let v = rows[0]?.v ?? 0; v < MIGRATIONS.length; v++) {
        await client.query('BEGIN');
        await client.query(this.sql(MIGRATIONS[v] ?? ''));
        await client.query(this.sql('INSERT INTO {p}schema_migrations (version) VALUES ($1)'), [v + 1]);
        await client.query('COMMIT');
      }
      const { rows: info } = await client.query<{ store_id: string }>(this.sql(PG_STORE_ID));
      this.id = info[0]?.store_id;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [lockKey(`${this.p}migrate`)]).catch(() => undefined);
      client.release();
    }
  }

  /**
   * Waits until this process is the only active task-manager of the store (a
   * session advisory lock: released by PostgreSQL when the holder dies).
   * @param signal - stops waiting when aborted.
   */
  async acquireLeadership(signal?: AbortSignal, pollMs = 500): Promise<boolean> {
    const key = lockKey(this.p);
    while (!signal?.aborted) {
      const client = await this.pool.connect();
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [key]);
      if (rows[0]?.ok) {
        this.leaderClient = client;
        client.on('error', () => undefined);
        return true;
      }
      client.release();
      await new Promise((r) => setTimeout(r, pollMs));
    }
    return false;
  }

  async close(): Promise<void> {
    if (this.leaderClient) {
      this.leaderClient.release(true);
      this.leaderClient = undefined;
    }
    await this.pool.end().catch(() => undefined);
  }

  async getTasks(ids: readonly string[]): Promise<Map<string, TaskRecord>> {
    const out = new Map<string, TaskRecord>();
    if (ids.length === 0) return out;
    const { rows } = await this.pool.query<TaskRow & { task_id: string }>(this.sql('SELECT task_id, spec, data FROM {p}tasks WHERE task_id = ANY($1)'), [ids]);
    for (const r of rows) out.set(r.task_id, recordOf(r));
    return out;
  }

  async getDependents(taskId: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ task_id: string }>(this.sql('SELECT task_id FROM {p}task_deps WHERE depends_on = $1'), [taskId]);
    return rows.map((r) => r.task_id);
  }

  async getRunningTasks(workerId?: string): Promise<TaskRecord[]> {
    const { rows } =
      workerId === undefined
        ? await this.pool.query<TaskRow>(this.sql("SELECT spec, data FROM {p}tasks WHERE status = 'running'"))
        : await this.pool.query<TaskRow>(this.sql("SELECT spec, data FROM {p}tasks WHERE status = 'running' AND worker_id = $1"), [workerId]);
    return rows.map(recordOf);
  }

  async getQueuedTasks(): Promise<TaskRecord[]> {
    const { rows } = await this.pool.query<TaskRow>(this.sql("SELECT spec, data FROM {p}tasks WHERE status = 'queued' ORDER BY seq"));
    return rows.map(recordOf);
  }

  async getDueTasks(now: string, limit: number): Promise<TaskRecord[]> {
    const { rows } = await this.pool.query<TaskRow>(
      this.sql(
        "SELECT spec, data FROM {p}tasks WHERE status IN ('pending', 'retrying') AND deps_remaining = 0 AND (not_before IS NULL OR not_before <= $1) ORDER BY not_before NULLS FIRST LIMIT $2",
      ),
      [now, limit],
    );
    return rows.map(recordOf);
  }

  async nextDueTime(): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ t: string | null }>(
      this.sql("SELECT MIN(not_before) AS t FROM {p}tasks WHERE status IN ('pending', 'retrying') AND deps_remaining = 0"),
    );
    return rows[0]?.t ?? undefined;
  }

  async commit(batch: StoreCommit): Promise<OutboxRow[]> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      if (batch.tasks.length > 0) {
        const t = batch.tasks;
        // The spec goes with new records only (or with all when the batch does not say which are new);
        // a stored row keeps its own.
        const { rows: written } = await client.query<{ task_id: string; spec_missing: boolean }>(
          this.sql(
            `INSERT INTO {p}tasks (task_id, workflow_id, status, function, queue, worker_id, not_before, deps_remaining, spec, data)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::jsonb[], $10::jsonb[])
             ON CONFLICT (task_id) DO UPDATE SET status = excluded.status, worker_id = excluded.worker_id, not_before = excluded.not_before,
               deps_remaining = excluded.deps_remaining, spec = COALESCE(excluded.spec, {p}tasks.spec), data = excluded.data, updated_at = now()
             RETURNING task_id, spec IS NULL AS spec_missing`,
          ),
          [
            t.map((r) => r.task_id),
            t.map((r) => r.workflow_id ?? null),
            t.map((r) => r.status),
            t.map((r) => r.function),
            t.map((r) => r.queue),
            t.map((r) => r.worker_id ?? null),
            t.map((r) => r.not_before ?? null),
            t.map((r) => r.deps_remaining),
            t.map((r) => (storedBefore(batch, r.task_id) ? null : specJson(r))),
            t.map((r) => stateJson(r)),
          ],
        );
        // A record taken for stored that was not there after all: its row gets its spec now.
        const missing = new Set(written.filter((w) => w.spec_missing).map((w) => w.task_id));
        if (missing.size > 0) {
          const late = t.filter((r) => missing.has(r.task_id));
          await client.query(this.sql('UPDATE {p}tasks AS t SET spec = u.spec FROM unnest($1::text[], $2::jsonb[]) AS u(task_id, spec) WHERE t.task_id = u.task_id'), [
            late.map((r) => r.task_id),
            late.map((r) => specJson(r)),
          ]);
        }
        const depTask: string[] = [];
        const depOn: string[] = [];
        for (const r of t) {
          for (const d of r.depends_on) {
            depTask.push(r.task_id);
            depOn.push(d);
          }
        }
        if (depTask.length > 0) {
          await client.query(this.sql('INSERT INTO {p}task_deps (task_id, depends_on) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING'), [depTask, depOn]);
        }
      }
      const workflows = batch.workflows ?? [];
      if (workflows.length > 0) {
        await client.query(
          this.sql(
            'INSERT INTO {p}workflows (workflow_id, data) SELECT * FROM unnest($1::text[], $2::jsonb[]) ON CONFLICT (workflow_id) DO UPDATE SET data = excluded.data',
          ),
          [workflows.map((w) => w.workflow_id), workflows.map((w) => JSON.stringify(w))],
        );
      }
      const published = batch.published ?? [];
      if (published.length > 0) await client.query(this.sql('DELETE FROM {p}outbox_batches WHERE id = ANY($1::bigint[])'), [published]);
      const rows: OutboxRow[] = [];
      if (batch.outbox.length > 0) {
        const res = await client.query<{ id: string }>(this.sql('INSERT INTO {p}outbox_batches (messages) VALUES ($1::jsonb) RETURNING id'), [
          outboxText(batch.outbox),
        ]);
        rows.push({ id: Number(res.rows[0]?.id), messages: batch.outbox });
      }
      await client.query('COMMIT');
      return rows;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async loadOutbox(limit: number): Promise<OutboxRow[]> {
    const { rows } = await this.pool.query<{ id: string; messages: OutboxMessage[] }>(
      this.sql('SELECT id, messages FROM {p}outbox_batches ORDER BY id LIMIT $1'),
      [limit],
    );
    return rows.map((r) => ({ id: Number(r.id), messages: r.messages.map(stripNullPriority) }));
  }

  async deleteOutbox(ids: readonly number[]): Promise<void> {
    if (ids.length === 0) return;
    await this.pool.query(this.sql('DELETE FROM {p}outbox_batches WHERE id = ANY($1::bigint[])'), [ids]);
  }

  async getWorkflow(workflowId: string): Promise<WorkflowRecord | undefined> {
    const { rows } = await this.pool.query<{ data: WorkflowRecord }>(this.sql('SELECT data FROM {p}workflows WHERE workflow_id = $1'), [workflowId]);
    return rows[0]?.data;
  }

  async getWorkflowTasks(workflowId: string): Promise<TaskRecord[]> {
    const { rows } = await this.pool.query<TaskRow>(this.sql('SELECT spec, data FROM {p}tasks WHERE workflow_id = $1 ORDER BY seq'), [workflowId]);
    return rows.map(recordOf);
  }

  async countByStatus(): Promise<Partial<Record<TaskStatus, number>>> {
    const { rows } = await this.pool.query<{ status: TaskStatus; n: string }>(this.sql('SELECT status, COUNT(*) AS n FROM {p}tasks GROUP BY status'));
    const out: Partial<Record<TaskStatus, number>> = {};
    for (const r of rows) out[r.status] = Number(r.n);
    return out;
  }

  /** Drops every table of this prefix (tests). */
  async dropAll(): Promise<void> {
    for (const t of ['tasks', 'task_deps', 'outbox', 'outbox_batches', 'workflows', 'store_info', 'schema_migrations']) await this.pool.query(this.sql(`DROP TABLE IF EXISTS {p}${t}`));
  }
}
