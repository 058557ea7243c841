import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunReport, TaskSpec } from '@sje/core';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteTaskStore } from '@sje/store';
import { UnitOfWork } from '../unit-of-work.js';
import { applyReports } from './reports.js';
import { applySubmit } from './submit.js';
import { testCommandContext } from './test-command-context.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const ctx = testCommandContext('reports-test');
const spec = (id: string): TaskSpec => ({ task_id: id, function: 'echo', params: {}, queue: 'default', priority: 0, depends_on: [], labels: {} });

/** Runs `fn` on a fresh unit of work and commits it. */
async function inBatch(store: SqliteTaskStore, fn: (uow: UnitOfWork) => Promise<void>): Promise<UnitOfWork> {
  const uow = new UnitOfWork(store, new Date());
  await fn(uow);
  await store.commit(uow.toCommit());
  return uow;
}

async function queuedTasks(ids: string[]): Promise<{ store: SqliteTaskStore; leases: Map<string, string> }> {
  const dir = mkdtempSync(join(tmpdir(), 'sje-reports-'));
  dirs.push(dir);
  const store = new SqliteTaskStore({ dataDir: dir });
  await store.init();
  await inBatch(store, (uow) => applySubmit(uow, ctx, { type: 'submit', tasks: ids.map(spec), submitted_at: new Date().toISOString() }));
  const leases = new Map([...(await store.getTasks(ids))].map(([id, r]) => [id, r.lease_id ?? '']));
  return { store, leases };
}

describe('applyReports', () => {
  it('applies a batch in order, reading its records with one store read', async () => {
    const { store, leases } = await queuedTasks(['a', 'b']);
    let reads = 0;
    const getTasks = store.getTasks.bind(store);
    store.getTasks = async (ids) => {
      reads += 1;
      return getTasks(ids);
    };
    const at = new Date().toISOString();
    const reports: RunReport[] = [
      { type: 'started', task_id: 'a', lease_id: leases.get('a')!, worker_id: 'w1', host: 'h', at },
      { type: 'started', task_id: 'b', lease_id: leases.get('b')!, worker_id: 'w1', host: 'h', at },
      // The claim above made 'a' running within this batch: its outcome applies.
      { type: 'outcome', task_id: 'a', lease_id: leases.get('a')!, worker_id: 'w1', outcome: 'succeeded', result: { ok: 1 }, at },
      { type: 'outcome', task_id: 'b', lease_id: 'stale-lease', worker_id: 'w1', outcome: 'succeeded', result: {}, at },
      { type: 'started', task_id: 'unknown', lease_id: 'x', worker_id: 'w1', host: 'h', at },
    ];
    const uow = await inBatch(store, (u) => applyReports(u, ctx, reports));
    expect(reads).toBe(1);
    const stored = await getTasks(['a', 'b']);
    expect(stored.get('a')?.status).toBe('succeeded');
    expect(stored.get('a')?.result).toEqual({ ok: 1 });
    expect(stored.get('b')?.status).toBe('running');
    const grants = uow.transientMessages().map((m) => m.body as { task_id: string; granted: boolean });
    expect(grants).toEqual([
      expect.objectContaining({ task_id: 'a', granted: true }),
      expect.objectContaining({ task_id: 'b', granted: true }),
      expect.objectContaining({ task_id: 'unknown', granted: false }),
    ]);
  });
});
