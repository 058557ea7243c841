import { createLogger, createRuntime, loadConfig, type ServiceRuntime, type TaskView } from '@sje/core';
import { describe, expect, it } from 'vitest';
import retryPlugin from './index.js';
import { createRetryPlugin } from './retry-plugin.js';

async function runtimeWith(options: Record<string, unknown>, plugin = createRetryPlugin({ random: () => 0 })): Promise<ServiceRuntime> {
  const logger = createLogger({ service: 'task-manager', silent: true });
  return await createRuntime('task-manager', loadConfig({ env: {} }), { logger, plugins: [{ plugin, options }] });
}

const failedTask: TaskView = {
  task_id: 'x',
  function: 'flaky',
  queue: 'default',
  priority: 0,
  status: 'running',
  attempt: 2,
  params: {},
  depends_on: [],
  labels: {},
  created_at: new Date(0).toISOString(),
  history: [],
};

const noRetry = async (): Promise<{ retry: boolean }> => ({ retry: false });

describe('retry plugin', () => {
  it('is named retry and registers a retryDecision interceptor', () => {
    expect(retryPlugin.name).toBe('retry');
    expect(typeof retryPlugin.interceptors?.retryDecision).toBe('function');
  });

  it('answers the host retryDecision call from its options', async () => {
    const rt = await runtimeWith({ default_max_attempts: 3, backoff: 'fixed', delay_ms: 400 });
    const d = await rt.plugins.intercept('retryDecision', { task: failedTask, error: undefined, outcome: 'failed' }, noRetry);
    expect(d).toEqual({ retry: true, delay_ms: 200, reason: 'attempt 2 of 3 failed; retrying in 200 ms' });
    await rt.plugins.close();
  });

  it('lets a plugin registered before it change the verdict', async () => {
    const logger = createLogger({ service: 'task-manager', silent: true });
    const rt = await createRuntime('task-manager', loadConfig({ env: {} }), {
      logger,
      plugins: [
        {
          plugin: {
            name: 'no-weekend-retries',
            interceptors: { retryDecision: async (input, next) => ({ ...(await next(input)), delay_ms: 60_000 }) },
          },
        },
        { plugin: createRetryPlugin(), options: { default_max_attempts: 5, jitter: false } },
      ],
    });
    const d = await rt.plugins.intercept('retryDecision', { task: failedTask, error: undefined, outcome: 'failed' }, noRetry);
    expect(d.retry).toBe(true);
    expect(d.delay_ms).toBe(60_000);
  });

  it.each([
    [{ default_max_attempts: 0 }, 'default_max_attempts'],
    [{ default_max_attempts: 2.5 }, 'default_max_attempts'],
    [{ backoff: 'linear' }, 'backoff'],
    [{ delay_ms: -1 }, 'delay_ms'],
    [{ max_delay_ms: '10s' }, 'max_delay_ms'],
    [{ jitter: 'yes' }, 'jitter'],
    [{ retry_timeouts: 1 }, 'retry_timeouts'],
    [{ max_attempts: 3 }, 'max_attempts'],
  ])('refuses bad options %j with an error naming %s', async (options, name) => {
    await expect(runtimeWith(options)).rejects.toMatchObject({ code: 'SJE_ERR_PLUGIN_INVALID', message: expect.stringContaining(`'${name}'`) });
  });
});
