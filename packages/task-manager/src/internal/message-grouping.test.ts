import { createTopology, MAX_GROUPED_MESSAGES, validators } from '@sje/core';
import { describe, expect, it } from 'vitest';
import { groupMessages } from './message-grouping.js';
import type { OutboxMessage } from '@sje/store';

const t = createTopology({ prefix: 'g' });

function event(taskId: string, status: string, fn = 'echo'): OutboxMessage {
  return {
    exchange: t.exchanges.events,
    routing_key: t.eventKey(status, fn),
    body: { type: 'task_event', task_id: taskId, function: fn, queue: 'default', status, attempt: 1, at: '2026-01-01T00:00:00.000Z', labels: {} },
  };
}

function grant(taskId: string, worker: string): OutboxMessage {
  return { exchange: t.exchanges.control, routing_key: t.controlKeyFor(worker), body: { type: 'grant', task_id: taskId, lease_id: `l-${taskId}`, granted: true }, transient: true };
}

function dispatch(taskId: string): OutboxMessage {
  return { exchange: t.exchanges.tasks, routing_key: 'default', body: { type: 'dispatch', task_id: taskId }, priority: 0 };
}

/** The task ids each output message carries, in order. */
function shape(messages: OutboxMessage[]): string[] {
  return messages.map((m) => {
    const b = m.body as { type: string; task_id?: string; events?: { task_id: string }[]; grants?: { task_id: string }[] };
    const ids = b.events ?? b.grants ?? [{ task_id: b.task_id ?? '' }];
    return `${b.type}:${m.routing_key}:${ids.map((x) => x.task_id).join(',')}`;
  });
}

describe('groupMessages', () => {
  it('leaves a lone event or grant exactly as it was', () => {
    const input = [event('a', 'queued'), dispatch('a'), grant('b', 'w1')];
    expect(groupMessages(input, t)).toEqual(input);
  });

  it('puts the events of one routing key into one task_events message where the first of them was', () => {
    const out = groupMessages([event('a', 'pending'), event('a', 'queued'), dispatch('a'), event('b', 'pending'), event('b', 'queued'), dispatch('b')], t);
    expect(shape(out)).toEqual(['task_events:task.pending.echo:a,b', 'task_events:task.queued.echo:a,b', 'dispatch:default:a', 'dispatch:default:b']);
    for (const m of out.filter((x) => (x.body as { type: string }).type === 'task_events')) expect(validators.eventMessage(m.body).ok).toBe(true);
  });

  it('keeps one task’s events in order: a member that would overtake its task opens a new group', () => {
    // b is queued (opening the queued group) before a goes pending → queued.
    const out = groupMessages([event('b', 'queued'), event('a', 'pending'), event('a', 'queued')], t);
    expect(shape(out)).toEqual(['task_event:task.queued.echo:b', 'task_event:task.pending.echo:a', 'task_event:task.queued.echo:a']);
  });

  it('groups grants per worker, keeps them transient and valid control messages', () => {
    const out = groupMessages([grant('a', 'w1'), grant('b', 'w2'), grant('c', 'w1')], t);
    expect(shape(out)).toEqual(['grants:worker.w1:a,c', 'grant:worker.w2:b']);
    expect(out.every((m) => m.transient === true)).toBe(true);
    expect(validators.control(out[0]!.body).ok).toBe(true);
  });

  it('never puts more than the cap into one message', () => {
    const n = MAX_GROUPED_MESSAGES + 5;
    const out = groupMessages(
      Array.from({ length: n }, (_, i) => event(`t${i}`, 'succeeded')),
      t,
    );
    expect(out).toHaveLength(2);
    expect((out[0]!.body as { events: unknown[] }).events).toHaveLength(MAX_GROUPED_MESSAGES);
    expect((out[1]!.body as { events: unknown[] }).events).toHaveLength(5);
  });

  it('does not group workflow events or aborts', () => {
    const wf: OutboxMessage = { exchange: t.exchanges.events, routing_key: 'workflow.running', body: { type: 'workflow_event', workflow_id: 'w' } };
    const abort: OutboxMessage = { exchange: t.exchanges.control, routing_key: 'worker.all', body: { type: 'abort', task_id: 'a', reason: 'cancelled' }, transient: true };
    const input = [wf, wf, abort, abort];
    expect(groupMessages(input, t)).toEqual(input);
  });
});
