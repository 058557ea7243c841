import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, loadConfig, PluginHost } from '@sje/core';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { CommandLoop } from './command-loop.js';
import type { OutboxPublisher } from './outbox-publisher.js';
import { SqliteTaskStore, type TaskRecord } from '@sje/store';
import { RecordCache } from './record-cache.js';
import type { UnitOfWork } from './unit-of-work.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function openStore(): Promise<SqliteTaskStore> {
  const dir = mkdtempSync(join(tmpdir(), 'sje-loop-'));
  dirs.push(dir);
  const store = new SqliteTaskStore({ dataDir: dir });
  await store.init();
  return store;
}

async function loop(maxBatchWeight: number, store?: SqliteTaskStore, recordCache?: RecordCache): Promise<CommandLoop> {
  store ??= await openStore();
  const outbox = { publish: async () => undefined, publishTransient: () => undefined, drain: async () => 0, confirmedIds: () => [], forget: () => undefined, removeConfirmed: async () => undefined } as unknown as OutboxPublisher;
  const logger = createLogger({ service: 'test', silent: true });
  return new CommandLoop({ store, outbox, plugins: new PluginHost({ service: 'task-manager', logger, metrics: new Registry(), config: loadConfig({ env: {} }) }), logger, maxBatchWeight, ...(recordCache ? { recordCache } : {}) });
}

const taskRecord = (id: string): TaskRecord =>
  ({
    task_id: id,
    function: 'echo',
    params: {},
    queue: 'default',
    priority: 0,
    depends_on: [],
    labels: {},
    status: 'queued',
    attempt: 1,
    deliveries: 0,
    deps_remaining: 0,
    has_dependents: false,
    created_at: new Date().toISOString(),
    history: [],
  });

describe('CommandLoop batching', () => {
  it('alternates batches of urgent jobs with batches of others, each within its limits (a heavier job still runs, alone)', async () => {
    const l = await loop(2000);
    const batches = new Map<UnitOfWork, string[]>();
    const note = (name: string) => async (uow: UnitOfWork) => void batches.set(uow, [...(batches.get(uow) ?? []), name]);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const first = l.run(async (uow) => {
      await note('first')(uow);
      await held;
    });
    // The batch starts once the code that pushed the job is done.
    await new Promise<void>((r) => setImmediate(r));
    const rest = [
      l.run(note('a'), { weight: 1000 }),
      l.run(note('b'), { weight: 1000 }),
      l.run(note('c'), { weight: 1000 }),
      l.run(note('huge'), { weight: 5000 }),
      l.run(note('urgent1'), { urgent: true }),
      l.run(note('urgent2'), { urgent: true }),
    ];
    expect(l.backlog).toBe(6);
    release();
    // A third urgent job arrives while the others are being applied: it goes in the next urgent turn.
    await rest[0];
    const late = l.run(note('urgent3'), { urgent: true });
    await Promise.all([first, ...rest, late]);
    expect([...batches.values()]).toEqual([['first'], ['urgent1', 'urgent2'], ['a', 'b'], ['urgent3'], ['c'], ['huge']]);
  });
});

describe('CommandLoop start of a batch', () => {
  it('puts the jobs pushed by one piece of code (the messages of one socket read) in one batch', async () => {
    const l = await loop(500);
    const batches = new Map<UnitOfWork, string[]>();
    const note = (name: string) => async (uow: UnitOfWork) => void batches.set(uow, [...(batches.get(uow) ?? []), name]);
    const jobs = ['m1', 'm2', 'm3'].map((name) => l.run(note(name), { urgent: true }));
    await Promise.all(jobs);
    expect([...batches.values()]).toEqual([['m1', 'm2', 'm3']]);
  });
});

describe('CommandLoop record cache', () => {
  it('serves a record a batch committed to the next batches without reading the store', async () => {
    const store = await openStore();
    const cache = new RecordCache(100);
    const l = await loop(500, store, cache);
    await l.run(async (uow) => uow.insert(taskRecord('t1')));
    let reads = 0;
    const getTasks = store.getTasks.bind(store);
    store.getTasks = async (ids) => {
      reads += ids.length;
      return getTasks(ids);
    };
    await l.run(async (uow) => {
      const r = await uow.get('t1');
      r!.status = 'running';
      uow.touch(r!);
    });
    const seen = await l.run(async (uow) => (await uow.get('t1'))?.status);
    expect(seen).toBe('running');
    expect(reads).toBe(0);
    expect((await getTasks(['t1'])).get('t1')?.status).toBe('running');
  });

  it('forgets cached records when a batch fails, so the next batch sees what the store holds', async () => {
    const store = await openStore();
    const cache = new RecordCache(100);
    const l = await loop(500, store, cache);
    await l.run(async (uow) => uow.insert(taskRecord('t2')));
    const failed = l.run(async (uow) => {
      const r = await uow.get('t2');
      r!.status = 'cancelled'; // changed in place, never committed
      throw new Error('boom');
    });
    await expect(failed).rejects.toThrow('boom');
    expect(cache.size).toBe(0);
    const seen = await l.run(async (uow) => (await uow.get('t2'))?.status);
    expect(seen).toBe('queued');
  });
});
