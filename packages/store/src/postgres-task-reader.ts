/**
 * Reads of a PostgreSQL task store's tables from outside the task-manager:
 * an executor reads `/status` here instead of asking the task-manager. The
 * task-manager stays the only writer; a read sees what it last committed.
 */
import pg from 'pg';
import { checkedTablePrefix, PG_STORE_ID, PG_TASK_BY_ID, pgRecordOf, withPrefix, type PgTaskRow } from './postgres-task-rows.js';
import type { TaskRecord } from './task-record.js';

/** Options of {@link PostgresTaskReader}. */
export interface PostgresTaskReaderOptions {
  /** Connection string (this process's `task_manager.postgres_url`). */
  url: string;
  /** Prefix of the table names. */
  tablePrefix: string;
  /** Pool size. @defaultValue 4 */
  poolSize?: number;
  /** Longest wait for a connection, in ms. @defaultValue 1000 */
  connectTimeoutMs?: number;
  /** Longest a read may take on the server, in ms. @defaultValue 1000 */
  statementTimeoutMs?: number;
}

/** Reads tasks from one PostgreSQL task store. */
export class PostgresTaskReader {
  private readonly pool: pg.Pool;
  private readonly byId: string;
  private readonly storeIdSql: string;

  constructor(readonly options: PostgresTaskReaderOptions) {
    const prefix = checkedTablePrefix(options.tablePrefix);
    this.byId = withPrefix(PG_TASK_BY_ID, prefix);
    this.storeIdSql = withPrefix(PG_STORE_ID, prefix);
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 4,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 1000,
      statement_timeout: options.statementTimeoutMs ?? 1000,
    });
    // A connection lost while idle is replaced at the next read; the read that finds none fails and is asked elsewhere.
    this.pool.on('error', () => undefined);
  }

  /** The store's id (see {@link PostgresTaskStore.storeId}); rejects when the tables are not there or cannot be reached. */
  async storeId(): Promise<string> {
    const { rows } = await this.pool.query<{ store_id: string }>(this.storeIdSql);
    const id = rows[0]?.store_id;
    if (id === undefined) throw new Error(`the tables of prefix ${this.options.tablePrefix} have no store id`);
    return id;
  }

  /** The record of `taskId` as last committed, `undefined` when the store does not hold it. */
  async getTask(taskId: string): Promise<TaskRecord | undefined> {
    const { rows } = await this.pool.query<PgTaskRow>({ name: `sje-status-${this.options.tablePrefix}`, text: this.byId, values: [taskId] });
    const row = rows[0];
    return row === undefined ? undefined : pgRecordOf(row);
  }

  /** Closes the pool. */
  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}
