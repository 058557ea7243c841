/**
 * How the PostgreSQL store's tables are named and its task rows read, shared
 * by the store (the task-manager's pool) and {@link PostgresTaskReader} (an
 * executor's reads of the same tables).
 */
import { joinParts } from './record-parts.js';
import type { TaskRecord } from './task-record.js';

/** A task row as read: its two parts (`spec` null only in rows no migration has split). */
export interface PgTaskRow {
  spec: Partial<TaskRecord> | null;
  data: TaskRecord;
}

/** The record from its two stored parts. */
export function pgRecordOf(row: PgTaskRow): TaskRecord {
  return row.spec === null ? row.data : joinParts(row.spec, row.data);
}

/** Checks a table prefix (it is written into SQL text): lower-case letters, digits and underscores. */
export function checkedTablePrefix(prefix: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(prefix)) throw new Error(`invalid table prefix '${prefix}'`);
  return prefix;
}

/** `text` with every `{p}` replaced by the table prefix. */
export function withPrefix(text: string, prefix: string): string {
  return text.replaceAll('{p}', prefix);
}

/** The statement that reads one task by id. */
export const PG_TASK_BY_ID = 'SELECT spec, data FROM {p}tasks WHERE task_id = $1';

/** The statement that reads the store id (see the `store_info` migration). */
export const PG_STORE_ID = 'SELECT store_id FROM {p}store_info WHERE id = 1';
