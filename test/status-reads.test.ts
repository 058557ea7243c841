/**
 * Where `/status` reads a task, against real processes.
 *
 * `store_first` (the default), with the embedded store: once the
 * task-manager has named its SQLite file (`GET /store`), the executor reads
 * the file itself — no task lookup reaches the task-manager, tenants stay
 * apart, and reads go on while the task-manager is down.
 *
 * `store_first` with PostgreSQL: the executor reads the tables the active
 * task-manager names through its own connection, and goes on reading them
 * while the active task-manager dies and the standby takes over.
 *
 * `ops_first`, read from the task-managers' ops endpoints first: two
 * task-managers on one PostgreSQL store, one active and one standby, and the
 * executor's `task_manager_urls` naming the standby first. The standby
 * answers task lookups with 503; `/status` reads from the active one (through
 * a recording proxy, so the test sees every lookup), with the ops token,
 * keeping every tenant to its own tasks.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../packages/core/src/index.js';
import { freePort, spawnService, type SpawnedService } from './helpers/stack.js';
import { faultConfig, until, variant, uniqueTablePrefix } from './faults/support/fault-stack.js';
import { dropTables, TEST_POSTGRES_URL } from './faults/support/postgres.js';
import { apiKey, call } from './security-support.js';

const tablePrefix = uniqueTablePrefix();
/** The tables of the store_first test with PostgreSQL: its task-managers must not stand in the other test's way. */
const storeFirstPrefix = uniqueTablePrefix();
const services: SpawnedService[] = [];
const proxies: Server[] = [];
const OPS_TOKEN = `ops_${randomUUID()}`;
const acme = apiKey('acme-app', ['submit', 'read'], 'acme');
const globex = apiKey('globex-app', ['submit', 'read'], 'globex');

afterAll(async () => {
  for (const proxy of proxies) {
    proxy.closeAllConnections();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
  }
  await Promise.all(services.map((s) => s.stop()));
  await dropTables(tablePrefix);
  await dropTables(storeFirstPrefix);
});

/** An HTTP proxy to `target` that records `<status> <path> <authorization>` of every answer. */
async function recordingProxy(target: number, seen: string[]): Promise<string> {
  const server = createServer((req, res) => {
    const upstream = request({ host: '127.0.0.1', port: target, path: req.url, method: req.method, headers: req.headers }, (up) => {
      seen.push(`${up.statusCode ?? 0} ${req.url ?? ''} ${req.headers['authorization'] === `Bearer ${OPS_TOKEN}` ? 'token' : 'no token'}`);
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  proxies.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Task lookups (`GET /tasks/...`) among the answers a recording proxy saw. */
function taskLookups(seen: readonly string[]): number {
  return seen.filter((s) => s.includes('/tasks/')).length;
}

/**
 * Submits one task as acme (no worker runs, so it waits in the store as
 * queued), waits until `/status` shows it, and then until a read of it no
 * longer reaches the task-manager through the proxy: the executor has asked
 * which store the task-manager writes (it does as it starts) and reads the
 * store itself. Returns the task's id.
 */
async function submitAndAwaitStoreReads(executor: SpawnedService, seen: string[], params: Record<string, unknown>): Promise<string> {
  const sub = await call(executor.baseUrl, 'POST', '/submit', { key: acme.key, json: { function: 'echo', params } });
  expect(sub.status).toBe(201);
  const id = sub.body.task_id as string;
  const read = (): ReturnType<typeof call> => call(executor.baseUrl, 'GET', `/status/${id}`, { key: acme.key });
  await until('the task to be stored', async () => (await read()).body?.status === 'queued');
  await until('the executor to read the store itself', async () => {
    const before = taskLookups(seen);
    await read();
    return taskLookups(seen) === before;
  });
  return id;
}

/** Kills `taskManager` (SIGKILL) and checks that `/status` of `id` still answers from the store, as queued. */
async function expectReadsAfterKilling(taskManager: SpawnedService, executor: SpawnedService, id: string): Promise<void> {
  taskManager.kill('SIGKILL');
  await taskManager.waitExit();
  const read = await call(executor.baseUrl, 'GET', `/status/${id}`, { key: acme.key });
  expect(read.status).toBe(200);
  expect(read.body).toMatchObject({ task_id: id, status: 'queued' });
}

describe('GET /status with status_reads: store_first (the default)', () => {
  it('reads the embedded store file the task-manager names, keeps tenants apart, and answers while the task-manager is down', async () => {
    const tmPort = await freePort();
    const seen: string[] = [];
    const proxyUrl = await recordingProxy(tmPort, seen);
    const config = await faultConfig({
      task_manager: { ops_port: tmPort },
      executor: { task_manager_urls: [proxyUrl] },
      security: { api_keys: [acme.entry, globex.entry], ops_token: OPS_TOKEN },
    });
    expect(config.executor.status_reads).toBe('store_first');
    const tm = await spawnService('task-manager', config);
    services.push(tm);

    // The task-manager names its store: the file's absolute path and the id written in it.
    const named = await fetch(`${tm.baseUrl}/store`, { headers: { authorization: `Bearer ${OPS_TOKEN}` } });
    expect(named.status).toBe(200);
    expect(named.headers.get('x-sje-topology-prefix')).toBe(config.topology.prefix);
    const identity = (await named.json()) as { store: string; file: string; store_id: string };
    expect(identity).toEqual({
      store: 'sqlite',
      file: join(resolve(config.task_manager.data_dir), 'tasks.db'),
      store_id: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect((await fetch(`${tm.baseUrl}/store`)).status).toBe(401);

    const executor = await spawnService('executor', config);
    services.push(executor);

    const id = await submitAndAwaitStoreReads(executor, seen, { n: 1 });
    expect(seen).toContain('200 /store token');
    seen.length = 0;

    const own = await call(executor.baseUrl, 'GET', `/status/${id}`, { key: acme.key });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ task_id: id, status: 'queued', tenant: 'acme', params: { n: 1 } });
    const other = await call(executor.baseUrl, 'GET', `/status/${id}`, { key: globex.key });
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe(ErrorCode.TASK_NOT_FOUND);
    // Only the store's identity was asked of the task-manager, never a task.
    expect(taskLookups(seen)).toBe(0);

    // The task-manager dies: the file still holds every commit it made.
    await expectReadsAfterKilling(tm, executor, id);
  });
});

describe('GET /status with status_reads: store_first and PostgreSQL', () => {
  it('reads the tables the active task-manager names, and goes on reading them through a take-over', async () => {
    const activePort = await freePort();
    const standbyPort = await freePort();
    const seen: string[] = [];
    const proxyUrl = await recordingProxy(activePort, seen);
    const config = await faultConfig({
      task_manager: { store: 'postgres', postgres_url: TEST_POSTGRES_URL, postgres_table_prefix: storeFirstPrefix, ops_port: activePort },
      executor: { task_manager_urls: [proxyUrl, `http://127.0.0.1:${standbyPort}`] },
      security: { api_keys: [acme.entry, globex.entry], ops_token: OPS_TOKEN },
    });
    const active = await spawnService('task-manager', config);
    services.push(active);
    const standby = await spawnService('task-manager', variant(config, { task_manager: { ops_port: standbyPort } }), { waitReady: false });
    services.push(standby);
    const named = (await (await fetch(`${active.baseUrl}/store`, { headers: { authorization: `Bearer ${OPS_TOKEN}` } })).json()) as Record<
      string,
      unknown
    >;
    expect(named).toEqual({ store: 'postgres', table_prefix: storeFirstPrefix, store_id: expect.stringMatching(/^[0-9a-f]{32}$/) });
    const executor = await spawnService('executor', config);
    services.push(executor);

    const id = await submitAndAwaitStoreReads(executor, seen, { n: 2 });
    seen.length = 0;
    expect((await call(executor.baseUrl, 'GET', `/status/${id}`, { key: acme.key })).body).toMatchObject({
      task_id: id,
      status: 'queued',
      tenant: 'acme',
    });
    expect((await call(executor.baseUrl, 'GET', `/status/${id}`, { key: globex.key })).status).toBe(404);
    expect(taskLookups(seen)).toBe(0);

    // Tasks by status come from the active task-manager alone, so that a sum over instances counts each task once.
    const metricsOf = async (tm: SpawnedService): Promise<string> => (await fetch(`${tm.baseUrl}/metrics`, { headers: { authorization: `Bearer ${OPS_TOKEN}` } })).text();
    expect(await metricsOf(active)).toMatch(/^sje_tasks\{status="queued"[^}]*\} 1$/m);
    expect(await metricsOf(standby)).not.toMatch(/^sje_tasks\{/m);

    // The active task-manager dies; reads go on from the tables while the standby takes over.
    await expectReadsAfterKilling(active, executor, id);
    await until('the standby to take over', async () => (await fetch(`${standby.baseUrl}/readyz`).catch(() => undefined))?.status === 200);
    // Once active it counts the store itself.
    expect(await metricsOf(standby)).toMatch(/^sje_tasks\{status="queued"[^}]*\} 1$/m);
    expect((await call(executor.baseUrl, 'GET', `/status/${id}`, { key: acme.key })).body).toMatchObject({ task_id: id, status: 'queued' });
    await standby.stop();
  });
});

describe('GET /status with status_reads: ops_first', () => {
  it('reads from the active task-manager over HTTP, never from a standby, and keeps tenants apart', async () => {
    const activePort = await freePort();
    const standbyPort = await freePort();
    const seen: string[] = [];
    const proxyUrl = await recordingProxy(activePort, seen);
    const config = await faultConfig({
      task_manager: { store: 'postgres', postgres_url: TEST_POSTGRES_URL, postgres_table_prefix: tablePrefix, ops_port: activePort },
      executor: { task_manager_urls: [`http://127.0.0.1:${standbyPort}`, proxyUrl], status_reads: 'ops_first' },
      security: { api_keys: [acme.entry, globex.entry], ops_token: OPS_TOKEN },
    });
    const active = await spawnService('task-manager', config);
    services.push(active);
    const standby = await spawnService('task-manager', variant(config, { task_manager: { ops_port: standbyPort } }), { waitReady: false });
    services.push(standby);
    await until('the second task-manager to report standby', async () => {
      const res = await fetch(`${standby.baseUrl}/readyz`).catch(() => undefined);
      return res?.status === 503 && ((await res.json()) as { checks?: { role?: string } }).checks?.role === 'standby';
    });
    const executor = await spawnService('executor', config);
    services.push(executor);

    // The standby does not serve task lookups; the active one does, naming its topology prefix.
    const onStandby = await fetch(`${standby.baseUrl}/tasks/nope`, { headers: { authorization: `Bearer ${OPS_TOKEN}` } });
    expect(onStandby.status).toBe(503);
    expect(((await onStandby.json()) as { error: { code: string } }).error.code).toBe(ErrorCode.TASK_MANAGER_UNAVAILABLE);
    const onActive = await fetch(`${active.baseUrl}/tasks/nope`, { headers: { authorization: `Bearer ${OPS_TOKEN}` } });
    expect(onActive.status).toBe(404);
    expect(onActive.headers.get('x-sje-topology-prefix')).toBe(config.topology.prefix);

    // No worker runs: the task waits in the store as queued.
    const sub = await call(executor.baseUrl, 'POST', '/submit', { key: acme.key, json: { function: 'echo', params: { n: 1 } } });
    expect(sub.status).toBe(201);
    const id = sub.body.task_id as string;
    await until(
      'the task to be stored',
      async () => (await call(executor.baseUrl, 'GET', `/status/${id}`, { key: acme.key })).body?.status === 'queued',
    );
    seen.length = 0;

    const own = await call(executor.baseUrl, 'GET', `/status/${id}`, { key: acme.key });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ task_id: id, status: 'queued', tenant: 'acme' });
    const other = await call(executor.baseUrl, 'GET', `/status/${id}`, { key: globex.key });
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe(ErrorCode.TASK_NOT_FOUND);
    // Both answers came from the active task-manager's ops endpoint, with the token; the standby was set aside.
    expect(seen).toEqual([`200 /tasks/${id} token`, `200 /tasks/${id} token`]);
    expect(standby.output()).not.toMatch(/exited/);
  });
});
