import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, createTopology, type Broker, type DispatchMessage, type DispatchMessages, type TaskEvent } from '@sje/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rebuildDispatch, withFullBodies } from './outbox-rebuild.js';
import { dispatchOf } from './dispatcher.js';
import { OutboxPublisher } from './outbox-publisher.js';
import { type OutboxMessage, serializeOutboxMessage, SqliteTaskStore, type TaskRecord } from '@sje/store';

const topology = createTopology({ prefix: 'rebuild-test' });

function task(id: string, extra: Partial<TaskRecord>): TaskRecord {
  return {
    task_id: id,
    function: 'resize',
    queue: 'images',
    priority: 2,
    params: { url: `https://example.test/${id}.png` },
    depends_on: [],
    labels: { team: 'media' },
    status: 'queued',
    attempt: 1,
    deliveries: 0,
    deps_remaining: 0,
    created_at: '2026-12-01T10:00:00.000Z',
    history: [{ status: 'queued', at: '2026-12-01T10:00:00.000Z', attempt: 1 }],
    ...extra,
  };
}

const dispatchMessage = (body: DispatchMessage | DispatchMessages): OutboxMessage => ({ exchange: topology.exchanges.tasks, routing_key: 'images', priority: 2, body });

describe('dispatches and results rebuilt from the task records', () => {
  let dir: string;
  let store: SqliteTaskStore;
  const parent = task('parent', { status: 'succeeded', result: { width: 64 }, lease_id: 'l-parent' });
  const waiting = task('waiting', { lease_id: 'l-1', depends_on: ['parent'], timeout_ms: 500, workflow_id: 'wf-1' });
  const other = task('other', { lease_id: 'l-2' });
  const claimed = task('claimed', { status: 'running', lease_id: 'l-3', worker_id: 'w-1' });
  const requeued = task('requeued', { lease_id: 'l-5' });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sje-rebuild-'));
    store = new SqliteTaskStore({ dataDir: dir });
    await store.init();
    await store.commit({ tasks: [parent, waiting, other, claimed, requeued], outbox: [] });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('builds a waiting task’s dispatch again, params and dependency results included', async () => {
    const body = await rebuildDispatch(store, [{ task_id: 'waiting', lease_id: 'l-1' }]);
    expect(body).toEqual(dispatchOf(waiting, 'l-1', new Map([['parent', parent]])));
    expect(body).toMatchObject({ type: 'dispatch', params: waiting.params, dependencies: { parent: { width: 64 } }, timeout_ms: 500, workflow_id: 'wf-1' });
  });

  it('leaves out tasks claimed or queued again under another lease since', async () => {
    const refs = [
      { task_id: 'waiting', lease_id: 'l-1' },
      { task_id: 'claimed', lease_id: 'l-3' },
      { task_id: 'requeued', lease_id: 'l-4' },
      { task_id: 'other', lease_id: 'l-2' },
      { task_id: 'unknown', lease_id: 'l-9' },
    ];
    const body = (await rebuildDispatch(store, refs)) as DispatchMessages;
    expect(body.type).toBe('dispatches');
    expect(body.tasks.map((t) => t.task_id)).toEqual(['waiting', 'other']);
    expect(await rebuildDispatch(store, refs.slice(1, 3))).toBeUndefined();
  });

  it('keeps other messages as they are and drops a dispatch with nothing left to send', async () => {
    const event: OutboxMessage = { exchange: topology.exchanges.events, routing_key: 'task.queued.resize', body: { type: 'task_event', task_id: 'other' } };
    const messages: OutboxMessage[] = [
      event,
      { ...dispatchMessage(dispatchOf(claimed, 'l-3')), body: undefined, dispatch_of: [{ task_id: 'claimed', lease_id: 'l-3' }] },
      { ...dispatchMessage(dispatchOf(other, 'l-2')), body: undefined, dispatch_of: [{ task_id: 'other', lease_id: 'l-2' }] },
    ];
    expect(await withFullBodies(store, [{ id: 7, messages }])).toEqual([{ id: 7, messages: [event, dispatchMessage(dispatchOf(other, 'l-2'))] }]);
  });

  it('puts the results a stored event left out back from the records, alone or in a group', async () => {
    const succeeded = (id: string): TaskEvent => ({ type: 'task_event', task_id: id, function: 'resize', queue: 'images', status: 'succeeded', attempt: 1, at: '2026-12-01T10:00:01.000Z', labels: {} });
    const events = (...list: TaskEvent[]): OutboxMessage => ({ exchange: topology.exchanges.events, routing_key: 'task.succeeded.resize', body: { type: 'task_events', events: list } });
    const messages: OutboxMessage[] = [
      { exchange: topology.exchanges.events, routing_key: 'task.succeeded.resize', body: succeeded('parent'), result_of: ['parent'] },
      { ...events(succeeded('other'), succeeded('parent')), result_of: ['parent'] },
    ];
    expect(await withFullBodies(store, [{ id: 3, messages }])).toEqual([
      {
        id: 3,
        messages: [
          { exchange: topology.exchanges.events, routing_key: 'task.succeeded.resize', body: { ...succeeded('parent'), result: { width: 64 } } },
          events(succeeded('other'), { ...succeeded('parent'), result: { width: 64 } }),
        ],
      },
    ]);
  });

  it('publishes a stored dispatch from the record when the outbox is drained', async () => {
    const published: { exchange: string; routingKey: string; body: unknown }[] = [];
    const broker = {
      topology,
      on: () => undefined,
      publishJson: async (exchange: string, routingKey: string, json: string) => void published.push({ exchange, routingKey, body: JSON.parse(json) }),
      withChannel: async (fn: (ch: unknown) => Promise<void>) => fn({ assertQueue: async () => ({}), bindQueue: async () => ({}) }),
    } as unknown as Broker;
    // Committed, never confirmed: what a crash between the commit and the confirm leaves.
    await store.commit({ tasks: [], outbox: [dispatchMessage(dispatchOf(other, 'l-2'))] });
    const publisher = new OutboxPublisher(broker, store, createLogger({ service: 'test', silent: true }));

    expect(await publisher.drain()).toBe(1);
    expect(published).toEqual([{ exchange: topology.exchanges.tasks, routingKey: 'images', body: dispatchOf(other, 'l-2') }]);
    expect(await store.loadOutbox(10)).toEqual([]);
  });

  it('publishes a stored succeeded event with its result from the record when the outbox is drained', async () => {
    const published: unknown[] = [];
    const broker = { topology, on: () => undefined, publishJson: async (_e: string, _k: string, json: string) => void published.push(JSON.parse(json)) } as unknown as Broker;
    const event: TaskEvent = { type: 'task_event', task_id: 'parent', function: 'resize', queue: 'images', status: 'succeeded', attempt: 1, at: '2026-12-01T10:00:01.000Z', labels: {}, result: { width: 64 } };
    const message: OutboxMessage = { exchange: topology.exchanges.events, routing_key: 'task.succeeded.resize', body: event };
    serializeOutboxMessage(message);
    await store.commit({ tasks: [], outbox: [message] });
    expect(JSON.stringify(await store.loadOutbox(10))).not.toContain('width');

    expect(await new OutboxPublisher(broker, store, createLogger({ service: 'test', silent: true })).drain()).toBe(1);
    expect(published).toEqual([event]);
  });
});
