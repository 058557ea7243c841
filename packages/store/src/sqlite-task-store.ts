/**
 * The embedded task store: one SQLite file (`<data_dir>/tasks.db`, WAL mode).
 * Needs no server. Each record is kept as JSON in two parts (see
 * `record-parts.ts`): the spec, written when the task is stored, and the
 * state, rewritten at every transition; next to them, the columns the
 * task-manager queries by.
 */
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { TaskStatus } from '@sje/core';
import { specJson, splitRecordsSql, stateJson } from './record-parts.js';
import { recordOf, STORE_ID, TASK_BY_ID, TASK_PARTS, type TaskRow } from './sqlite-task-rows.js';
import { outboxText, stripNullPriority } from './outbox-text.js';
import { WalCheckpointer, type CheckpointStats } from './wal-checkpointer.js';
import type { OutboxMessage, OutboxRow, TaskRecord, WorkflowRecord } from './task-record.js';
import { storedBefore, type StoreCommit, type TaskStore } from './task-store.js';

/** Versioned schema migrations; each runs once, in order, at start-up. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE tasks (
     task_id TEXT PRIMARY KEY,
     workflow_id TEXT,
     status TEXT NOT NULL,
     function TEXT NOT NULL,
     queue TEXT NOT NULL,
     worker_id TEXT,
     not_before TEXT,
     deps_remaining INTEGER NOT NULL DEFAULT 0,
     updated_at TEXT NOT NULL,
     data TEXT NOT NULL
   );
   CREATE INDEX tasks_running ON tasks (worker_id) WHERE status = 'running';
   CREATE INDEX tasks_waiting ON tasks (not_before) WHERE status IN ('pending', 'retrying') AND deps_remaining = 0;
   CREATE INDEX tasks_workflow ON tasks (workflow_id) WHERE workflow_id IS NOT NULL;
   CREATE TABLE task_deps (
     task_id TEXT NOT NULL,
     depends_on TEXT NOT NULL,
     PRIMARY KEY (depends_on, task_id)
   );
   CREATE TABLE outbox (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     exchange TEXT NOT NULL,
     routing_key TEXT NOT NULL,
     priority INTEGER,
     body TEXT NOT NULL
   );`,
  `CREATE TABLE workflows (
     workflow_id TEXT PRIMARY KEY,
     data TEXT NOT NULL
   );
   ALTER TABLE tasks ADD COLUMN seq INTEGER;
   CREATE INDEX tasks_workflow_seq ON tasks (workflow_id, seq) WHERE workflow_id IS NOT NULL;`,
  // One outbox row per committed batch instead of one per message.
  `CREATE TABLE outbox_batches (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     messages TEXT NOT NULL
   );
   INSERT INTO outbox_batches (messages)
     SELECT json_array(json_object('exchange', exchange, 'routing_key', routing_key, 'priority', priority, 'body', json(body)))
     FROM outbox ORDER BY id;
   DROP TABLE outbox;`,
  // Submission order is the rowid (an upsert keeps its row): no separate sequence.
  `DROP INDEX tasks_workflow_seq;
   ALTER TABLE tasks DROP COLUMN seq;`,
  // A record in two parts: the spec in a table of its own (written once, so that a transition
  // does not rewrite the params' pages) and the state in tasks.data (rewritten at every transition).
  `CREATE TABLE task_specs (
     task_id TEXT PRIMARY KEY,
     spec TEXT NOT NULL
   );
   ${splitRecordsSql('tasks', 'task_specs')}`,
  // The queued tasks, read at start-up to send their dispatches again (in rowid order: submission order).
  `CREATE INDEX IF NOT EXISTS tasks_queued ON tasks (status) WHERE status = 'queued';`,
  // The file's identity: a reader in another process (an executor's /status) checks that the file it opened
  // is the one the task-manager it asked writes, not another store's file at the same path.
  `CREATE TABLE IF NOT EXISTS store_info (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     store_id TEXT NOT NULL
   );
   INSERT OR IGNORE INTO store_info (id, store_id) VALUES (1, lower(hex(randomblob(16))));`,
];

/** Options of {@link SqliteTaskStore}. */
export interface SqliteTaskStoreOptions {
  /** Directory holding `tasks.db`; created if missing. */
  dataDir: string;
  /**
   * Page size of a new database file, in bytes (a power of two from 512 to
   * 65536; default {@link DEFAULT_PAGE_SIZE}). A file that exists keeps the
   * page size it was made with.
   */
  pageSize?: number;
  /**
   * Time between two checkpoints of the write-ahead log by a thread of the
   * store's own ({@link WalCheckpointer}); 0 leaves them to SQLite's automatic
   * checkpoint inside the commits (default {@link DEFAULT_CHECKPOINT_MS}).
   */
  checkpointMs?: number;
  /** Told when the checkpoint thread fails and the commits take over its checkpoints. */
  onCheckpointFailure?: (err: Error) => void;
  /** How large the log may grow before it is checkpointed (see {@link DEFAULT_LOG_BYTES}). */
  logBytes?: number;
}

/**
 * The default page size of a new store: SQLite's own. Larger pages keep a
 * task's few kilobytes of params or result in its row's page, but every
 * commit writes the pages it changed whole, so at idle, where each commit
 * changes a few pages for one task, 32 KB pages had the task-manager write
 * about six times the bytes, and syncing them at each checkpoint held up the
 * broker's own syncs on a shared disk (see docs/performance.md, *Pages back
 * to 4 KB*).
 */
export const DEFAULT_PAGE_SIZE = 4096;
/** The default time between two checkpoints of the log by the store's thread. */
export const DEFAULT_CHECKPOINT_MS = 100;
/**
 * How large the log may grow, in bytes, before it is copied into the
 * database file: by SQLite's automatic checkpoint when there is no thread,
 * or by the thread's restart checkpoint when passive ones cannot keep up. A
 * larger log lets one checkpoint copy a page once for several of the
 * transitions written to it within milliseconds (queued, running, final).
 */
export const DEFAULT_LOG_BYTES = 40 * 2 ** 20;
/**
 * With the thread, how many times that size the log may grow to before a
 * commit waits for it to start again: should the thread fall behind a loop
 * that writes faster than the disk takes the copies, the loop is held back,
 * as it was by SQLite's own checkpoints, instead of the log growing without end.
 */
const WAIT_AT_LOG_MULTIPLE = 4;
/** Longest wait of a commit for the thread's restart checkpoint. */
const RESTART_WAIT_MS = 5000;

/** The page cache, in KiB, of a count over the whole tasks table ({@link SqliteTaskStore.countByStatus}). */
const COUNT_CACHE_KIB = 256;

/** The embedded SQLite task store. */
export class SqliteTaskStore implements TaskStore {
  private db: Database.Database | undefined;
  private readonly path: string;
  private prepared: ReturnType<SqliteTaskStore['prepare']> | undefined;
  private checkpointer: WalCheckpointer | undefined;
  private readonly options: SqliteTaskStoreOptions;
  private id: string | undefined;

  constructor(options: SqliteTaskStoreOptions) {
    mkdirSync(options.dataDir, { recursive: true });
    this.path = join(options.dataDir, 'tasks.db');
    this.options = options;
  }

  /** Path of the database file. */
  get file(): string {
    return this.path;
  }

  /** The file's store id, random when the file was made (set once the store is open): what tells this file from any other. */
  get storeId(): string {
    if (this.id === undefined) throw new Error('task store is not open');
    return this.id;
  }

  async init(): Promise<void> {
    const db = new Database(this.path);
    // Takes effect only while the file is empty, before WAL mode writes its first page.
    db.pragma(`page_size = ${this.options.pageSize ?? DEFAULT_PAGE_SIZE}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    const version = db.pragma('user_version', { simple: true }) as number;
    for (let v = version; v < MIGRATIONS.length; v++) {
      db.transaction(() => {
        db.exec(MIGRATIONS[v] ?? '');
        db.pragma(`user_version = ${v + 1}`);
      })();
    }
    this.id = db.prepare<[], { store_id: string }>(STORE_ID).get()?.store_id;
    this.db = db;
    this.prepared = this.prepare(db);
    this.startCheckpoints(db);
  }

  private get logBytes(): number {
    return this.options.logBytes ?? DEFAULT_LOG_BYTES;
  }

  /** The log's size before a checkpoint, in frames of this file's pages. */
  private logFramesBeforeCheckpoint(db: Database.Database): number {
    return Math.ceil(this.logBytes / (db.pragma('page_size', { simple: true }) as number));
  }

  /** Hands the log's checkpoints to a thread, or leaves them to the commits. */
  private startCheckpoints(db: Database.Database): void {
    const frames = this.logFramesBeforeCheckpoint(db);
    // The log's file keeps the size of its largest run unless told: cut it back when it starts again.
    db.pragma(`journal_size_limit = ${this.logBytes}`);
    const checkpointInCommits = (): unknown => db.pragma(`wal_autocheckpoint = ${frames}`);
    const intervalMs = this.options.checkpointMs ?? DEFAULT_CHECKPOINT_MS;
    if (intervalMs <= 0) {
      checkpointInCommits();
      return;
    }
    db.pragma('wal_autocheckpoint = 0');
    this.checkpointer = new WalCheckpointer({
      file: this.path,
      intervalMs,
      restartFrames: frames,
      onFailure: (err) => {
        this.checkpointer = undefined;
        if (this.db === db) checkpointInCommits();
        this.options.onCheckpointFailure?.(err);
      },
    });
  }

  /** What the checkpoint thread's last checkpoint found; `undefined` when the commits checkpoint. */
  get checkpointStats(): CheckpointStats | undefined {
    return this.checkpointer?.stats;
  }

  private prepare(db: Database.Database) {
    return {
      get: db.prepare<[string], TaskRow>(TASK_BY_ID),
      // Many ids in one statement: the ids travel as one JSON array.
      getMany: db.prepare<[string], TaskRow & { task_id: string }>(`${TASK_PARTS} WHERE t.task_id IN (SELECT value FROM json_each(?))`),
      // Positional parameters: binding by name looks every property up through the V8 API, ~3 µs a row.
      update: db.prepare<[string, string | null, string | null, number, string, string, string]>(
        `UPDATE tasks SET status = ?, worker_id = ?, not_before = ?, deps_remaining = ?, updated_at = ?, data = ?
         WHERE task_id = ?`,
      ),
      upsert: db.prepare<[string, string | null, string, string, string, string | null, string | null, number, string, string]>(
        `INSERT INTO tasks (task_id, workflow_id, status, function, queue, worker_id, not_before, deps_remaining, updated_at, data)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(task_id) DO UPDATE SET status = excluded.status, worker_id = excluded.worker_id, not_before = excluded.not_before,
           deps_remaining = excluded.deps_remaining, updated_at = excluded.updated_at, data = excluded.data`,
      ),
      upsertSpec: db.prepare<[string, string]>('INSERT INTO task_specs (task_id, spec) VALUES (?, ?) ON CONFLICT(task_id) DO UPDATE SET spec = excluded.spec'),
      insertDep: db.prepare('INSERT OR IGNORE INTO task_deps (task_id, depends_on) VALUES (?, ?)'),
      dependents: db.prepare<[string], { task_id: string }>('SELECT task_id FROM task_deps WHERE depends_on = ?'),
      runningAll: db.prepare<[], TaskRow>(`${TASK_PARTS} WHERE t.status = 'running'`),
      runningOf: db.prepare<[string], TaskRow>(`${TASK_PARTS} WHERE t.status = 'running' AND t.worker_id = ?`),
      queuedAll: db.prepare<[], TaskRow>(`${TASK_PARTS} WHERE t.status = 'queued' ORDER BY t.rowid`),
      due: db.prepare<[string, number], TaskRow>(
        `${TASK_PARTS} WHERE t.status IN ('pending', 'retrying') AND t.deps_remaining = 0 AND t.not_before <= ? ORDER BY t.not_before LIMIT ?`,
      ),
      dueUnset: db.prepare<[number], TaskRow>(
        `${TASK_PARTS} WHERE t.status IN ('pending', 'retrying') AND t.deps_remaining = 0 AND t.not_before IS NULL LIMIT ?`,
      ),
      nextDue: db.prepare<[], { t: string | null }>(
        "SELECT MIN(not_before) AS t FROM tasks WHERE status IN ('pending', 'retrying') AND deps_remaining = 0",
      ),
      outboxInsert: db.prepare('INSERT INTO outbox_batches (messages) VALUES (?)'),
      outboxLoad: db.prepare<[number], { id: number; messages: string }>('SELECT id, messages FROM outbox_batches ORDER BY id LIMIT ?'),
      outboxDelete: db.prepare('DELETE FROM outbox_batches WHERE id = ?'),
      workflowGet: db.prepare<[string], { data: string }>('SELECT data FROM workflows WHERE workflow_id = ?'),
      workflowUpsert: db.prepare('INSERT INTO workflows (workflow_id, data) VALUES (?, ?) ON CONFLICT(workflow_id) DO UPDATE SET data = excluded.data'),
      workflowTasks: db.prepare<[string], TaskRow>(`${TASK_PARTS} WHERE t.workflow_id = ? ORDER BY t.rowid`),
      counts: db.prepare<[], { status: TaskStatus; n: number }>('SELECT status, COUNT(*) AS n FROM tasks GROUP BY status'),
    };
  }

  private get stmts(): ReturnType<SqliteTaskStore['prepare']> {
    if (!this.prepared) throw new Error('task store is not open');
    return this.prepared;
  }

  private get conn(): Database.Database {
    if (!this.db) throw new Error('task store is not open');
    return this.db;
  }

  async close(): Promise<void> {
    // The thread's connection first, so that this one is the last: it copies the log into the file and removes it.
    await this.checkpointer?.stop();
    this.checkpointer = undefined;
    this.db?.close();
    this.db = undefined;
    this.prepared = undefined;
  }

  async getTasks(ids: readonly string[]): Promise<Map<string, TaskRecord>> {
    const out = new Map<string, TaskRecord>();
    if (ids.length === 1) {
      const row = this.stmts.get.get(ids[0]!);
      if (row) out.set(ids[0]!, recordOf(row));
      return out;
    }
    if (ids.length === 0) return out;
    for (const row of this.stmts.getMany.all(JSON.stringify(ids))) out.set(row.task_id, recordOf(row));
    return out;
  }

  async getDependents(taskId: string): Promise<string[]> {
    return this.stmts.dependents.all(taskId).map((r) => r.task_id);
  }

  async getRunningTasks(workerId?: string): Promise<TaskRecord[]> {
    const rows = workerId === undefined ? this.stmts.runningAll.all() : this.stmts.runningOf.all(workerId);
    return rows.map(recordOf);
  }

  async getQueuedTasks(): Promise<TaskRecord[]> {
    return this.stmts.queuedAll.all().map(recordOf);
  }

  async getDueTasks(now: string, limit: number): Promise<TaskRecord[]> {
    const rows = [...this.stmts.dueUnset.all(limit), ...this.stmts.due.all(now, limit)].slice(0, limit);
    return rows.map(recordOf);
  }

  async nextDueTime(): Promise<string | undefined> {
    return this.stmts.nextDue.get()?.t ?? undefined;
  }

  async commit(batch: StoreCommit): Promise<OutboxRow[]> {
    const db = this.conn;
    const now = new Date().toISOString();
    const committed = db.transaction(() => {
      for (const t of batch.tasks) {
        const state = stateJson(t);
        const workerId = t.worker_id ?? null;
        const notBefore = t.not_before ?? null;
        // A stored task is updated in place, its state alone (cheaper than an upsert's failed insert);
        // new ones, or a row that is not there after all, are upserted with their spec.
        if (!storedBefore(batch, t.task_id) || this.stmts.update.run(t.status, workerId, notBefore, t.deps_remaining, now, state, t.task_id).changes === 0) {
          this.stmts.upsert.run(t.task_id, t.workflow_id ?? null, t.status, t.function, t.queue, workerId, notBefore, t.deps_remaining, now, state);
          this.stmts.upsertSpec.run(t.task_id, specJson(t));
        }
        for (const dep of t.depends_on) this.stmts.insertDep.run(t.task_id, dep);
      }
      for (const w of batch.workflows ?? []) this.stmts.workflowUpsert.run(w.workflow_id, JSON.stringify(w));
      for (const id of batch.published ?? []) this.stmts.outboxDelete.run(id);
      const rows: OutboxRow[] = [];
      if (batch.outbox.length > 0) {
        const info = this.stmts.outboxInsert.run(outboxText(batch.outbox));
        rows.push({ id: Number(info.lastInsertRowid), messages: batch.outbox });
      }
      return rows;
    })();
    await this.holdBackIfLogRunsAway();
    return committed;
  }

  /**
   * With the checkpoint thread: once the log has grown past
   * {@link WAIT_AT_LOG_MULTIPLE} times its size, the commit asks the thread
   * for a restart checkpoint and waits for it (a loop that waits writes
   * nothing, so the checkpoint can finish and the log start again). The
   * log's file is cut back to that size whenever the log starts again
   * (`journal_size_limit`), so a larger file is a log that long.
   */
  private async holdBackIfLogRunsAway(): Promise<void> {
    if (!this.checkpointer) return;
    const size = statSync(`${this.path}-wal`, { throwIfNoEntry: false })?.size ?? 0;
    if (size > WAIT_AT_LOG_MULTIPLE * this.logBytes) await this.checkpointer.restartNow(RESTART_WAIT_MS);
  }

  async loadOutbox(limit: number): Promise<OutboxRow[]> {
    return this.stmts.outboxLoad.all(limit).map((r) => ({ id: r.id, messages: (JSON.parse(r.messages) as OutboxMessage[]).map(stripNullPriority) }));
  }

  async deleteOutbox(ids: readonly number[]): Promise<void> {
    const db = this.conn;
    db.transaction(() => {
      for (const id of ids) this.stmts.outboxDelete.run(id);
    })();
  }

  async getWorkflow(workflowId: string): Promise<WorkflowRecord | undefined> {
    const row = this.stmts.workflowGet.get(workflowId);
    return row ? (JSON.parse(row.data) as WorkflowRecord) : undefined;
  }

  async getWorkflowTasks(workflowId: string): Promise<TaskRecord[]> {
    return this.stmts.workflowTasks.all(workflowId).map(recordOf);
  }

  /**
   * Reads every row, so it runs with a page cache of {@link COUNT_CACHE_KIB}:
   * a scan of the whole table would otherwise leave the connection's cache
   * (16 MB by default) full of pages nothing else reads.
   */
  async countByStatus(): Promise<Partial<Record<TaskStatus, number>>> {
    const db = this.conn;
    const cacheSize = db.pragma('cache_size', { simple: true }) as number;
    db.pragma(`cache_size = -${COUNT_CACHE_KIB}`);
    try {
      const out: Partial<Record<TaskStatus, number>> = {};
      for (const r of this.stmts.counts.all()) out[r.status] = r.n;
      return out;
    } finally {
      db.pragma(`cache_size = ${cacheSize}`);
    }
  }
}
