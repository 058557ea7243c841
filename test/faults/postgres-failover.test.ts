/**
 * Two task-managers on one PostgreSQL store: one active, one standby (its
 * /readyz says so). The active one is killed with SIGKILL during a stream of
 * tasks; the standby takes the advisory lock over and no task is lost.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { http } from '../helpers/http.js';
import { freePort, spawnService, type SpawnedService } from '../helpers/stack.js';
import { faultConfig, figure, uniqueTablePrefix, until, variant } from './support/fault-stack.js';
import { dropTables, TEST_POSTGRES_URL } from './support/postgres.js';
import { getViews, readRunLog, storeCounts, submitMany, taskProblems, waitForFinalCount } from './support/tasks.js';

const TEST = 'PostgreSQL standby takeover';
const TASKS = 1000;
const tablePrefix = uniqueTablePrefix();
const services: SpawnedService[] = [];

afterAll(async () => {
  await Promise.all(services.map((s) => s.stop()));
  await dropTables(tablePrefix);
});

async function readiness(s: SpawnedService): Promise<{ status: number; role?: string }> {
  try {
    const res = await http<{ checks?: { role?: string } }>(`${s.baseUrl}/readyz`);
    return res.body?.checks?.role === undefined ? { status: res.status } : { status: res.status, role: res.body.checks.role };
  } catch {
    return { status: 0 };
  }
}

describe('two task-managers on PostgreSQL', () => {
  it('runs one active and one standby; the standby takes over when the active one is killed, and no task is lost', async () => {
    const standbyPort = await freePort();
    const base = await faultConfig({
      worker: { concurrency: 16 },
      task_manager: { store: 'postgres', postgres_url: TEST_POSTGRES_URL, postgres_table_prefix: tablePrefix },
    });
    const config = variant(base, {
      executor: { task_manager_urls: [...base.executor.task_manager_urls, `http://127.0.0.1:${standbyPort}`] },
    });
    const log = join(config.task_manager.data_dir, 'runs.log');

    const active = await spawnService('task-manager', config);
    services.push(active);
    const standby = await spawnService('task-manager', variant(config, { task_manager: { ops_port: standbyPort } }), { waitReady: false });
    services.push(standby);
    await until('the second task-manager to report standby', async () => {
      const r = await readiness(standby);
      return r.status === 503 && r.role === 'standby';
    });
    expect(await readiness(active)).toEqual({ status: 200, role: 'active' });
    const [executor, worker] = await Promise.all([spawnService('executor', config), spawnService('worker', config)]);
    services.push(executor, worker);

    let killedAt = 0;
    let takeoverMs = 0;
    let tookOver: Promise<void> | undefined;
    const ids = await submitMany(executor.baseUrl, TASKS, () => ({ function: 'record_run', params: { log } }), {
      onAccepted: (n) => {
        if (n !== 300) return;
        active.kill('SIGKILL');
        killedAt = Date.now();
        tookOver = until('the standby to become active', async () => (await readiness(standby)).status === 200, 30_000, 20).then(() => {
          takeoverMs = Date.now() - killedAt;
        });
      },
    });
    await tookOver;
    expect(await readiness(standby)).toEqual({ status: 200, role: 'active' });
    expect(standby.output()).not.toMatch(/exited/);

    // The old active one comes back as the standby.
    await active.restart({ waitReady: false });
    await until('the restarted task-manager to report standby', async () => (await readiness(active)).role === 'standby');

    const counts = await waitForFinalCount([standby.baseUrl], TASKS, 120_000);
    expect(Object.values(counts).reduce((a, n) => a + n, 0)).toBe(TASKS);
    const views = await getViews(executor.baseUrl, ids);
    expect(views.flatMap(taskProblems)).toEqual([]);
    expect(views.filter((v) => v.status !== 'succeeded').map((v) => `${v.task_id}: ${v.status}`)).toEqual([]);
    const runs = readRunLog(log);
    expect(ids.filter((id) => !runs.has(id))).toEqual([]);
    expect((await storeCounts(standby.baseUrl))?.['succeeded']).toBe(TASKS);

    figure(TEST, 'tasks / active killed after', `${TASKS} / 300 accepted`);
    figure(TEST, 'kill → standby ready (advisory lock taken, consuming)', `${takeoverMs} ms`);
    figure(TEST, 'tasks run more than once', [...runs.values()].filter((p) => p.length > 1).length);
    figure(TEST, 'tasks lost / not succeeded', '0 / 0');
  });
});
