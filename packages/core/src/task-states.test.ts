import { describe, expect, it } from 'vitest';
import { canTransition, FINAL_STATUSES, isFinalStatus, nextStatuses, TASK_STATUSES, TaskStatus } from './task-states.js';

/** The lifecycle as docs/protocol.md and the design describe it. */
const LEGAL: Record<TaskStatus, TaskStatus[]> = {
  pending: ['queued', 'waiting_approval', 'cancelled', 'skipped'],
  waiting_approval: ['succeeded', 'failed', 'cancelled'],
  queued: ['running', 'cancelled', 'pending'],
  running: ['succeeded', 'failed', 'timed_out', 'cancelled', 'retrying', 'queued'],
  retrying: ['queued', 'cancelled', 'pending'],
  succeeded: [],
  failed: [],
  timed_out: [],
  cancelled: [],
  skipped: [],
};

const FINALS: TaskStatus[] = ['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped'];

describe('task states', () => {
  it('lists every state once, in lifecycle order', () => {
    expect(TASK_STATUSES).toEqual(['pending', 'queued', 'running', 'retrying', 'waiting_approval', 'succeeded', 'failed', 'timed_out', 'cancelled', 'skipped']);
    expect(Object.values(TaskStatus)).toEqual(TASK_STATUSES);
  });

  const pairs = TASK_STATUSES.flatMap((from) => TASK_STATUSES.map((to) => [from, to, LEGAL[from].includes(to)] as const));
  it.each(pairs)('%s → %s is legal: %s', (from, to, legal) => {
    expect(canTransition(from, to)).toBe(legal);
  });

  it.each(TASK_STATUSES)('nextStatuses(%s) is exactly the legal targets', (from) => {
    expect([...nextStatuses(from)].sort()).toEqual([...LEGAL[from]].sort());
  });

  it('has exactly the five final states, and no way out of them', () => {
    expect([...FINAL_STATUSES].sort()).toEqual([...FINALS].sort());
    for (const s of TASK_STATUSES) {
      expect(isFinalStatus(s)).toBe(FINALS.includes(s));
      if (isFinalStatus(s)) expect(nextStatuses(s)).toHaveLength(0);
      else expect(nextStatuses(s).length).toBeGreaterThan(0);
    }
  });

  it('never moves a task back to pending from running, nor to itself', () => {
    expect(canTransition('running', 'pending')).toBe(false);
    expect(canTransition('waiting_approval', 'running')).toBe(false);
    for (const s of TASK_STATUSES) expect(canTransition(s, s)).toBe(false);
  });

  it('reaches every final state from pending', () => {
    const reached = new Set<TaskStatus>(['pending']);
    const todo: TaskStatus[] = ['pending'];
    while (todo.length > 0) {
      const s = todo.pop() as TaskStatus;
      for (const n of nextStatuses(s)) {
        if (reached.has(n)) continue;
        reached.add(n);
        todo.push(n);
      }
    }
    expect([...reached].sort()).toEqual([...TASK_STATUSES].sort());
  });
});
