/**
 * How the SQLite store's task rows are read, shared by the store (the
 * task-manager's connection) and {@link SqliteTaskReader} (an executor's
 * read-only connection to the same file).
 */
import { recordFromParts } from './record-parts.js';
import type { TaskRecord } from './task-record.js';

/** A task row as read: its two parts. */
export interface TaskRow {
  spec: string;
  data: string;
}

/** The columns and join a task read selects. */
export const TASK_PARTS = 'SELECT t.task_id, s.spec, t.data FROM tasks t JOIN task_specs s ON s.task_id = t.task_id';

/** The statement that reads one task by id. */
export const TASK_BY_ID = `${TASK_PARTS} WHERE t.task_id = ?`;

/** The statement that reads the file's store id (see the `store_info` migration). */
export const STORE_ID = 'SELECT store_id FROM store_info WHERE id = 1';

/** The record a row holds. */
export const recordOf = (row: TaskRow): TaskRecord => recordFromParts(row.spec, row.data);
