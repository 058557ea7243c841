import { createTopology, type Broker, type Logger, type PluginHost, type WorkerRegister } from '@sje/core';
import { describe, expect, it, vi } from 'vitest';
import type { TaskStore } from '@sje/store';
import { WorkerRegistry } from './worker-registry.js';

function registry(): WorkerRegistry {
  const logger = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as unknown as Logger;
  const plugins = { run: async () => undefined } as unknown as PluginHost;
  const broker = { topology: createTopology({ prefix: 'unit' }), publish: async () => undefined } as unknown as Broker;
  return new WorkerRegistry({ broker, store: {} as TaskStore, plugins, logger, timeoutMs: 5000, onLost: async () => undefined });
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

describe('WorkerRegistry on a deregister', () => {
  /** A registry whose `onLost` calls are recorded, with a 1 s timeout, on fake timers. */
  async function recording(): Promise<{ r: WorkerRegistry; lost: unknown[][] }> {
    const lost: unknown[][] = [];
    const logger = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as unknown as Logger;
    const plugins = { run: async () => undefined } as unknown as PluginHost;
    const store = { getRunningTasks: async () => [] } as unknown as TaskStore;
    const broker = { connected: true } as unknown as Broker;
    const r = new WorkerRegistry({ broker, store, plugins, logger, timeoutMs: 1000, onLost: async (...args) => void lost.push(args) });
    await r.start();
    await r.handle(register('w1', ['default'], 4));
    return { r, lost };
  }
  const at = '2026-01-01T00:00:00.000Z';

  it('hands on at once only the leases the worker released, and the rest only after the timeout (its outcomes may still be on their way)', async () => {
    vi.useFakeTimers();
    try {
      const { r, lost } = await recording();
      const released = [{ task_id: 't-claimed', lease_id: 'l-1' }];
      await r.handle({ type: 'deregister', worker_id: 'w1', at, released });
      expect(lost).toEqual([['w1', released]]);
      expect(r.online).toEqual([]);
      expect(r.pool('default').workers).toBe(0);
      await vi.advanceTimersByTimeAsync(500);
      expect(lost).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1000);
      expect(lost).toEqual([['w1', released], ['w1']]);
      r.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('releasing nothing hands on nothing at once', async () => {
    vi.useFakeTimers();
    try {
      const { r, lost } = await recording();
      await r.handle({ type: 'deregister', worker_id: 'w1', at, released: [] });
      await r.handle({ type: 'deregister', worker_id: 'w1', at, released: [] });
      expect(lost).toEqual([]);
      r.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('from a worker that does not list what it releases, hands on everything it held at once', async () => {
    const { r, lost } = await recording();
    await r.handle({ type: 'deregister', worker_id: 'w1', at });
    expect(lost).toEqual([['w1']]);
    r.stop();
  });
});

describe('WorkerRegistry and workers it knows only from heartbeats', () => {
  const at = '2026-01-01T00:00:00.000Z';
  /** A registry whose control messages are recorded. */
  function asking(): { r: WorkerRegistry; sent: { key: string; body: unknown }[] } {
    const sent: { key: string; body: unknown }[] = [];
    const logger = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as unknown as Logger;
    const plugins = { run: async () => undefined } as unknown as PluginHost;
    const topology = createTopology({ prefix: 'unit' });
    const broker = {
      connected: true,
      topology,
      publish: async (_exchange: string, key: string, body: unknown) => void sent.push({ key, body }),
    } as unknown as Broker;
    const store = { getTasks: async () => new Map() } as unknown as TaskStore;
    return { r: new WorkerRegistry({ broker, store, plugins, logger, timeoutMs: 5000, onLost: async () => undefined }), sent };
  }

  it('asks a worker known only from its heartbeats to register again, once per a few seconds, and no more once it did', async () => {
    vi.useFakeTimers();
    try {
      const { r, sent } = asking();
      const heartbeat = { type: 'heartbeat' as const, worker_id: 'w1', host: 'h', running: [], at };
      await r.handle(heartbeat);
      expect(sent).toEqual([{ key: 'worker.w1', body: { type: 'register_request' } }]);
      await r.handle(heartbeat);
      expect(sent).toHaveLength(1);
      vi.advanceTimersByTime(5001);
      await r.handle(heartbeat);
      expect(sent).toHaveLength(2);
      await r.handle(register('w1', ['default'], 4));
      vi.advanceTimersByTime(5001);
      await r.handle(heartbeat);
      expect(sent).toHaveLength(2);
      expect(r.pool('default')).toEqual({ workers: 1, minConcurrency: 4 });
    } finally {
      vi.useRealTimers();
    }
  });

  it('does not ask a worker that registered with this process', async () => {
    const { r, sent } = asking();
    await r.handle(register('w2', ['default'], 4));
    await r.handle({ type: 'heartbeat', worker_id: 'w2', host: 'h', running: [], at });
    expect(sent).toEqual([]);
  });
});
