import { createTopology, MAX_GROUPED_DISPATCHES, validators, type DispatchMessage } from '@sje/core';
import { describe, expect, it } from 'vitest';
import { dispatchGroupSize, groupDispatches, type PoolView } from './dispatch-grouping.js';
import type { OutboxMessage } from '@sje/store';

const t = createTopology({ prefix: 'dg' });

function dispatch(taskId: string, queue = 'default', priority = 0): OutboxMessage {
  const body: DispatchMessage = { type: 'dispatch', task_id: taskId, lease_id: `l-${taskId}`, function: 'echo', params: {}, attempt: 1, queue, priority, labels: {} };
  return { exchange: t.exchanges.tasks, routing_key: queue, body, priority };
}

function event(taskId: string): OutboxMessage {
  return {
    exchange: t.exchanges.events,
    routing_key: t.eventKey('queued', 'echo'),
    body: { type: 'task_event', task_id: taskId, function: 'echo', queue: 'default', status: 'queued', attempt: 1, at: '2026-01-01T00:00:00.000Z', labels: {} },
  };
}

const pools = (byQueue: Record<string, PoolView>) => (queue: string): PoolView => byQueue[queue] ?? { workers: 0, minConcurrency: 0 };
const twoWorkers = pools({ default: { workers: 2, minConcurrency: 64 }, gpu: { workers: 1, minConcurrency: 16 } });

/** Task ids per output message, in order. */
function shape(messages: OutboxMessage[]): string[] {
  return messages.map((m) => {
    const b = m.body as { type: string; task_id?: string; tasks?: { task_id: string }[] };
    return `${b.type}:${m.routing_key}:${(b.tasks ?? [{ task_id: b.task_id ?? '' }]).map((x) => x.task_id).join(',')}`;
  });
}

const ids = (n: number, prefix = 't'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('dispatchGroupSize', () => {
  it('is 1 (no grouping) without live workers, for a lone dispatch, or below two groups of two per worker', () => {
    expect(dispatchGroupSize(500, { workers: 0, minConcurrency: 0 })).toBe(1);
    expect(dispatchGroupSize(1, { workers: 1, minConcurrency: 64 })).toBe(1);
    expect(dispatchGroupSize(7, { workers: 2, minConcurrency: 64 })).toBe(1);
    expect(dispatchGroupSize(8, { workers: 2, minConcurrency: 64 })).toBe(2);
  });

  it('gives every live worker at least two groups of the batch', () => {
    expect(dispatchGroupSize(40, { workers: 2, minConcurrency: 64 })).toBe(10);
    expect(dispatchGroupSize(40, { workers: 5, minConcurrency: 64 })).toBe(4);
    expect(dispatchGroupSize(40, { workers: 20, minConcurrency: 64 })).toBe(1);
  });

  it('stays at a quarter of the smallest concurrency and at the protocol maximum', () => {
    expect(dispatchGroupSize(500, { workers: 2, minConcurrency: 64 })).toBe(16);
    expect(dispatchGroupSize(500, { workers: 2, minConcurrency: 9 })).toBe(2);
    expect(dispatchGroupSize(500, { workers: 1, minConcurrency: 1000 })).toBe(MAX_GROUPED_DISPATCHES);
    // Below a concurrency of 8 a quarter is less than two: never grouped.
    expect(dispatchGroupSize(500, { workers: 2, minConcurrency: 7 })).toBe(1);
  });
});

describe('groupDispatches', () => {
  it('leaves a lone dispatch byte-for-byte as it was', () => {
    const input = [event('a'), dispatch('a')];
    const out = groupDispatches(input, t, twoWorkers);
    expect(out).toEqual(input);
    expect(out[1]).toBe(input[1]);
    expect(JSON.stringify(out[1]!.body)).toBe(JSON.stringify(input[1]!.body));
  });

  it('leaves a batch too small to gain from groups unchanged', () => {
    const input = ids(7).map((id) => dispatch(id));
    expect(groupDispatches(input, t, twoWorkers)).toEqual(input);
  });

  it('does not group for a pool with no registered worker', () => {
    const input = ids(100).map((id) => dispatch(id, 'nobody'));
    expect(groupDispatches(input, t, twoWorkers)).toEqual(input);
  });

  it('splits a queue into nearly equal groups, in order, each a valid dispatches message', () => {
    const input = ids(500).map((id) => dispatch(id));
    const out = groupDispatches(input, t, twoWorkers);
    // 500 / (2 × 2) = 125, capped at 64 / 4 = 16: ceil(500 / 16) = 32 groups of 15 or 16.
    expect(out).toHaveLength(32);
    const sizes = out.map((m) => (m.body as { tasks: unknown[] }).tasks.length);
    expect(Math.min(...sizes)).toBe(15);
    expect(Math.max(...sizes)).toBe(16);
    expect(out.flatMap((m) => (m.body as { tasks: DispatchMessage[] }).tasks.map((d) => d.task_id))).toEqual(ids(500));
    for (const m of out) {
      expect(validators.dispatchMessage(m.body).ok).toBe(true);
      expect(m).toMatchObject({ exchange: t.exchanges.tasks, routing_key: 'default', priority: 0 });
      expect(m.transient).toBeUndefined();
    }
  });

  it('never mixes queues or priorities, and keeps other messages in place', () => {
    const input = [
      event('x'),
      ...ids(8, 'd').map((id) => dispatch(id)),
      dispatch('p0', 'default', 5),
      ...ids(4, 'g').map((id) => dispatch(id, 'gpu')),
      event('y'),
      dispatch('p1', 'default', 5),
    ];
    const out = groupDispatches(input, t, twoWorkers);
    expect(shape(out)).toEqual([
      'task_event:task.queued.echo:x',
      'dispatches:default:d0,d1',
      'dispatches:default:d2,d3',
      'dispatches:default:d4,d5',
      'dispatches:default:d6,d7',
      // Two priority-5 dispatches of the default queue: too few to group.
      'dispatch:default:p0',
      // gpu: one worker of concurrency 16, 4 dispatches → groups of 2.
      'dispatches:gpu:g0,g1',
      'dispatches:gpu:g2,g3',
      'task_event:task.queued.echo:y',
      'dispatch:default:p1',
    ]);
    expect(out.filter((m) => m.routing_key === 'gpu').every((m) => m.priority === 0)).toBe(true);
  });

  it('leaves a last group of one as a plain dispatch', () => {
    // 9 dispatches, 2 workers → size 2 → 5 groups: 2,2,2,2,1 spread as 1,2,2,2,2.
    const out = groupDispatches(ids(9).map((id) => dispatch(id)), t, twoWorkers);
    expect(out.map((m) => (m.body as { type: string }).type).sort()).toEqual(['dispatch', 'dispatches', 'dispatches', 'dispatches', 'dispatches']);
  });
});
