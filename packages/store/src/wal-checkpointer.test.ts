import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '@sje/core';
import { DEFAULT_PAGE_SIZE, SqliteTaskStore } from './sqlite-task-store.js';
import { recordWithEveryField } from './task-store-conformance.js';
import { WalCheckpointer, type CheckpointStats } from './wal-checkpointer.js';

/** Polls `cond` every 10 ms for up to 10 s. */
async function eventually(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sje-wal-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Stores `n` tasks (ids from `first` on) in batches of 50, each batch one commit. */
async function storeTasks(store: SqliteTaskStore, n: number, first = 0): Promise<void> {
  for (let i = first; i < first + n; i += 50) {
    const batch = Array.from({ length: 50 }, (_, j) => ({ ...recordWithEveryField(`t-${i + j}`), params: { data: 'x'.repeat(2000) } }));
    await store.commit({ tasks: batch, inserted: new Set(batch.map((t) => t.task_id)), outbox: [] });
  }
}

/** A store opened with `checkpointMs`, the size of its database file when new, and 500 tasks then stored. */
async function storeWith500Tasks(checkpointMs: number): Promise<{ store: SqliteTaskStore; file: string; sizeBefore: number }> {
  const file = join(dir, 'tasks.db');
  const store = new SqliteTaskStore({ dataDir: dir, checkpointMs });
  await store.init();
  const sizeBefore = statSync(file).size;
  await storeTasks(store, 500);
  return { store, file, sizeBefore };
}

describe('the embedded store checkpoints its log on a thread', () => {
  it('copies the log into the database file while the commits never checkpoint', async () => {
    const { store, file, sizeBefore } = await storeWith500Tasks(20);
    await eventually(() => {
      const s = store.checkpointStats;
      return s !== undefined && s.checkpointedFrames > 0 && s.checkpointedFrames === s.logFrames;
    });
    // The pages reached the database file itself, not only the log.
    expect(statSync(file).size).toBeGreaterThan(sizeBefore + 500 * 2000);
    expect((await store.getTasks(['t-499'])).get('t-499')?.params).toEqual({ data: 'x'.repeat(2000) });
    await store.close();
  });

  it('leaves the checkpoints to the commits with checkpointMs 0: the file does not grow before the log is large', async () => {
    const { store, file, sizeBefore } = await storeWith500Tasks(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(store.checkpointStats).toBeUndefined();
    expect(statSync(file).size).toBe(sizeBefore);
    expect(statSync(`${file}-wal`).size).toBeGreaterThan(500 * 2000);
    await store.close();
  });

  it('leaves a complete database file and no log behind when closed', async () => {
    const file = join(dir, 'tasks.db');
    const store = new SqliteTaskStore({ dataDir: dir, checkpointMs: 20 });
    await store.init();
    await storeTasks(store, 100);
    await store.close();
    expect(existsSync(`${file}-wal`)).toBe(false);
    const again = new SqliteTaskStore({ dataDir: dir });
    await again.init();
    expect((await again.getTasks(['t-99'])).size).toBe(1);
    await again.close();
  });
});

describe('a log the thread does not keep up with', () => {
  it('holds the commits back until a restart checkpoint lets the log start again', async () => {
    const wal = join(dir, 'tasks.db-wal');
    // The thread's timer never fires within the test: only the commits' own requests checkpoint the log.
    const store = new SqliteTaskStore({ dataDir: dir, pageSize: 4096, checkpointMs: 60_000, logBytes: 2 ** 20 });
    await store.init();
    let largest = 0;
    for (let i = 0; i < 2000; i += 50) {
      await storeTasks(store, 50, i);
      largest = Math.max(largest, statSync(wal).size);
    }
    // 2,000 tasks of 2 KB of params: ~6 MB of log, held to four times 1 MB plus the batch that crossed it.
    expect(store.checkpointStats?.restarts).toBeGreaterThan(0);
    expect(largest).toBeLessThan(4 * 2 ** 20 + 2 ** 20);
    expect((await store.getTasks(['t-1999'])).size).toBe(1);
    await store.close();
  });
});

describe('the checkpoint thread', () => {
  it('restarts the log once it has grown past the limit', async () => {
    const file = join(dir, 'plain.db');
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec('CREATE TABLE t (v TEXT)');
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const failures: Error[] = [];
    const checkpointer = new WalCheckpointer({ file, intervalMs: 10, restartFrames: 20, onFailure: (e) => failures.push(e) });
    let stats: CheckpointStats = checkpointer.stats;
    // Write without pause until the thread has restarted the log at least once.
    for (let i = 0; i < 5000 && stats.restarts === 0; i++) {
      db.transaction(() => {
        for (let j = 0; j < 20; j++) insert.run('y'.repeat(3000));
      })();
      await new Promise((r) => setTimeout(r, 1));
      stats = checkpointer.stats;
    }
    expect(stats.restarts).toBeGreaterThan(0);
    // A restart copies the whole log: the next write starts it again from its beginning.
    await eventually(() => checkpointer.stats.checkpointedFrames === checkpointer.stats.logFrames);
    await checkpointer.stop();
    expect(failures).toEqual([]);
    expect(db.prepare('SELECT COUNT(*) FROM t').pluck().get()).toBeGreaterThan(0);
    db.close();
  });

  it('tells its owner when it fails', async () => {
    const failures: Error[] = [];
    const checkpointer = new WalCheckpointer({ file: join(dir, 'missing.db'), intervalMs: 10, restartFrames: 20, onFailure: (e) => failures.push(e) });
    await eventually(() => failures.length > 0);
    expect(failures[0]?.message).toMatch(/SQLITE_CANTOPEN/);
    await checkpointer.stop();
  });
});

describe('the embedded store page size', () => {
  it('makes a new file with the page size asked for', async () => {
    const store = new SqliteTaskStore({ dataDir: dir, pageSize: 16_384, checkpointMs: 0 });
    await store.init();
    await store.close();
    const raw = new Database(join(dir, 'tasks.db'), { readonly: true });
    expect(raw.pragma('page_size', { simple: true })).toBe(16_384);
    raw.close();
  });

  it("makes a new file with the default page size when none is asked for, the configuration's default", async () => {
    expect(loadConfig({ env: {} }).task_manager.sqlite_page_size).toBe(DEFAULT_PAGE_SIZE);
    const store = new SqliteTaskStore({ dataDir: dir, checkpointMs: 0 });
    await store.init();
    await store.close();
    const raw = new Database(join(dir, 'tasks.db'), { readonly: true });
    expect(raw.pragma('page_size', { simple: true })).toBe(DEFAULT_PAGE_SIZE);
    raw.close();
  });

  it('keeps the page size of a file that exists, and its tasks', async () => {
    const old = new SqliteTaskStore({ dataDir: dir, pageSize: 8192, checkpointMs: 0 });
    await old.init();
    await storeTasks(old, 50);
    await old.close();
    const store = new SqliteTaskStore({ dataDir: dir, pageSize: DEFAULT_PAGE_SIZE });
    await store.init();
    expect((await store.getTasks(['t-49'])).size).toBe(1);
    await store.close();
    const raw = new Database(join(dir, 'tasks.db'), { readonly: true });
    expect(raw.pragma('page_size', { simple: true })).toBe(8192);
    raw.close();
  });
});
