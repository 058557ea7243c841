/**
 * A read-only connection to a task-manager's SQLite file from another
 * process on the same host: an executor reads `/status` here instead of
 * asking the task-manager. SQLite's write-ahead log lets readers in other
 * processes see every committed transaction while the task-manager writes,
 * without blocking it; the task-manager stays the file's only writer.
 */
import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { recordOf, STORE_ID, TASK_BY_ID, type TaskRow } from './sqlite-task-rows.js';
import type { TaskRecord } from './task-record.js';

/** The reader's page cache, in KiB. */
export const READER_CACHE_KIB = 2048;

/** Reads tasks from one SQLite task store, read-only. */
export class SqliteTaskReader {
  private readonly db: Database.Database;
  private readonly byId: Database.Statement<[string], TaskRow>;
  /** The file's store id (see {@link SqliteTaskStore.storeId}). */
  readonly storeId: string;
  /** The device and inode of the file opened, to tell it from a file made at the same path since. */
  private readonly opened: { dev: number; ino: number };

  /**
   * Opens `file` read-only. Throws when it does not exist, cannot be opened,
   * or is not a task store that has a store id (one no task-manager of this
   * version has opened yet).
   */
  constructor(readonly file: string) {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const { dev, ino } = statSync(file);
      this.opened = { dev, ino };
      // A read that finds the file busy (the log being reset, rare) fails at once, and the caller asks elsewhere:
      // the connection is synchronous, so waiting would stall the reading process.
      db.pragma('busy_timeout = 0');
      // Reads by id of tasks spread over the whole file rarely find a page again: a small cache of its own (the
      // build's default is 16 MB, which a reading executor filled for ~0.05 ms less per read), the OS's page cache behind it.
      db.pragma(`cache_size = -${READER_CACHE_KIB}`);
      const row = db.prepare<[], { store_id: string }>(STORE_ID).get();
      if (row === undefined) throw new Error(`${file} has no store id`);
      this.storeId = row.store_id;
      this.byId = db.prepare<[string], TaskRow>(TASK_BY_ID);
    } catch (err) {
      db.close();
      throw err;
    }
    this.db = db;
  }

  /** The record of `taskId` as last committed, `undefined` when the store does not hold it. */
  getTask(taskId: string): TaskRecord | undefined {
    const row = this.byId.get(taskId);
    return row === undefined ? undefined : recordOf(row);
  }

  /**
   * Whether the file at the path is still the one opened: `false` once it has
   * been removed or replaced (a data directory emptied and a new store made
   * in it), whose reads would come from the old file's last state. (A new
   * file cannot have the old one's inode: this connection holds the old one
   * open, so its inode is not free to be given again.)
   */
  stillAtPath(): boolean {
    try {
      const { dev, ino } = statSync(this.file);
      return dev === this.opened.dev && ino === this.opened.ino;
    } catch {
      return false;
    }
  }

  /** Closes the connection. */
  close(): void {
    if (this.db.open) this.db.close();
  }
}
