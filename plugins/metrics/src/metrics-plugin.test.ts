import { createLogger, loadConfig, PluginHost, type DispatchMessage, type ServiceName, type TaskEvent, type WorkerInfo } from '@sje/core';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import metricsPlugin from './index.js';
import { createMetricsPlugin } from './metrics-plugin.js';

async function hostFor(service: ServiceName, options: Record<string, unknown> = {}): Promise<{ host: PluginHost; registry: Registry }> {
  const registry = new Registry();
  const host = new PluginHost({ service, logger: createLogger({ service, silent: true }), metrics: registry, config: loadConfig({ env: {} }) });
  await host.register(createMetricsPlugin(), options);
  return { host, registry };
}

/** Parses Prometheus text into `name{labels}` → value. */
async function samples(registry: Registry): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await registry.metrics()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

async function metricNames(registry: Registry): Promise<string[]> {
  return (await registry.getMetricsAsJSON()).map((m) => m.name).sort();
}

const ev = (over: Partial<TaskEvent>): TaskEvent => ({
  type: 'task_event',
  task_id: 't',
  function: 'resize',
  queue: 'images',
  status: 'queued',
  attempt: 1,
  at: new Date().toISOString(),
  labels: {},
  ...over,
});

const worker = (id: string): WorkerInfo => ({ worker_id: id, host: 'h', queues: ['default'], functions: ['echo'], concurrency: 2 });

describe('metrics plugin', () => {
  it('is named metrics', () => {
    expect(metricsPlugin.name).toBe('metrics');
  });

  it('registers only the metrics of the service it runs in', async () => {
    expect(await metricNames((await hostFor('executor')).registry)).toEqual(['sje_tasks_submitted_total']);
    expect(await metricNames((await hostFor('worker')).registry)).toEqual(['sje_worker_task_run_seconds', 'sje_worker_tasks_in_flight', 'sje_worker_tasks_total']);
    expect(await metricNames((await hostFor('task-manager')).registry)).toEqual([
      'sje_task_queue_wait_seconds',
      'sje_task_run_seconds',
      'sje_tasks_cancelled_total',
      'sje_tasks_failed_total',
      'sje_tasks_in_flight',
      'sje_tasks_retried_total',
      'sje_tasks_skipped_total',
      'sje_tasks_succeeded_total',
      'sje_tasks_timed_out_total',
      'sje_workers_online',
    ]);
  });

  it('counts submitted tasks by function and queue in the executor', async () => {
    const { host, registry } = await hostFor('executor');
    const spec = { params: {}, priority: 0, depends_on: [], labels: {} };
    await host.run('afterSubmit', {
      tasks: [
        { ...spec, task_id: 'a', function: 'echo', queue: 'default' },
        { ...spec, task_id: 'b', function: 'echo', queue: 'default' },
        { ...spec, task_id: 'c', function: 'fib', queue: 'cpu' },
      ],
    });
    const s = await samples(registry);
    expect(s.get('sje_tasks_submitted_total{function="echo",queue="default"}')).toBe(2);
    expect(s.get('sje_tasks_submitted_total{function="fib",queue="cpu"}')).toBe(1);
  });

  it('ignores hooks of other services', async () => {
    const { host, registry } = await hostFor('executor');
    await host.run('onTaskStateChange', { event: ev({ status: 'succeeded', previous_status: 'running' }) });
    expect(await metricNames(registry)).toEqual(['sje_tasks_submitted_total']);
  });

  it('counts outcomes and retries from state changes in the task-manager', async () => {
    const { host, registry } = await hostFor('task-manager');
    const run = (e: Partial<TaskEvent>): Promise<void> => host.run('onTaskStateChange', { event: ev(e) });
    await run({ status: 'succeeded', previous_status: 'running', run_ms: 1500 });
    await run({ status: 'succeeded', previous_status: 'running', run_ms: 500 });
    await run({ status: 'retrying', previous_status: 'running', run_ms: 20 });
    await run({ status: 'failed', previous_status: 'running', run_ms: 30 });
    await run({ status: 'timed_out', previous_status: 'running', run_ms: 60_000 });
    await run({ status: 'cancelled', previous_status: 'queued' });
    await run({ status: 'skipped', previous_status: 'pending' });
    const s = await samples(registry);
    const l = '{function="resize",queue="images"}';
    expect(s.get(`sje_tasks_succeeded_total${l}`)).toBe(2);
    expect(s.get(`sje_tasks_retried_total${l}`)).toBe(1);
    expect(s.get(`sje_tasks_failed_total${l}`)).toBe(1);
    expect(s.get(`sje_tasks_timed_out_total${l}`)).toBe(1);
    expect(s.get(`sje_tasks_cancelled_total${l}`)).toBe(1);
    expect(s.get(`sje_tasks_skipped_total${l}`)).toBe(1);
    // run time is observed on final statuses only, in seconds
    expect(s.get('sje_task_run_seconds_count{function="resize",queue="images",status="succeeded"}')).toBe(2);
    expect(s.get('sje_task_run_seconds_sum{function="resize",queue="images",status="succeeded"}')).toBe(2);
    expect(s.get('sje_task_run_seconds_count{function="resize",queue="images",status="timed_out"}')).toBe(1);
    expect(s.get('sje_task_run_seconds_bucket{le="60",function="resize",queue="images",status="timed_out"}')).toBe(1);
    expect(s.get('sje_task_run_seconds_bucket{le="30",function="resize",queue="images",status="timed_out"}')).toBe(0);
    expect(s.has('sje_task_run_seconds_count{function="resize",queue="images",status="retrying"}')).toBe(false);
    expect(s.has('sje_task_run_seconds_count{function="resize",queue="images",status="cancelled"}')).toBe(false);
  });

  it('observes queue wait when a task starts running and tracks tasks in flight', async () => {
    const { host, registry } = await hostFor('task-manager');
    const run = (e: Partial<TaskEvent>): Promise<void> => host.run('onTaskStateChange', { event: ev(e) });
    await run({ task_id: 'a', status: 'running', previous_status: 'queued', queue_wait_ms: 250 });
    await run({ task_id: 'b', status: 'running', previous_status: 'queued', queue_wait_ms: 4000 });
    await run({ task_id: 'c', status: 'running', previous_status: 'queued', queue: 'cpu' });
    await run({ task_id: 'a', status: 'running', previous_status: 'running', progress: 50 });
    let s = await samples(registry);
    expect(s.get('sje_tasks_in_flight{queue="images"}')).toBe(2);
    expect(s.get('sje_tasks_in_flight{queue="cpu"}')).toBe(1);
    expect(s.get('sje_task_queue_wait_seconds_count{function="resize",queue="images"}')).toBe(2);
    expect(s.get('sje_task_queue_wait_seconds_sum{function="resize",queue="images"}')).toBeCloseTo(4.25);
    expect(s.get('sje_task_queue_wait_seconds_bucket{le="0.25",function="resize",queue="images"}')).toBe(1);
    await run({ task_id: 'a', status: 'succeeded', previous_status: 'running', run_ms: 10 });
    await run({ task_id: 'b', status: 'queued', previous_status: 'running' });
    await run({ task_id: 'c', status: 'cancelled', previous_status: 'running', queue: 'cpu' });
    s = await samples(registry);
    expect(s.get('sje_tasks_in_flight{queue="images"}')).toBe(0);
    expect(s.get('sje_tasks_in_flight{queue="cpu"}')).toBe(0);
  });

  it('never reports a negative number of tasks in flight', async () => {
    const { host, registry } = await hostFor('task-manager');
    await host.run('onTaskStateChange', { event: ev({ status: 'succeeded', previous_status: 'running' }) });
    expect((await samples(registry)).get('sje_tasks_in_flight{queue="images"}')).toBe(0);
  });

  it('counts each online worker once', async () => {
    const { host, registry } = await hostFor('task-manager');
    await host.run('onWorkerOnline', { worker: worker('w1') });
    await host.run('onWorkerOnline', { worker: worker('w1') });
    await host.run('onWorkerOnline', { worker: worker('w2') });
    expect((await samples(registry)).get('sje_workers_online')).toBe(2);
    await host.run('onWorkerOffline', { worker: worker('w1'), reason: 'lost' });
    await host.run('onWorkerOffline', { worker: worker('w1'), reason: 'deregistered' });
    expect((await samples(registry)).get('sje_workers_online')).toBe(1);
  });

  it('counts handler runs, time and in-flight handlers in the worker', async () => {
    const { host, registry } = await hostFor('worker');
    const task: DispatchMessage = { type: 'dispatch', task_id: 't', lease_id: 'l', function: 'fib', params: {}, attempt: 1, queue: 'cpu', priority: 0, labels: {} };
    await host.run('beforeExecute', { task, worker_id: 'w' });
    await host.run('beforeExecute', { task, worker_id: 'w' });
    expect((await samples(registry)).get('sje_worker_tasks_in_flight')).toBe(2);
    await host.run('afterExecute', { task, worker_id: 'w', outcome: 'succeeded', run_ms: 2 });
    await host.run('afterExecute', { task, worker_id: 'w', outcome: 'failed', run_ms: 3000 });
    const s = await samples(registry);
    expect(s.get('sje_worker_tasks_in_flight')).toBe(0);
    expect(s.get('sje_worker_tasks_total{function="fib",queue="cpu",outcome="succeeded"}')).toBe(1);
    expect(s.get('sje_worker_tasks_total{function="fib",queue="cpu",outcome="failed"}')).toBe(1);
    expect(s.get('sje_worker_task_run_seconds_count{function="fib",queue="cpu"}')).toBe(2);
    expect(s.get('sje_worker_task_run_seconds_bucket{le="0.005",function="fib",queue="cpu"}')).toBe(1);
    expect(s.get('sje_worker_task_run_seconds_bucket{le="+Inf",function="fib",queue="cpu"}')).toBe(2);
  });

  it('uses custom buckets when given', async () => {
    const { host, registry } = await hostFor('worker', { buckets: [1, 10] });
    const task: DispatchMessage = { type: 'dispatch', task_id: 't', lease_id: 'l', function: 'f', params: {}, attempt: 1, queue: 'q', priority: 0, labels: {} };
    await host.run('afterExecute', { task, worker_id: 'w', outcome: 'succeeded', run_ms: 5000 });
    const text = await registry.getSingleMetricAsString('sje_worker_task_run_seconds');
    expect(text).toContain('sje_worker_task_run_seconds_bucket{le="10",function="f",queue="q"} 1');
    expect(text).toContain('sje_worker_task_run_seconds_bucket{le="1",function="f",queue="q"} 0');
    expect(text).not.toContain('le="0.001"');
  });

  it.each([
    [{ buckets: [] }, 'buckets'],
    [{ buckets: [1, 0.5] }, 'buckets'],
    [{ buckets: [0, 1] }, 'buckets'],
    [{ buckets: 'fast' }, 'buckets'],
    [{ prefix: 'x' }, 'prefix'],
  ])('refuses bad options %j with an error naming %s', async (options, name) => {
    await expect(hostFor('worker', options)).rejects.toMatchObject({ code: 'SJE_ERR_PLUGIN_INVALID', message: expect.stringContaining(`'${name}'`) });
  });
});
