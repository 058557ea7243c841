/**
 * subscribeTaskEvents against the real RabbitMQ, with a unique topology
 * prefix; task events are published by hand as the task-manager would.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from 'amqplib';
import { createTopology, ErrorCode, type TaskEvent } from '@sje/core';
import { subscribeTaskEvents } from './task-events.js';

const AMQP_URL = process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function event(status: TaskEvent['status'], fn: string, task_id: string = randomUUID()): TaskEvent {
  return { type: 'task_event', task_id, function: fn, queue: 'default', status, attempt: 1, at: new Date().toISOString(), labels: {} };
}

async function publisher(prefix: string): Promise<(routingKey: string, body: unknown) => Promise<void>> {
  const topology = createTopology({ prefix });
  const conn = await connect(AMQP_URL);
  const ch = await conn.createConfirmChannel();
  cleanups.push(async () => {
    await ch.deleteExchange(topology.exchanges.events);
    await conn.close();
  });
  await ch.assertExchange(topology.exchanges.events, 'topic', { durable: true });
  return async (routingKey, body) => {
    ch.publish(topology.exchanges.events, routingKey, Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), { persistent: true });
    await ch.waitForConfirms();
  };
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('subscribeTaskEvents', () => {
  it('delivers matching events, skips others, and reports invalid ones', async () => {
    const prefix = `t-${randomUUID().slice(0, 8)}`;
    const publish = await publisher(prefix);
    const events: TaskEvent[] = [];
    const errors: Error[] = [];
    const sub = await subscribeTaskEvents({ url: AMQP_URL, prefix, pattern: 'task.succeeded.*', onEvent: (e) => events.push(e), onError: (e) => errors.push(e) });
    cleanups.push(() => sub.close());

    const wanted = event('succeeded', 'resize');
    await publish('task.failed.resize', event('failed', 'resize'));
    await publish('task.succeeded.resize', wanted);
    await publish('task.succeeded.resize', { type: 'task_event', task_id: 'x' });
    await publish('task.succeeded.resize', 'not json');
    await until(() => events.length === 1 && errors.length === 2);
    expect(events).toEqual([wanted]);
    expect(errors.every((e) => (e as { code?: string }).code === ErrorCode.MESSAGE_INVALID)).toBe(true);
  });

  it('gives each subscriber every event, keeps going when onEvent throws, and stops on close', async () => {
    const prefix = `t-${randomUUID().slice(0, 8)}`;
    const publish = await publisher(prefix);
    const a: string[] = [];
    const b: string[] = [];
    const errors: Error[] = [];
    const subA = await subscribeTaskEvents({
      url: AMQP_URL,
      prefix,
      onEvent: (e) => {
        a.push(e.task_id);
        if (a.length === 1) throw new Error('handler bug');
      },
      onError: (e) => errors.push(e),
    });
    const subB = await subscribeTaskEvents({ url: AMQP_URL, prefix, pattern: 'task.*.thumbnail', onEvent: (e) => b.push(e.task_id) });
    cleanups.push(() => subB.close());

    await publish('task.queued.thumbnail', event('queued', 'thumbnail', 'e1'));
    await publish('task.running.thumbnail', event('running', 'thumbnail', 'e2'));
    await until(() => a.length === 2 && b.length === 2);
    expect(a).toEqual(['e1', 'e2']);
    expect(b).toEqual(['e1', 'e2']);
    expect(errors.map((e) => e.message)).toEqual(['handler bug']);

    await subA.close();
    await subA.close();
    await publish('task.succeeded.thumbnail', event('succeeded', 'thumbnail', 'e3'));
    await until(() => b.length === 3);
    expect(a).toEqual(['e1', 'e2']);
  });

  it('with a tenant, delivers only that tenant\'s events', async () => {
    const prefix = `t-${randomUUID().slice(0, 8)}`;
    const publish = await publisher(prefix);
    const seen: string[] = [];
    const sub = await subscribeTaskEvents({ url: AMQP_URL, prefix, tenant: 'acme', onEvent: (e) => seen.push(e.task_id) });
    cleanups.push(() => sub.close());
    await publish('task.queued.resize', { ...event('queued', 'resize', 'other'), tenant: 'globex' });
    await publish('task.queued.resize', event('queued', 'resize', 'untenanted'));
    await publish('task.queued.resize', { ...event('queued', 'resize', 'mine'), tenant: 'acme' });
    await publish('task.succeeded.resize', { ...event('succeeded', 'resize', 'mine-2'), tenant: 'acme' });
    await until(() => seen.length === 2);
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toEqual(['mine', 'mine-2']);
  });

  it('rejects at once when the broker cannot be reached', async () => {
    const started = Date.now();
    await expect(subscribeTaskEvents({ url: 'amqp://guest:guest@127.0.0.1:1', onEvent: () => undefined })).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
