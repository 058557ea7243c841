import { createLogger, createRuntime, ErrorCode, loadConfig, NonRetryableError, type DispatchMessage, type PluginHost, type SjePlugin } from '@sje/core';
import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import type { TaskContext, TaskHandler } from '../task-handler.js';
import { TaskRun } from './task-run.js';

const logger = createLogger({ service: 'worker', silent: true });

async function pluginHost(plugins: SjePlugin[] = []): Promise<PluginHost> {
  const config = loadConfig({ env: {} });
  const rt = await createRuntime('worker', config, { logger, plugins: plugins.map((plugin) => ({ plugin })) });
  return rt.plugins;
}

function dispatch(fn: string, extra: Partial<DispatchMessage> = {}): DispatchMessage {
  return { type: 'dispatch', task_id: 't1', lease_id: 'l1', function: fn, params: { x: 1 }, attempt: 2, queue: 'default', priority: 0, labels: { team: 'a' }, ...extra };
}

async function runWith(
  handlers: Record<string, TaskHandler>,
  task: DispatchMessage,
  opts: { plugins?: PluginHost; progress?: number[]; abortSettleMs?: number; progressIntervalMs?: number } = {},
): Promise<{ run: TaskRun; done: ReturnType<TaskRun['execute']> }> {
  const run = new TaskRun(task, {
    workerId: 'w1',
    handlers: new Map(Object.entries(handlers)),
    plugins: opts.plugins ?? (await pluginHost()),
    logger,
    sendProgress: (_t, v) => opts.progress?.push(v),
    abortSettleMs: opts.abortSettleMs ?? 1000,
    progressIntervalMs: opts.progressIntervalMs ?? 200,
  });
  return { run, done: run.execute() };
}

function abortable(signal: AbortSignal, ms = 60_000): Promise<never> {
  return new Promise((_, reject) => {
    const t = setTimeout(() => reject(new Error('not aborted')), ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      reject(new Error(`aborted: ${String(signal.reason)}`));
    });
  });
}

describe('TaskRun', () => {
  it('passes params and a full context, and reports the result', async () => {
    let seen: TaskContext | undefined;
    const { done } = await runWith(
      {
        add: (params: { x: number }, ctx) => {
          seen = ctx;
          return { y: params.x + 1 };
        },
      },
      dispatch('add', { dependencies: { dep1: { v: 1 } }, workflow_id: 'wf1' }),
    );
    const summary = await done;
    expect(summary).toMatchObject({ outcome: 'succeeded', resultJson: '{"y":2}' });
    expect(summary.run_ms).toBeGreaterThanOrEqual(0);
    expect(seen).toMatchObject({ taskId: 't1', attempt: 2, queue: 'default', function: 'add', labels: { team: 'a' }, dependencies: { dep1: { v: 1 } }, workflowId: 'wf1' });
    expect(seen?.signal.aborted).toBe(false);
  });

  it('gives an empty dependencies record when the dispatch has none', async () => {
    let deps: unknown;
    const { done } = await runWith({ f: (_p, ctx) => void (deps = ctx.dependencies) }, dispatch('f'));
    expect(await done).toEqual({ outcome: 'succeeded', resultJson: 'null', run_ms: expect.any(Number) as number });
    expect(deps).toEqual({});
  });

  it('reports a thrown error as failed, keeping NonRetryableError non-retryable', async () => {
    const a = await runWith({ f: () => Promise.reject(new Error('boom')) }, dispatch('f'));
    expect(await a.done).toMatchObject({ outcome: 'failed', error: { message: 'boom', retryable: true, code: ErrorCode.HANDLER_ERROR } });
    const b = await runWith({ f: () => { throw new NonRetryableError('nope'); } }, dispatch('f'));
    expect(await b.done).toMatchObject({ outcome: 'failed', error: { message: 'nope', retryable: false } });
  });

  it('fails an unknown function without retry', async () => {
    const { done } = await runWith({}, dispatch('missing'));
    expect(await done).toMatchObject({ outcome: 'failed', error: { code: ErrorCode.UNKNOWN_FUNCTION, retryable: false } });
  });

  it('fails a result that is not JSON-serializable', async () => {
    const { done } = await runWith({ f: () => ({ big: 1n }) }, dispatch('f'));
    expect(await done).toMatchObject({ outcome: 'failed', error: { code: ErrorCode.RESULT_NOT_SERIALIZABLE } });
  });

  it('times out a handler that ignores its signal, at the timeout, with the signal fired', async () => {
    let signal: AbortSignal | undefined;
    const started = Date.now();
    const { done } = await runWith(
      {
        stuck: (_p, ctx) => {
          signal = ctx.signal;
          return new Promise((resolve) => setTimeout(resolve, 5000));
        },
      },
      dispatch('stuck', { timeout_ms: 150 }),
    );
    const summary = await done;
    expect(summary).toMatchObject({ outcome: 'timed_out', error: { code: ErrorCode.TASK_TIMEOUT } });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBe('timed_out');
  });

  it('a cancel reports cancelled as soon as a cooperative handler settles', async () => {
    const { run, done } = await runWith({ wait: (_p, ctx) => abortable(ctx.signal) }, dispatch('wait'));
    await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    expect(run.abort('cancelled')).toBe(true);
    expect(run.abort('cancelled')).toBe(false);
    expect(await done).toMatchObject({ outcome: 'cancelled', error: { code: ErrorCode.TASK_CANCELLED } });
    expect(Date.now() - t0).toBeLessThan(200);
  });

  it('a cancel of a handler that ignores the signal is reported after the settle grace', async () => {
    const { run, done } = await runWith({ deaf: () => new Promise((r) => setTimeout(r, 5000)) }, dispatch('deaf'), { abortSettleMs: 300 });
    await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    run.abort('cancelled');
    expect(await done).toMatchObject({ outcome: 'cancelled' });
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(280);
    expect(waited).toBeLessThan(1500);
  });

  it('a shutdown abort reports requeue', async () => {
    const { run, done } = await runWith({ wait: (_p, ctx) => abortable(ctx.signal) }, dispatch('wait'));
    await new Promise((r) => setTimeout(r, 10));
    run.abort('shutdown');
    expect(await done).toMatchObject({ outcome: 'requeue' });
  });

  it('throttles progress and sends the last value before the run ends', async () => {
    const progress: number[] = [];
    const { done } = await runWith(
      {
        steps: async (_p, ctx) => {
          for (let i = 1; i <= 100; i++) {
            ctx.progress(i);
            if (i % 10 === 0) await new Promise((r) => setTimeout(r, 10));
          }
          ctx.progress(Number.NaN);
          return 'ok';
        },
      },
      dispatch('steps'),
      { progress, progressIntervalMs: 50 },
    );
    await done;
    expect(progress[0]).toBe(1);
    expect(progress.at(-1)).toBe(100);
    expect(progress.length).toBeLessThan(10);
  });

  it('hands a handler that reads its signal only after an abort a signal already aborted with the reason', async () => {
    let seen: AbortSignal | undefined;
    const { run, done } = await runWith(
      {
        late: async (_p, ctx) => {
          await new Promise((r) => setTimeout(r, 30));
          seen = ctx.signal;
          if (ctx.signal.aborted) throw new Error('stopped');
          return 'not stopped';
        },
      },
      dispatch('late'),
    );
    expect(run.abort('cancelled')).toBe(true);
    expect(await done).toMatchObject({ outcome: 'cancelled', error: { code: ErrorCode.TASK_CANCELLED } });
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBe('cancelled');
  });

  it('fires a signal read before the abort, once, with the reason', async () => {
    const reasons: unknown[] = [];
    const { run, done } = await runWith(
      {
        wait: (_p, ctx) => {
          ctx.signal.addEventListener('abort', () => reasons.push(ctx.signal.reason));
          return abortable(ctx.signal);
        },
      },
      dispatch('wait'),
    );
    await new Promise((r) => setTimeout(r, 10));
    expect(run.abort('lease_lost')).toBe(true);
    expect(run.abort('cancelled')).toBe(false);
    expect(await done).toMatchObject({ outcome: 'cancelled' });
    expect(reasons).toEqual(['lease_lost']);
  });

  it('gives ctx.log a child logger carrying the task, made only for a handler that reads it', async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().trim().split('\n')));
    const base = createLogger({ service: 'worker', format: 'json', stream });
    const child = vi.spyOn(base, 'child');
    const run = (handler: TaskHandler): Promise<unknown> =>
      new TaskRun(dispatch('f'), { workerId: 'w1', handlers: new Map([['f', handler]]), plugins, logger: base, sendProgress: () => undefined }).execute();
    const plugins = await pluginHost();
    await run(() => 'quiet');
    expect(child).not.toHaveBeenCalled();
    await run((_p, ctx) => {
      ctx.log.info('from the handler');
      ctx.log.info('again');
    });
    expect(child).toHaveBeenCalledTimes(1);
    await new Promise((r) => setImmediate(r));
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged).toHaveLength(2);
    expect(logged[0]).toMatchObject({ message: 'from the handler', task_id: 't1', function: 'f', attempt: 2, service: 'worker' });
  });

  it('runs beforeExecute, the execute interceptors and afterExecute around the handler', async () => {
    const events: string[] = [];
    const plugin: SjePlugin = {
      name: 'trace',
      hooks: {
        beforeExecute: ({ task, worker_id }) => void events.push(`before:${task.function}:${worker_id}`),
        afterExecute: ({ outcome, result, run_ms }) => void events.push(`after:${outcome}:${JSON.stringify(result)}:${typeof run_ms}`),
      },
      interceptors: {
        execute: async (input, next) => {
          events.push('intercept:in');
          const out = await next(input);
          events.push('intercept:out');
          return out;
        },
      },
    };
    const { done } = await runWith({ f: () => (events.push('handler'), 7) }, dispatch('f'), { plugins: await pluginHost([plugin]) });
    await done;
    expect(events).toEqual(['before:f:w1', 'intercept:in', 'handler', 'intercept:out', 'after:succeeded:7:number']);
  });

  it('a beforeExecute hook that throws fails the run without calling the handler', async () => {
    let called = false;
    const plugin: SjePlugin = { name: 'veto', hooks: { beforeExecute: () => { throw new NonRetryableError('quota exceeded'); } } };
    const { done } = await runWith({ f: () => (called = true) }, dispatch('f'), { plugins: await pluginHost([plugin]) });
    expect(await done).toMatchObject({ outcome: 'failed', error: { message: 'quota exceeded', retryable: false } });
    expect(called).toBe(false);
  });
});
