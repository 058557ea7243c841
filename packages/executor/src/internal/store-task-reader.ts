/**
 * Reading `/status` from the task store itself, when the executor can reach
 * the active task-manager's store: its SQLite file (the same host, or a
 * volume both mount at the same path) or its PostgreSQL tables (through this executor's own
 * `task_manager.postgres_url`). A read then makes no hop to the
 * task-manager at all, and reads go on while it restarts or a standby takes
 * over. The store is trusted only once the task-manager has named it
 * (`GET /store` on its ops endpoint: the file's path or the tables' prefix,
 * and the store id) and what this executor opened holds that id, so another
 * store's file at the same path or another database is never read. The
 * task-manager is asked again every {@link STORE_CHECK_MS}; when it names
 * another store the old one is let go. When no task-manager answers, the
 * store named last is still read: it holds every commit the task-manager
 * made.
 */
import type { Logger, TaskView } from '@sje/core';
import { PostgresTaskReader, SqliteTaskReader, toView, type StoreIdentity, type TaskRecord } from '@sje/store';
import { visibleToCaller } from './auth/principal.js';

/** How often the task-manager is asked which store it writes, by default. */
export const STORE_CHECK_MS = 10_000;

/** A store this executor has opened for reading. */
interface OpenedStore {
  /** Where it is, for the logs. */
  readonly where: string;
  /** The id read from the store itself. */
  readonly storeId: string;
  /** Whether `identity` names this store (and so it may be kept). */
  isNamedBy(identity: StoreIdentity): boolean;
  /** The record, `undefined` when the store does not hold it. */
  getTask(taskId: string): TaskRecord | undefined | Promise<TaskRecord | undefined>;
  /** `false` once what was opened is no longer there (a file removed or replaced). */
  stillThere(): boolean;
  close(): void;
}

/** Options of {@link StoreTaskReader}. */
export interface StoreTaskReaderOptions {
  /** Asks the active task-manager which store it writes; `undefined` when none answered. */
  identify: () => Promise<StoreIdentity | undefined>;
  /** This executor's connection string for a PostgreSQL store (`task_manager.postgres_url`); empty: never read PostgreSQL. */
  postgresUrl?: string;
  /** Told when reads start and stop coming from the store, and why a store named could not be read. */
  logger?: Logger;
  /** Time between two questions to the task-manager. @defaultValue {@link STORE_CHECK_MS} */
  checkMs?: number;
  /** Opens a file read-only. @defaultValue `new SqliteTaskReader(file)` */
  openFile?: (file: string) => SqliteTaskReader;
}

/** Reads tasks from the active task-manager's store, once it has named it. */
export class StoreTaskReader {
  private store: OpenedStore | undefined;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private closed = false;
  /** What the last check that found no store to read logged, so a reason is logged once, not at every check. */
  private lastNote: string | undefined;

  constructor(private readonly options: StoreTaskReaderOptions) {}

  /** Whether reads come from the store now. */
  get reading(): boolean {
    return this.store !== undefined;
  }

  /** Asks the task-manager now and then every `checkMs`. */
  start(): void {
    if (this.timer !== undefined || this.closed) return;
    void this.check();
    this.timer = setInterval(() => void this.check(), this.options.checkMs ?? STORE_CHECK_MS);
    this.timer.unref();
  }

  /** Stops asking and closes the store. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.store?.close();
    this.store = undefined;
  }

  /**
   * The task from the store: its view, `null` when the store does not hold
   * it or the caller's tenant may not see it, `undefined` when there is no
   * store to read or the read failed (ask elsewhere).
   */
  async getTask(taskId: string): Promise<TaskView | null | undefined> {
    const store = this.store;
    if (store === undefined) return undefined;
    if (!store.stillThere()) {
      // Removed or replaced since it was opened: ask the task-manager which store it writes now.
      this.letGo('the file was removed or replaced');
      void this.check();
      return undefined;
    }
    let view: TaskView;
    try {
      const record = await store.getTask(taskId);
      if (record === undefined) return null;
      view = toView(record);
    } catch (err) {
      this.options.logger?.debug('a /status read from the task store failed; asking the task-manager', { store: store.where, err: errorText(err) });
      return undefined;
    }
    return visibleToCaller(view.tenant) ? view : null;
  }

  /** Asks the task-manager which store it writes and opens, keeps or lets go of it. Resolves when done; one check at a time. */
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
    // No answer: the store named last, if any, still holds every commit.
    if (this.closed || identity === undefined) return;
    if (this.store?.isNamedBy(identity)) return;
    this.letGo('the task-manager names another store');
    let opened: OpenedStore;
    try {
      opened = await this.open(identity);
    } catch (err) {
      this.note(`cannot open it here: ${errorText(err)}`, whereOf(identity));
      return;
    }
    if (this.closed || opened.storeId !== identity.store_id) {
      opened.close();
      if (!this.closed) this.note('what this executor reaches there is another store (another store id)', opened.where);
      return;
    }
    this.store = opened;
    this.lastNote = undefined;
    this.options.logger?.info('/status reads the task store itself', { store: opened.where });
  }

  /** Opens the store `identity` names, as this executor reaches it. */
  private async open(identity: StoreIdentity): Promise<OpenedStore> {
    if (identity.store === 'sqlite') {
      const reader = (this.options.openFile ?? ((file) => new SqliteTaskReader(file)))(identity.file);
      return {
        where: whereOf(identity),
        storeId: reader.storeId,
        isNamedBy: (named) => named.store === 'sqlite' && named.file === reader.file && named.store_id === reader.storeId,
        getTask: (taskId) => reader.getTask(taskId),
        stillThere: () => reader.stillAtPath(),
        close: () => reader.close(),
      };
    }
    const url = this.options.postgresUrl ?? '';
    if (url === '') throw new Error('no task_manager.postgres_url is configured here');
    const prefix = identity.table_prefix;
    const reader = new PostgresTaskReader({ url, tablePrefix: prefix });
    let storeId: string;
    try {
      storeId = await reader.storeId();
    } catch (err) {
      await reader.close();
      throw err;
    }
    return {
      where: whereOf(identity),
      storeId,
      isNamedBy: (named) => named.store === 'postgres' && named.table_prefix === prefix && named.store_id === storeId,
      getTask: (taskId) => reader.getTask(taskId),
      stillThere: () => true,
      close: () => void reader.close(),
    };
  }

  /** Closes the store being read, if any, and says why. */
  private letGo(reason: string): void {
    const store = this.store;
    if (store === undefined) return;
    this.store = undefined;
    store.close();
    this.options.logger?.info('/status no longer reads the task store itself; asking the task-manager', { store: store.where, reason });
  }

  /** Logs why no store is read, once for each reason. */
  private note(reason: string, where: string): void {
    if (this.lastNote === reason) return;
    this.lastNote = reason;
    this.options.logger?.info('/status asks the task-manager: its store cannot be read from here', { store: where, reason });
  }
}

function whereOf(identity: StoreIdentity): string {
  return identity.store === 'sqlite' ? identity.file : `postgres tables ${identity.table_prefix}*`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
