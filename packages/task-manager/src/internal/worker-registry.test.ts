import type { Broker, Logger, PluginHost, WorkerRegister } from '@sje/core';
import { describe, expect, it } from 'vitest';
import type { TaskStore } from './store/task-store.js';
import { WorkerRegistry } from './worker-registry.js';

function registry(): WorkerRegistry {
  const logger = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as unknown as Logger;
  const plugins = { run: async () => undefined } as unknown as PluginHost;
  return new WorkerRegistry({ broker: {} as Broker, store: {} as TaskStore, plugins, logger, timeoutMs: 5000, onLost: async () => undefined });
}

function register(workerId: string, queues: string[], concurrency: number): WorkerRegister {
  return { type: 'register', worker_id: workerId, host: 'h', pid: 1, queues, functions: ['echo'], concurrency, started_at: '2026-01-01T00:00:00.000Z' };
}

describe('WorkerRegistry.pool', () => {
  it('counts the registered workers of a queue and their smallest concurrency', async () => {
    const r = registry();
    expect(r.pool('default')).toEqual({ workers: 0, minConcurrency: 0 });
    await r.handle(register('w1', ['default'], 64));
    await r.handle(register('w2', ['default', 'gpu'], 16));
    await r.handle(register('w3', ['gpu'], 8));
    expect(r.pool('default')).toEqual({ workers: 2, minConcurrency: 16 });
    expect(r.pool('gpu')).toEqual({ workers: 2, minConcurrency: 8 });
    expect(r.pool('other')).toEqual({ workers: 0, minConcurrency: 0 });
  });

  it('leaves out workers known only from a heartbeat, and deregistered ones', async () => {
    const r = registry();
    await r.handle({ type: 'heartbeat', worker_id: 'w0', host: 'h', running: [], at: '2026-01-01T00:00:00.000Z' });
    await r.handle(register('w1', ['default'], 32));
    await r.handle(register('w2', ['default'], 8));
    await r.handle({ type: 'deregister', worker_id: 'w2', at: '2026-01-01T00:00:00.000Z' });
    expect(r.pool('default')).toEqual({ workers: 1, minConcurrency: 32 });
  });
});
