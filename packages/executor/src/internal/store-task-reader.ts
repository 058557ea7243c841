/**
 * Reading `/status` from the task store's file itself, when the active
 * task-manager's store is a SQLite file this executor can open (the same
 * host, or a volume both mount): no hop to the task-manager at all, and reads
 * go on while it restarts. The file is trusted only once the task-manager has
 * named it (`GET /store` on its ops endpoint: the file's path and its store
 * id) and the file opened holds that id, so a copy or a stale file at the
 * same path is never read. The task-manager is asked again every
 * {@link STORE_CHECK_MS}; when it names another store, or a PostgreSQL one,
 * the file is let go and reads go back to the ops endpoints. When no
 * task-manager answers, the file it named last is still read: it holds
 * every commit the task-manager made.
 */
import type { Logger, TaskView } from '@sje/core';
import { SqliteTaskReader, toView, type StoreIdentity } from '@sje/store';
import { visibleToCaller } from './auth/principal.js';

/** How often the task-manager is asked which store it writes, by default. */
export const STORE_CHECK_MS = 10_000;

/** Options of {@link StoreTaskReader}. */
export interface StoreTaskReaderOptions {
  /** Asks the active task-manager which store it writes; `undefined` when none answered. */
  identify: () => Promise<StoreIdentity | undefined>;
  /** Told when reads start and stop coming from a file, and why a file named could not be read. */
  logger?: Logger;
  /** Time between two questions to the task-manager. @defaultValue {@link STORE_CHECK_MS} */
  checkMs?: number;
  /** Opens a file read-only. @defaultValue `new SqliteTaskReader(file)` */
  open?: (file: string) => SqliteTaskReader;
}

/** Reads tasks from the file of the active task-manager's SQLite store, once it has named it. */
export class StoreTaskReader {
  private reader: SqliteTaskReader | undefined;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private closed = false;
  /** What the last check that found no file to read logged, so a reason is logged once, not at every check. */
  private lastNote: string | undefined;

  constructor(private readonly options: StoreTaskReaderOptions) {}

  /** Whether reads come from a file now. */
  get reading(): boolean {
    return this.reader !== undefined;
  }

  /** Asks the task-manager now and then every `checkMs`. */
  start(): void {
    if (this.timer !== undefined || this.closed) return;
    void this.check();
    this.timer = setInterval(() => void this.check(), this.options.checkMs ?? STORE_CHECK_MS);
    this.timer.unref();
  }

  /** Stops asking and closes the file. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.reader?.close();
    this.reader = undefined;
  }

  /**
   * The task from the file: its view, `null` when the store does not hold it
   * or the caller's tenant may not see it, `undefined` when there is no file
   * to read or the read failed (ask elsewhere).
   */
  getTask(taskId: string): TaskView | null | undefined {
    const reader = this.reader;
    if (reader === undefined) return undefined;
    if (!reader.stillAtPath()) {
      // Removed or replaced since it was opened: ask the task-manager which file it writes now.
      this.letGo('the file was removed or replaced');
      void this.check();
      return undefined;
    }
    let view: TaskView;
    try {
      const record = reader.getTask(taskId);
      if (record === undefined) return null;
      view = toView(record);
    } catch (err) {
      this.options.logger?.debug('a /status read from the task store file failed; asking the task-manager', { file: reader.file, err: errorText(err) });
      return undefined;
    }
    return visibleToCaller(view.tenant) ? view : null;
  }

  /** Asks the task-manager which store it writes and opens, keeps or lets go of the file. Resolves when done; one check at a time. */
  check(): Promise<void> {
    this.checking ??= this.checkOnce().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async checkOnce(): Promise<void> {
    let identity: StoreIdentity | undefined;
    try {
      identity = await this.options.identify();
    } catch {
      identity = undefined;
    }
    // No answer: the file named last, if any, still holds every commit.
    if (this.closed || identity === undefined) return;
    if (identity.store !== 'sqlite') {
      this.letGo(`the task-manager's store is ${identity.store}, not a file`);
      return;
    }
    const current = this.reader;
    if (current !== undefined && current.file === identity.file && current.storeId === identity.store_id) return;
    this.letGo('the task-manager names another file');
    let opened: SqliteTaskReader;
    try {
      opened = (this.options.open ?? ((file) => new SqliteTaskReader(file)))(identity.file);
    } catch (err) {
      this.note(`cannot open ${identity.file} here: ${errorText(err)}`, identity.file);
      return;
    }
    if (this.closed || opened.storeId !== identity.store_id) {
      opened.close();
      if (!this.closed) this.note(`${identity.file} here is not the file the task-manager writes (another store id)`, identity.file);
      return;
    }
    this.reader = opened;
    this.lastNote = undefined;
    this.options.logger?.info('/status reads the task store file', { file: identity.file });
  }

  /** Closes the file being read, if any, and says why. */
  private letGo(reason: string): void {
    const reader = this.reader;
    if (reader === undefined) return;
    this.reader = undefined;
    reader.close();
    this.options.logger?.info('/status no longer reads the task store file; asking the task-manager', { file: reader.file, reason });
  }

  /** Logs why no file is read, once for each reason. */
  private note(reason: string, file: string): void {
    if (this.lastNote === reason) return;
    this.lastNote = reason;
    this.options.logger?.info('/status asks the task-manager: the task store file cannot be read from here', { file, reason });
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
