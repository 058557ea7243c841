import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '@sje/core';
import { PostgresTaskStore, SqliteTaskStore, storeIdentity, type StoreIdentity, type TaskRecord } from '@sje/store';
import { runAs, type Principal } from './auth/principal.js';
import { StoreTaskReader } from './store-task-reader.js';

function record(task_id: string, tenant?: string): TaskRecord {
  return {
    task_id,
    function: 'echo',
    params: { n: 1 },
    queue: 'default',
    priority: 0,
    status: 'succeeded',
    attempt: 1,
    deliveries: 1,
    deps_remaining: 0,
    depends_on: [],
    labels: {},
    created_at: '2026-12-01T10:00:00.000Z',
    history: [{ status: 'succeeded', at: '2026-12-01T10:00:01.000Z', attempt: 1 }],
    result: { n: 1 },
    ...(tenant === undefined ? {} : { tenant }),
  };
}

/** What a logger was told, message by message. */
function recordingLogger(): { logger: Logger; infos: string[] } {
  const infos: string[] = [];
  const logger = createLogger({ service: 'executor', silent: true });
  const original = logger.info.bind(logger);
  logger.info = ((message: string, meta?: Record<string, unknown>) => {
    const reason = meta?.['reason'];
    infos.push(typeof reason === 'string' ? `${message} ${reason}` : message);
    return original(message, meta);
  }) as Logger['info'];
  return { logger, infos };
}

describe('StoreTaskReader: /status from the task store file', () => {
  const dirs: string[] = [];
  const stores: SqliteTaskStore[] = [];
  const readers: StoreTaskReader[] = [];
  let store: SqliteTaskStore;

  async function openStore(): Promise<SqliteTaskStore> {
    const dir = mkdtempSync(join(tmpdir(), 'sje-status-file-'));
    dirs.push(dir);
    const s = new SqliteTaskStore({ dataDir: dir });
    await s.init();
    stores.push(s);
    return s;
  }
  function reader(identify: () => Promise<StoreIdentity | undefined>, logger?: Logger): StoreTaskReader {
    const r = new StoreTaskReader({ identify, ...(logger ? { logger } : {}) });
    readers.push(r);
    return r;
  }

  beforeEach(async () => {
    store = await openStore();
    await store.commit({ tasks: [record('t-1'), record('t-other', 'acme')], inserted: new Set(['t-1', 't-other']), outbox: [] });
  });
  afterEach(async () => {
    for (const r of readers.splice(0)) r.close();
    for (const s of stores.splice(0)) await s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('reads nothing until the task-manager has named its file, then reads it', async () => {
    const r = reader(async () => storeIdentity(store));
    expect(await r.getTask('t-1')).toBeUndefined();
    await r.check();
    expect(r.reading).toBe(true);
    expect(await r.getTask('t-1')).toMatchObject({ task_id: 't-1', status: 'succeeded', result: { n: 1 } });
    // A task the store does not hold is the store's answer, not a reason to ask elsewhere.
    expect(await r.getTask('t-none')).toBeNull();
  });

  it('sees each commit of the task-manager at once', async () => {
    const r = reader(async () => storeIdentity(store));
    await r.check();
    await store.commit({ tasks: [{ ...record('t-2'), status: 'running' }], inserted: new Set(['t-2']), outbox: [] });
    expect((await r.getTask('t-2'))?.status).toBe('running');
    await store.commit({ tasks: [record('t-2')], inserted: new Set(), outbox: [] });
    expect((await r.getTask('t-2'))?.status).toBe('succeeded');
  });

  it('does not read a file at the named path that holds another store id', async () => {
    const { logger, infos } = recordingLogger();
    const r = reader(async () => ({ store: 'sqlite', file: store.file, store_id: 'f'.repeat(32) }), logger);
    await r.check();
    await r.check();
    expect(r.reading).toBe(false);
    expect(await r.getTask('t-1')).toBeUndefined();
    // Said once, not at every check.
    expect(infos.filter((i) => i.includes('another store id'))).toHaveLength(1);
  });

  it('does not read when the named file cannot be opened here', async () => {
    const r = reader(async () => ({ store: 'sqlite', file: join(dirs[0] ?? '', 'missing', 'tasks.db'), store_id: store.storeId }));
    await r.check();
    expect(r.reading).toBe(false);
    expect(await r.getTask('t-1')).toBeUndefined();
  });

  it('lets the file go when the task-manager names another file or a PostgreSQL store it cannot reach, and keeps it while none answers', async () => {
    let identity: StoreIdentity | undefined = storeIdentity(store);
    const r = reader(async () => identity);
    await r.check();
    expect(r.reading).toBe(true);

    identity = undefined;
    await r.check();
    expect((await r.getTask('t-1'))?.task_id).toBe('t-1');

    const other = await openStore();
    await other.commit({ tasks: [record('t-elsewhere')], inserted: new Set(['t-elsewhere']), outbox: [] });
    identity = storeIdentity(other);
    await r.check();
    expect((await r.getTask('t-elsewhere'))?.task_id).toBe('t-elsewhere');
    expect(await r.getTask('t-1')).toBeNull();

    // A PostgreSQL store, and no postgres_url here to reach it with.
    identity = { store: 'postgres', table_prefix: 'sje_', store_id: store.storeId };
    await r.check();
    expect(r.reading).toBe(false);
    expect(await r.getTask('t-elsewhere')).toBeUndefined();
  });

  it('lets go of a file replaced at its path, and reads the new one once the task-manager names it', async () => {
    const dir = dirs[0] ?? '';
    const r = reader(async () => storeIdentity(store));
    await r.check();
    expect((await r.getTask('t-1'))?.task_id).toBe('t-1');

    // The data directory emptied and a new store made in it, at the same path.
    await store.close();
    stores.splice(stores.indexOf(store), 1);
    for (const f of readdirSync(dir)) rmSync(join(dir, f), { force: true });
    store = new SqliteTaskStore({ dataDir: dir });
    await store.init();
    stores.push(store);
    await store.commit({ tasks: [record('t-new')], inserted: new Set(['t-new']), outbox: [] });

    expect(await r.getTask('t-1')).toBeUndefined();
    await r.check();
    expect((await r.getTask('t-new'))?.task_id).toBe('t-new');
    expect(await r.getTask('t-1')).toBeNull();
  });

  it("answers another tenant's task as unknown to a tenant's caller", async () => {
    const r = reader(async () => storeIdentity(store));
    await r.check();
    const caller = (tenant: string): Principal => ({ keyId: 'k', tenant, scopes: new Set(['read']), allTenants: false });
    expect(await runAs(caller('other'), () => r.getTask('t-other'))).toBeNull();
    expect((await runAs(caller('acme'), () => r.getTask('t-other')))?.task_id).toBe('t-other');
  });

  it('stops reading when closed', async () => {
    const r = reader(async () => storeIdentity(store));
    await r.check();
    r.close();
    expect(await r.getTask('t-1')).toBeUndefined();
  });
});

describe('StoreTaskReader: /status from the PostgreSQL store', () => {
  /** The PostgreSQL server of the tests (trust auth on this project's machines). */
  const url = process.env['SJE_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
  let store: PostgresTaskStore;
  const readers: StoreTaskReader[] = [];
  const reader = (identify: () => Promise<StoreIdentity | undefined>, postgresUrl = url): StoreTaskReader => {
    const r = new StoreTaskReader({ identify, postgresUrl });
    readers.push(r);
    return r;
  };

  beforeEach(async () => {
    store = new PostgresTaskStore({ url, tablePrefix: `st_${randomUUID().slice(0, 8)}_` });
    await store.init();
    await store.commit({ tasks: [record('t-1'), record('t-other', 'acme')], inserted: new Set(['t-1', 't-other']), outbox: [] });
  });
  afterEach(async () => {
    for (const r of readers.splice(0)) r.close();
    await store.dropAll();
    await store.close();
  });

  it('reads the tables the task-manager names through its own connection, every commit as soon as it is made', async () => {
    const identity = storeIdentity(store);
    expect(identity).toEqual({ store: 'postgres', table_prefix: store.tablePrefix, store_id: store.storeId });
    const r = reader(async () => identity);
    await r.check();
    expect(r.reading).toBe(true);
    expect(await r.getTask('t-1')).toMatchObject({ task_id: 't-1', status: 'succeeded', result: { n: 1 } });
    expect(await r.getTask('t-none')).toBeNull();
    await store.commit({ tasks: [{ ...record('t-1'), status: 'cancelled' }], inserted: new Set(), outbox: [] });
    expect((await r.getTask('t-1'))?.status).toBe('cancelled');
    const caller: Principal = { keyId: 'k', tenant: 'other', scopes: new Set(['read']), allTenants: false };
    expect(await runAs(caller, () => r.getTask('t-other'))).toBeNull();
  });

  it('does not read tables that hold another store id, or none', async () => {
    const other = reader(async () => ({ store: 'postgres', table_prefix: store.tablePrefix, store_id: '0'.repeat(32) }));
    await other.check();
    expect(other.reading).toBe(false);
    const missing = reader(async () => ({ store: 'postgres', table_prefix: 'st_none_', store_id: store.storeId }));
    await missing.check();
    expect(missing.reading).toBe(false);
    expect(await missing.getTask('t-1')).toBeUndefined();
  });

  it('does not read when no server answers at its postgres_url', async () => {
    const r = reader(async () => storeIdentity(store), 'postgres://postgres@127.0.0.1:1/test');
    await r.check();
    expect(r.reading).toBe(false);
  });
});
