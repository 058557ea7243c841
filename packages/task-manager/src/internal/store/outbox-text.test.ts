import { describe, expect, it } from 'vitest';
import { outboxText, type OutboxMessage } from './task-record.js';

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
