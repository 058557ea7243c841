import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteTaskReader } from './sqlite-task-reader.js';
import { SqliteTaskStore } from './sqlite-task-store.js';
import { recordWithEveryField } from './task-store-conformance.js';

describe('sqlite task reader: a read-only connection from another process', () => {
  let dir: string;
  let store: SqliteTaskStore;
  const readers: SqliteTaskReader[] = [];
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sje-reader-'));
    store = new SqliteTaskStore({ dataDir: dir });
    await store.init();
  });
  afterEach(async () => {
    for (const r of readers.splice(0)) r.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const open = (file: string): SqliteTaskReader => {
    const reader = new SqliteTaskReader(file);
    readers.push(reader);
    return reader;
  };

  it('reads the record the store last committed, every commit as soon as it returns', async () => {
    const reader = open(store.file);
    const record = recordWithEveryField('t-read');
    expect(reader.getTask(record.task_id)).toBeUndefined();
    await store.commit({ tasks: [record], inserted: new Set([record.task_id]), outbox: [] });
    expect(reader.getTask(record.task_id)).toEqual(record);

    const finished = { ...record, status: 'succeeded' as const, result: { n: 2 }, finished_at: '2026-12-01T10:00:05.000Z' };
    await store.commit({ tasks: [finished], inserted: new Set(), outbox: [] });
    expect(reader.getTask(record.task_id)).toEqual(finished);
  });

  it('names the file by the store id the store made for it, which another file does not share', async () => {
    expect(store.storeId).toMatch(/^[0-9a-f]{32}$/);
    expect(open(store.file).storeId).toBe(store.storeId);

    const otherDir = mkdtempSync(join(tmpdir(), 'sje-reader-other-'));
    const other = new SqliteTaskStore({ dataDir: otherDir });
    await other.init();
    try {
      expect(open(other.file).storeId).not.toBe(store.storeId);
    } finally {
      await other.close();
      rmSync(otherDir, { recursive: true, force: true });
    }
  });

  it('keeps its store id when the store is opened again', async () => {
    const id = store.storeId;
    await store.close();
    store = new SqliteTaskStore({ dataDir: dir });
    await store.init();
    expect(store.storeId).toBe(id);
  });

  it('tells when the file at its path is no longer the one it opened', async () => {
    const reader = open(store.file);
    expect(reader.stillAtPath()).toBe(true);
    await store.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${store.file}${suffix}`, { force: true });
    expect(reader.stillAtPath()).toBe(false);
    store = new SqliteTaskStore({ dataDir: dir });
    await store.init();
    expect(reader.stillAtPath()).toBe(false);
    expect(open(store.file).stillAtPath()).toBe(true);
  });

  it('refuses a file that is missing, and does not create it', () => {
    const missing = join(dir, 'elsewhere.db');
    expect(() => open(missing)).toThrow();
    expect(existsSync(missing)).toBe(false);
  });

  it('refuses a SQLite file that is not a task store', () => {
    const file = join(dir, 'plain.db');
    const db = new Database(file);
    db.exec('CREATE TABLE t (v TEXT)');
    db.close();
    expect(() => open(file)).toThrow(/store_info/);
  });

  it('never writes: the task-manager stays the only writer', async () => {
    const reader = open(store.file);
    const record = recordWithEveryField('t-write');
    await store.commit({ tasks: [record], inserted: new Set([record.task_id]), outbox: [] });
    const raw = new Database(store.file, { readonly: true });
    // The reader's own connection is read-only: a write through a read-only handle fails.
    expect(() => raw.prepare('DELETE FROM tasks').run()).toThrow(/readonly/);
    raw.close();
    expect(reader.getTask(record.task_id)?.status).toBe(record.status);
  });
});
