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
});
