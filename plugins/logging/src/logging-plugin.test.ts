import { PassThrough } from 'node:stream';
import { createLogger, createRuntime, loadConfig, type DispatchMessage, type ServiceName, type ServiceRuntime, type TaskEvent } from '@sje/core';
import { describe, expect, it } from 'vitest';
import loggingPlugin from './index.js';
import { createLoggingPlugin } from './logging-plugin.js';

interface Captured {
  rt: ServiceRuntime;
  lines: () => Record<string, unknown>[];
}

async function start(service: ServiceName, options: Record<string, unknown> = {}, loggerLevel = 'debug'): Promise<Captured> {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
  const logger = createLogger({ service, level: loggerLevel, format: 'json', stream });
  const rt = await createRuntime(service, loadConfig({ env: {} }), { logger, plugins: [{ plugin: createLoggingPlugin(), options }] });
  const lines = (): Record<string, unknown>[] =>
    chunks
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l['plugin'] === 'logging');
  return { rt, lines };
}

/** Lets winston's stream transport flush. */
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

const event = (over: Partial<TaskEvent>): TaskEvent => ({
  type: 'task_event',
  task_id: 't-1',
  function: 'resize',
  queue: 'images',
  status: 'queued',
  previous_status: 'pending',
  attempt: 1,
  at: new Date().toISOString(),
  labels: {},
  ...over,
});

const dispatch: DispatchMessage = {
  type: 'dispatch',
  task_id: 't-2',
  lease_id: 'l-1',
  function: 'resize',
  params: { token: 's3cret' },
  attempt: 2,
  queue: 'images',
  priority: 0,
  labels: {},
};

describe('logging plugin', () => {
  it('is named logging', () => {
    expect(loggingPlugin.name).toBe('logging');
  });

  it('logs one line per submitted task, without params by default', async () => {
    const { rt, lines } = await start('executor');
    const spec = { function: 'resize', params: { password: 'x' }, queue: 'images', priority: 0, depends_on: [], labels: {} };
    await rt.plugins.run('afterSubmit', { tasks: [{ ...spec, task_id: 'a' }, { ...spec, task_id: 'b' }], workflow_id: 'w-1' });
    await flush();
    const out = lines();
    expect(out).toHaveLength(2);
    expect(out[0]).toMatchObject({ level: 'info', message: 'task submitted', task_id: 'a', function: 'resize', queue: 'images', workflow_id: 'w-1' });
    expect(out[1]).toMatchObject({ task_id: 'b' });
    expect(JSON.stringify(out)).not.toContain('password');
  });

  it('includes params when include_params is set', async () => {
    const { rt, lines } = await start('executor', { include_params: true });
    await rt.plugins.run('afterSubmit', { tasks: [{ task_id: 'a', function: 'f', params: { n: 7 }, queue: 'default', priority: 0, depends_on: [], labels: {} }] });
    await flush();
    expect(lines()[0]).toMatchObject({ params: { n: 7 } });
  });

  it('logs each state transition with its details; failures at warn', async () => {
    const { rt, lines } = await start('task-manager');
    await rt.plugins.run('onTaskStateChange', { event: event({ status: 'running', previous_status: 'queued', queue_wait_ms: 12, worker: { id: 'w1', host: 'h' } }) });
    await rt.plugins.run('onTaskStateChange', {
      event: event({
        status: 'failed',
        previous_status: 'running',
        attempt: 3,
        reason: 'all 3 attempts used',
        error: { name: 'Error', code: 'SJE_ERR_HANDLER_ERROR', message: 'boom', retryable: true },
        run_ms: 40,
      }),
    });
    await rt.plugins.run('onTaskStateChange', { event: event({ status: 'timed_out', previous_status: 'running' }) });
    await flush();
    const [running, failed, timedOut] = lines();
    expect(running).toMatchObject({ level: 'info', message: 'task running', task_id: 't-1', status: 'running', previous_status: 'queued', attempt: 1, worker_id: 'w1', queue_wait_ms: 12 });
    expect(failed).toMatchObject({
      level: 'warn',
      message: 'task failed',
      status: 'failed',
      previous_status: 'running',
      attempt: 3,
      reason: 'all 3 attempts used',
      error_code: 'SJE_ERR_HANDLER_ERROR',
      run_ms: 40,
    });
    expect(timedOut).toMatchObject({ level: 'warn', status: 'timed_out' });
  });

  it('keeps results out unless include_results is set', async () => {
    const quiet = await start('task-manager');
    const loud = await start('task-manager', { include_results: true });
    const done = event({ status: 'succeeded', previous_status: 'running', result: { rows: 3 } });
    await quiet.rt.plugins.run('onTaskStateChange', { event: done });
    await loud.rt.plugins.run('onTaskStateChange', { event: done });
    await flush();
    expect(quiet.lines()[0]).not.toHaveProperty('result');
    expect(loud.lines()[0]).toMatchObject({ result: { rows: 3 } });
  });

  it('logs workers coming online and going offline (a loss at warn)', async () => {
    const { rt, lines } = await start('task-manager');
    const worker = { worker_id: 'w-9', host: 'node-3', queues: ['default'], functions: ['echo'], concurrency: 4 };
    await rt.plugins.run('onWorkerOnline', { worker });
    await rt.plugins.run('onWorkerOffline', { worker, reason: 'deregistered' });
    await rt.plugins.run('onWorkerOffline', { worker, reason: 'lost' });
    await flush();
    const out = lines();
    expect(out.map((l) => [l['level'], l['message'], l['worker_id']])).toEqual([
      ['info', 'worker online', 'w-9'],
      ['info', 'worker offline', 'w-9'],
      ['warn', 'worker lost', 'w-9'],
    ]);
  });

  it('logs handler runs in the worker with run_ms', async () => {
    const { rt, lines } = await start('worker');
    await rt.plugins.run('beforeExecute', { task: dispatch, worker_id: 'w-1' });
    await rt.plugins.run('afterExecute', { task: dispatch, worker_id: 'w-1', outcome: 'succeeded', result: 42, run_ms: 17 });
    await rt.plugins.run('afterExecute', {
      task: dispatch,
      worker_id: 'w-1',
      outcome: 'failed',
      error: { name: 'Error', code: 'SJE_ERR_HANDLER_ERROR', message: 'nope', retryable: true },
      run_ms: 3,
    });
    await flush();
    const [started, ok, bad] = lines();
    expect(started).toMatchObject({ level: 'info', message: 'task run started', task_id: 't-2', attempt: 2, worker_id: 'w-1' });
    expect(started).not.toHaveProperty('params');
    expect(ok).toMatchObject({ level: 'info', outcome: 'succeeded', run_ms: 17 });
    expect(ok).not.toHaveProperty('result');
    expect(bad).toMatchObject({ level: 'warn', outcome: 'failed', run_ms: 3, error_code: 'SJE_ERR_HANDLER_ERROR' });
  });

  it('writes routine lines at the configured level', async () => {
    const { rt, lines } = await start('task-manager', { level: 'debug' }, 'info');
    await rt.plugins.run('onTaskStateChange', { event: event({}) });
    await rt.plugins.run('onTaskStateChange', { event: event({ status: 'failed', previous_status: 'running' }) });
    await flush();
    expect(lines().map((l) => l['status'])).toEqual(['failed']);
  });

  it.each([
    [{ level: 'loud' }, 'level'],
    [{ include_params: 'yes' }, 'include_params'],
    [{ include_results: 1 }, 'include_results'],
    [{ verbose: true }, 'verbose'],
  ])('refuses bad options %j with an error naming %s', async (options, name) => {
    await expect(start('worker', options)).rejects.toMatchObject({ code: 'SJE_ERR_PLUGIN_INVALID', message: expect.stringContaining(`'${name}'`) });
  });
});
