import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, loadConfig, PluginHost } from '@sje/core';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { CommandLoop } from './command-loop.js';
import type { OutboxPublisher } from './outbox-publisher.js';
import { SqliteTaskStore } from './store/sqlite-task-store.js';
import type { UnitOfWork } from './unit-of-work.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function loop(maxBatchWeight: number): Promise<CommandLoop> {
  const dir = mkdtempSync(join(tmpdir(), 'sje-loop-'));
  dirs.push(dir);
  const store = new SqliteTaskStore({ dataDir: dir });
  await store.init();
  const outbox = { publish: async () => undefined, publishTransient: () => undefined, drain: async () => 0 } as unknown as OutboxPublisher;
  const logger = createLogger({ service: 'test', silent: true });
  return new CommandLoop({ store, outbox, plugins: new PluginHost({ service: 'task-manager', logger, metrics: new Registry(), config: loadConfig({ env: {} }) }), logger, maxBatchWeight });
}

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
