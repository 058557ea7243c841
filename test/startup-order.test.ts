/**
 * The executor may come up before the task-manager: what it asks the
 * task-manager in the meantime waits in the queries queue and is answered
 * once the task-manager is up, at the first delivery (the task-manager can
 * reply before all of its consumers are open).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger, ErrorCode, type SjeConfig } from '../packages/core/src/index.js';
import { createExecutor, type Executor } from '../packages/executor/src/index.js';
import { createTaskManager, type TaskManager } from '../packages/task-manager/src/index.js';
import { disposeTestConfig, testConfig } from './helpers/stack.js';

const silent = createLogger({ service: 'test', silent: true });
let config: SjeConfig | undefined;
let executor: Executor | undefined;
let tm: TaskManager | undefined;

afterAll(async () => {
  await executor?.close();
  await tm?.close();
  if (config) await disposeTestConfig(config);
});

describe('an executor that starts before the task-manager', () => {
  it('gets answers to the queries it sent while the task-manager was not yet up', async () => {
    config = await testConfig({ executor: { query_timeout_ms: 20_000 } });
    executor = await createExecutor({ config, logger: silent, port: 0 });
    await executor.start();
    const base = `http://127.0.0.1:${executor.port}`;
    for (let i = 0; i < 100 && (await fetch(`${base}/readyz`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 50));
    const post = (path: string, body?: unknown): Promise<Response> =>
      fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

    // Each needs an answer from the task-manager: whether the dependency exists, and the cancel itself.
    const submitted = post('/submit', { function: 'echo', depends_on: ['not-there'] });
    const cancelled = post('/cancel/not-there-either');
    await new Promise((r) => setTimeout(r, 300));
    tm = await createTaskManager({ config, logger: silent, opsPort: false });
    await tm.start();

    const [submit, cancel] = await Promise.all([submitted, cancelled]);
    expect([submit.status, ((await submit.json()) as { error?: { code?: string } }).error?.code]).toEqual([400, ErrorCode.UNKNOWN_DEPENDENCY]);
    expect([cancel.status, ((await cancel.json()) as { error?: { code?: string } }).error?.code]).toEqual([404, ErrorCode.TASK_NOT_FOUND]);
  });
});
