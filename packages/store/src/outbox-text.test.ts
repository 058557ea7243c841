import { describe, expect, it } from 'vitest';
import type { TaskEvent } from '@sje/core';
import { outboxText, serializeOutboxMessage } from './outbox-text.js';
import type { OutboxMessage } from './task-record.js';

describe('outboxText', () => {
  it('stores exchange, routing key, priority and body, reusing a body already serialised', () => {
    const messages: OutboxMessage[] = [
      { exchange: 'x', routing_key: 'a"b', body: { n: 1 } },
      { exchange: 'x', routing_key: 'q', body: { ignored: true }, json: '{"n":2}', priority: 5, transient: false },
    ];
    expect(JSON.parse(outboxText(messages))).toEqual([
      { exchange: 'x', routing_key: 'a"b', body: { n: 1 } },
      { exchange: 'x', routing_key: 'q', priority: 5, body: { n: 2 } },
    ]);
    expect(messages[0]).not.toHaveProperty('json');
  });

  it('stores a dispatch, alone or in a group, as its tasks and leases instead of its body', () => {
    const dispatch = (id: string) => ({ type: 'dispatch', task_id: id, lease_id: `l-${id}`, function: 'f', params: { big: 'x'.repeat(1000) }, attempt: 1, queue: 'q', priority: 0, labels: {} });
    const messages: OutboxMessage[] = [
      { exchange: 'tasks', routing_key: 'q', body: dispatch('a'), json: JSON.stringify(dispatch('a')), priority: 0 },
      { exchange: 'tasks', routing_key: 'q', body: { type: 'dispatches', tasks: [dispatch('b'), dispatch('c')] } },
    ];
    const text = outboxText(messages);
    expect(text).not.toContain('xxxx');
    expect(JSON.parse(text)).toEqual([
      { exchange: 'tasks', routing_key: 'q', priority: 0, dispatch_of: [{ task_id: 'a', lease_id: 'l-a' }] },
      {
        exchange: 'tasks',
        routing_key: 'q',
        dispatch_of: [
          { task_id: 'b', lease_id: 'l-b' },
          { task_id: 'c', lease_id: 'l-c' },
        ],
      },
    ]);
  });
});

describe('serializeOutboxMessage', () => {
  const event = (id: string, result?: unknown): TaskEvent => {
    const e: TaskEvent = { type: 'task_event', task_id: id, function: 'f', queue: 'q', status: 'succeeded', attempt: 1, at: '2026-12-01T10:00:00.000Z', labels: {} };
    if (result !== undefined) e.result = result;
    return e;
  };

  it('publishes a succeeded event whole and stores it without its result, alone or in a group', () => {
    const big = { data: 'y'.repeat(1000) };
    const alone: OutboxMessage = { exchange: 'events', routing_key: 'task.succeeded.f', body: event('a', big) };
    const group: OutboxMessage = { exchange: 'events', routing_key: 'task.succeeded.f', body: { type: 'task_events', events: [event('b', big), event('c'), event('d', null)] } };
    for (const m of [alone, group]) serializeOutboxMessage(m);

    expect(JSON.parse(alone.json!)).toEqual(alone.body);
    expect(JSON.parse(group.json!)).toEqual(group.body);
    const text = outboxText([alone, group]);
    expect(text).not.toContain('yyyy');
    expect(JSON.parse(text)).toEqual([
      { exchange: 'events', routing_key: 'task.succeeded.f', body: event('a'), result_of: ['a'] },
      { exchange: 'events', routing_key: 'task.succeeded.f', body: { type: 'task_events', events: [event('b'), event('c'), event('d')] }, result_of: ['b', 'd'] },
    ]);
  });

  it('stores the same text for a message it did not serialise', () => {
    const serialised: OutboxMessage = { exchange: 'events', routing_key: 'k', body: event('a', { n: 1 }) };
    serializeOutboxMessage(serialised);
    expect(outboxText([{ exchange: 'events', routing_key: 'k', body: event('a', { n: 1 }) }])).toBe(outboxText([serialised]));
  });

  it('stores an event without a result, and any other message, as it publishes it', () => {
    const messages: OutboxMessage[] = [
      { exchange: 'events', routing_key: 'task.running.f', body: { ...event('a'), status: 'running' } },
      { exchange: 'control', routing_key: 'w', body: { type: 'grant', task_id: 'a', lease_id: 'l', granted: true } },
    ];
    for (const m of messages) serializeOutboxMessage(m);
    expect(messages.map((m) => m.stored_json ?? m.result_of)).toEqual([undefined, undefined]);
    expect(JSON.parse(outboxText(messages))).toEqual(messages.map((m) => ({ exchange: m.exchange, routing_key: m.routing_key, body: JSON.parse(m.json!) })));
  });
});
