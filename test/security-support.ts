/**
 * Support of the security tests: random API keys and their configuration
 * entries, an in-process stack (task-manager, worker, executor) with a test
 * configuration, and authenticated HTTP calls.
 *
 * @example
 * ```ts
 * const acme = apiKey('acme', ['submit', 'read', 'cancel'], 'acme');
 * const stack = await startStack({ security: { api_keys: [acme.entry] } });
 * const res = await call(stack.api, 'POST', '/submit', { key: acme.key, json: { function: 'echo' } });
 * await stack.close();
 * ```
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { createExecutor, type Executor } from '../packages/executor/src/index.js';
import { createTaskManager, type TaskManager } from '../packages/task-manager/src/index.js';
import { createWorker, type Worker } from '../packages/worker/src/index.js';
import {
  createLogger,
  type ApiKeyEntry,
  type ApiKeyScope,
  type DeepPartial,
  type SjeConfig,
  type SjePlugin,
} from '../packages/core/src/index.js';
import { disposeTestConfig, testConfig } from './helpers/stack.js';

/** A generated API key with its configuration entry (holding only its digest). */
export interface TestKey {
  id: string;
  key: string;
  entry: ApiKeyEntry;
}

/** A random key for `id` with `scopes` and `tenant`. */
export function apiKey(id: string, scopes: ApiKeyScope[], tenant?: string): TestKey {
  const key = `sje_${randomBytes(24).toString('hex')}`;
  const entry: ApiKeyEntry = { id, key_sha256: createHash('sha256').update(key).digest('hex'), scopes };
  if (tenant !== undefined) entry.tenant = tenant;
  return { id, key, entry };
}

/** Handlers of the test workers. */
export const TEST_HANDLERS = {
  echo: async (params: Record<string, unknown>): Promise<unknown> => params,
  /** Sleeps `ms` (default 30 s) unless aborted. */
  sleep: async (params: { ms?: number }, ctx: { signal: AbortSignal }): Promise<string> => {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, params.ms ?? 30_000);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(t);
        reject(new Error('aborted'));
      });
    });
    return 'slept';
  },
  /** Returns a string of `bytes` characters (a result larger than its params). */
  repeat: async (params: { bytes: number }): Promise<string> => 'x'.repeat(params.bytes),
};

/** An in-process stack. */
export interface Stack {
  config: SjeConfig;
  taskManager: TaskManager;
  worker: Worker;
  executor: Executor;
  /** Base URL of the executor. */
  api: string;
  close(): Promise<void>;
}

/**
 * Starts a task-manager, one worker (with {@link TEST_HANDLERS}) and an
 * executor in this process on a fresh test configuration.
 */
export async function startStack(
  overrides: DeepPartial<SjeConfig> = {},
  options: { executorEnv?: NodeJS.ProcessEnv; taskManagerPlugins?: { plugin: SjePlugin; options?: Record<string, unknown> }[] } = {},
): Promise<Stack> {
  const config = await testConfig({ topology: { queue_type: 'classic' }, ...overrides });
  const logger = (service: string) => createLogger({ service, silent: true });
  const taskManager = await createTaskManager({
    config,
    logger: logger('task-manager'),
    opsPort: false,
    plugins: options.taskManagerPlugins ?? [],
  });
  await taskManager.start();
  const worker = await createWorker({ config, handlers: TEST_HANDLERS as never, logger: logger('worker'), opsPort: false });
  await worker.start();
  const executor = await createExecutor({ config, port: 0, logger: logger('executor'), env: options.executorEnv ?? {} });
  await executor.start();
  await waitReady(`http://127.0.0.1:${executor.port}`);
  return {
    config,
    taskManager,
    worker,
    executor,
    api: `http://127.0.0.1:${executor.port}`,
    async close() {
      await executor.close({ graceMs: 100 });
      await worker.close({ graceMs: 100 });
      await taskManager.close();
      await disposeTestConfig(config);
    },
  };
}

/** Waits until `GET /readyz` of the executor at `api` answers 200. */
export async function waitReady(api: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const res = await fetch(`${api}/readyz`).catch(() => undefined);
    if (res?.status === 200) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`executor at ${api} not ready`);
}

/** An HTTP answer with its parsed JSON body. */
export interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

/** Calls the API, with `Authorization: Bearer <key>` when a key is given. */
export async function call(
  api: string,
  method: string,
  path: string,
  options: { key?: string; json?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.key !== undefined) headers['authorization'] = `Bearer ${options.key}`;
  const init: RequestInit = { method, headers };
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(options.json);
  }
  const res = await fetch(`${api}${path}`, init);
  const text = await res.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, body };
}

/** Polls `GET /status/:id` with `key` until the task is in one of `statuses`. */
export async function waitForStatus(
  api: string,
  key: string | undefined,
  taskId: string,
  statuses: string[],
  timeoutMs = 20_000,
): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const res = await call(api, 'GET', `/status/${encodeURIComponent(taskId)}`, key === undefined ? {} : { key });
    last = res.body;
    if (res.status === 200 && statuses.includes(res.body.status) && res.body.accepted !== true) return res.body;
    if (Date.now() > deadline)
      throw new Error(`task ${taskId} did not reach ${statuses.join('|')} within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
