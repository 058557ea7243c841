import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunReport, TaskSpec } from '@sje/core';
import { SqliteTaskStore } from '@sje/store';
import { afterEach, describe, expect, it } from 'vitest';
import { CommandLoop } from './command-loop.js';
import { applyCancel } from './commands/cancel.js';
import { applyReports } from './commands/reports.js';
import { applySubmit } from './commands/submit.js';
import { testCommandContext } from './commands/test-command-context.js';
import type { OutboxPublisher } from './outbox-publisher.js';
import { StatusCounts } from './status-counts.js';

describe('StatusCounts', () => {
  it('starts from the store count and moves with each batch; moves before the count are in it already', () => {
    const counts = new StatusCounts();
    counts.apply(new Map([['queued', 5]]));
    expect(counts.seeded).toBe(false);
    expect(counts.snapshot()).toBeUndefined();
    counts.seed({ succeeded: 3, queued: 1, failed: 0 });
    counts.apply(
      new Map([
        ['queued', -1],
        ['running', 1],
      ]),
    );
    counts.apply(
      new Map([
        ['running', -1],
        ['succeeded', 1],
        ['pending', 0],
      ]),
    );
    expect(counts.snapshot()).toEqual({ succeeded: 4 });
  });
});

describe('StatusCounts through the command loop', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  const ctx = testCommandContext('counts-test');
  const spec = (id: string, depends_on: string[] = []): TaskSpec => ({ task_id: id, function: 'echo', params: {}, queue: 'default', priority: 0, depends_on, labels: {} });

  it('keeps the count the store would give after every batch: submits, claims, outcomes, cancels, a failed batch', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sje-counts-'));
    dirs.push(dir);
    const store = new SqliteTaskStore({ dataDir: dir });
    await store.init();
    const outbox = { publish: async () => undefined, publishTransient: () => undefined, drain: async () => 0, confirmedIds: () => [], forget: () => undefined, removeConfirmed: async () => undefined } as unknown as OutboxPublisher;
    const counts = new StatusCounts();
    const loop = new CommandLoop({ store, outbox, plugins: ctx.plugins, logger: ctx.logger, statusCounts: counts });
    const expectTheStoreCount = async (): Promise<void> => expect(counts.snapshot()).toEqual(await store.countByStatus());

    // One task stored before the count is taken: the count has it, and its batch's moves are not added twice.
    await loop.run((uow) => applySubmit(uow, ctx, { type: 'submit', tasks: [spec('early')], submitted_at: new Date().toISOString() }));
    counts.seed(await store.countByStatus());
    await expectTheStoreCount();

    // c waits for a and b (pending), a and b are queued; one batch of several submits.
    await loop.run((uow) => applySubmit(uow, ctx, { type: 'submit', tasks: [spec('a'), spec('b'), spec('c', ['a', 'b'])], submitted_at: new Date().toISOString() }));
    await expectTheStoreCount();
    expect(counts.snapshot()).toMatchObject({ queued: 3, pending: 1 });

    const lease = async (id: string): Promise<string> => (await store.getTasks([id])).get(id)?.lease_id ?? '';
    const at = new Date().toISOString();
    const reports: RunReport[] = [
      { type: 'started', task_id: 'a', lease_id: await lease('a'), worker_id: 'w1', host: 'h', at },
      { type: 'started', task_id: 'b', lease_id: await lease('b'), worker_id: 'w1', host: 'h', at },
      { type: 'outcome', task_id: 'a', lease_id: await lease('a'), worker_id: 'w1', outcome: 'succeeded', result: {}, at },
    ];
    await loop.run((uow) => applyReports(uow, ctx, reports));
    await expectTheStoreCount();
    expect(counts.snapshot()).toMatchObject({ succeeded: 1, running: 1, queued: 1, pending: 1 });

    // b fails for good: c is skipped by its trigger rule in the same batch; 'early' is cancelled.
    await loop.run((uow) =>
      applyReports(uow, ctx, [{ type: 'outcome', task_id: 'b', lease_id: reports[1]!.lease_id, worker_id: 'w1', outcome: 'failed', error: { name: 'Error', code: 'SJE_ERR_HANDLER_ERROR', message: 'no', retryable: false }, at }]),
    );
    await loop.run(async (uow) => {
      await applyCancel(uow, ctx, 'early');
    });
    await expectTheStoreCount();

    // A batch that fails is not counted.
    await expect(
      loop.run(async (uow) => {
        await applySubmit(uow, ctx, { type: 'submit', tasks: [spec('lost')], submitted_at: new Date().toISOString() });
        throw new Error('the batch fails');
      }),
    ).rejects.toThrow('the batch fails');
    await expectTheStoreCount();
    expect(Object.values(counts.snapshot() ?? {}).reduce((a, b) => a + b, 0)).toBe(4);
    await store.close();
  });
});
