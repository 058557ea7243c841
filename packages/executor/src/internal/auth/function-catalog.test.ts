import { createTopology, validators, type TaskManagerReply, type Validator } from '@sje/core';
import { describe, expect, it } from 'vitest';
import type { BrokerPort } from '../../app-deps.js';
import { FunctionCatalog } from './function-catalog.js';

function broker(replies: TaskManagerReply[]): BrokerPort & { asked: number } {
  const b = {
    asked: 0,
    connected: true,
    topology: createTopology({ prefix: 'unit' }),
    publish: async (): Promise<void> => undefined,
    request: async <T>(_key: string, body: unknown, validate: Validator<T>): Promise<T> => {
      expect(validators.query(body).ok).toBe(true);
      const reply = replies[Math.min(b.asked, replies.length - 1)]!;
      b.asked += 1;
      const check = validate(reply);
      if (!check.ok) throw new Error(check.reason);
      return check.value;
    },
  };
  return b;
}

describe('FunctionCatalog', () => {
  it('asks the task-manager once per ttl, sharing one request between concurrent callers', async () => {
    let now = 0;
    const b = broker([
      { type: 'functions', queues: { default: ['echo'] } },
      { type: 'functions', queues: { default: ['echo', 'resize'], gpu: ['train'] } },
    ]);
    const catalog = new FunctionCatalog({ broker: b, ttlMs: 5000, timeoutMs: 100, now: () => now });
    const [a, c] = await Promise.all([catalog.queues(), catalog.queues()]);
    expect(b.asked).toBe(1);
    expect(a).toBe(c);
    expect([...(a.get('default') ?? [])]).toEqual(['echo']);
    now = 4999;
    await catalog.queues();
    expect(b.asked).toBe(1);
    now = 5000;
    const later = await catalog.queues();
    expect(b.asked).toBe(2);
    expect(later.get('gpu')?.has('train')).toBe(true);
  });

  it("passes on the task-manager's error", async () => {
    const b = broker([{ type: 'error', error: { name: 'SjeError', code: 'SJE_ERR_INTERNAL', message: 'store down', retryable: true } }]);
    await expect(new FunctionCatalog({ broker: b, ttlMs: 5000, timeoutMs: 100 }).queues()).rejects.toMatchObject({
      code: 'SJE_ERR_INTERNAL',
    });
  });
});
