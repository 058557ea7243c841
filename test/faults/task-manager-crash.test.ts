/**
 * The task-manager killed with SIGKILL in the middle of a stream of 2,000
 * submitted tasks and started again: every task reaches a final state, none
 * is missing or recorded twice, and every history takes only legal steps.
 * Run with the embedded SQLite store and with the PostgreSQL store.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SjeConfig } from '../../packages/core/src/index.js';
import { faultConfig, figure, startStack, until, type Stack } from './support/fault-stack.js';
import { dropTables, TEST_POSTGRES_URL } from './support/postgres.js';
import { uniqueTablePrefix } from './support/fault-stack.js';
import { getViews, readRunLog, storeCounts, submitMany, taskProblems, waitForFinalCount } from './support/tasks.js';

const TASKS = 2000;
let stack: Stack | undefined;
let tablePrefix: string | undefined;

afterEach(async () => {
  await Promise.all([stack?.executor.stop(), stack?.taskManager.stop(), ...(stack?.workers ?? []).map((w) => w.stop())]);
  stack = undefined;
  if (tablePrefix !== undefined) await dropTables(tablePrefix);
  tablePrefix = undefined;
});

const stores: { store: 'sqlite' | 'postgres'; config: () => Promise<SjeConfig> }[] = [
  { store: 'sqlite', config: () => faultConfig({ worker: { concurrency: 16 } }) },
  {
    store: 'postgres',
    config: () => {
      tablePrefix = uniqueTablePrefix();
      return faultConfig({
        worker: { concurrency: 16 },
        task_manager: { store: 'postgres', postgres_url: TEST_POSTGRES_URL, postgres_table_prefix: tablePrefix },
      });
    },
  },
];

describe.each(stores)('kill -9 of the task-manager ($store store)', ({ store, config: makeConfig }) => {
  it(`loses and duplicates nothing of ${TASKS} tasks submitted around the crash`, async () => {
    const test = `task-manager kill -9 (${store})`;
    const config = await makeConfig();
    const log = join(config.task_manager.data_dir, 'runs.log');
    stack = await startStack(config, { workers: 1 });
    const tm = stack.taskManager;

    let killedAt = 0;
    let downMs = 0;
    let restarted: Promise<void> | undefined;
    const started = Date.now();
    const ids = await submitMany(stack.api, TASKS, () => ({ function: 'record_run', params: { log } }), {
      concurrency: 8,
      onAccepted: (n) => {
        if (n !== Math.floor(TASKS / 3)) return;
        tm.kill('SIGKILL');
        killedAt = Date.now();
        // Down for a second while submissions go on, then back.
        restarted = (async () => {
          await tm.waitExit();
          await new Promise((r) => setTimeout(r, 1000));
          await tm.restart();
          downMs = Date.now() - killedAt;
        })();
      },
    });
    const submittedMs = Date.now() - started;
    await restarted;
    expect(killedAt).toBeGreaterThan(0);
    expect(tm.output()).toMatch(/exited \(code null, signal SIGKILL\)/);

    const counts = await waitForFinalCount([tm.baseUrl], TASKS, 120_000);
    const doneMs = Date.now() - started;
    // The store holds exactly the submitted tasks: nothing missing, nothing extra.
    expect(Object.values(counts).reduce((a, n) => a + n, 0)).toBe(TASKS);
    const views = await getViews(stack.api, ids);
    expect(new Set(views.map((v) => v.task_id)).size).toBe(TASKS);
    expect(views.flatMap(taskProblems)).toEqual([]);
    expect(views.filter((v) => v.status !== 'succeeded').map((v) => `${v.task_id}: ${v.status}`)).toEqual([]);

    const runs = readRunLog(log);
    expect([...ids].filter((id) => !runs.has(id))).toEqual([]);
    const reRun = [...runs.values()].filter((p) => p.length > 1).length;
    const requeued = views.filter((v) => v.history.filter((h) => h.status === 'queued').length > 1).length;
    await until('the store counts to stay put', async () => (await storeCounts(tm.baseUrl))?.['succeeded'] === TASKS, 5000);

    figure(test, 'tasks / killed after', `${TASKS} / ${Math.floor(TASKS / 3)} accepted`);
    figure(test, 'task-manager down (kill → ready again)', `${downMs} ms`);
    figure(test, 'submissions while it was down', 'all answered 201');
    figure(test, 'submit stream', `${submittedMs} ms`);
    figure(test, 'submit → all final', `${doneMs} ms`);
    figure(test, 'tasks run more than once (at-least-once)', reRun);
    figure(test, 'tasks re-queued under a new lease', requeued);
    figure(test, 'tasks missing / duplicated / illegal histories', '0 / 0 / 0');
  });
});
