import { describe, expect, it } from 'vitest';
import type { TaskSpec, TaskView } from '@sje/core';
import { canonicalJson, specDifferences, specFingerprint } from './spec-compare.js';

const spec: TaskSpec = {
  task_id: 't1',
  function: 'f',
  params: { b: [1, { y: 2, x: 1 }], a: 'z' },
  queue: 'default',
  priority: 0,
  depends_on: ['d1', 'd2'],
  labels: { team: 'x' },
  retry: { max_attempts: 3, backoff: 'fixed' },
};

function viewOf(s: TaskSpec, extra: Partial<TaskView> = {}): TaskView {
  const v: TaskView = {
    task_id: s.task_id,
    function: s.function,
    queue: s.queue,
    priority: s.priority,
    status: 'queued',
    attempt: 0,
    params: s.params,
    depends_on: s.depends_on,
    labels: s.labels,
    created_at: '2026-01-01T00:00:00.000Z',
    history: [],
    ...extra,
  };
  if (s.retry) v.retry = s.retry;
  return v;
}

describe('canonicalJson', () => {
  it('sorts keys at every level and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}');
  });

  it('reads a __proto__ key as data', () => {
    const data = JSON.parse('{"__proto__":{"x":1}}') as unknown;
    expect(canonicalJson(data)).toBe('{"__proto__":{"x":1}}');
  });
});

describe('specDifferences', () => {
  it('finds no difference for the same task with keys in another order', () => {
    const reordered: TaskSpec = { ...spec, params: { a: 'z', b: [1, { x: 1, y: 2 }] }, depends_on: ['d2', 'd1'] };
    expect(specDifferences(reordered, viewOf(spec))).toEqual([]);
  });

  it('names each differing field', () => {
    const other: TaskSpec = { ...spec, params: { a: 'other' }, priority: 5, labels: {}, timeout_ms: 100 };
    expect(specDifferences(other, viewOf(spec))).toEqual(['params', 'priority', 'timeout_ms', 'labels']);
    const noRetry: TaskSpec = { ...spec };
    delete noRetry.retry;
    expect(specDifferences(noRetry, viewOf(spec))).toEqual(['retry']);
  });

  it('treats absent kind and trigger_rule as their defaults', () => {
    expect(specDifferences({ ...spec, kind: 'task', trigger_rule: 'all_success' }, viewOf(spec))).toEqual([]);
    expect(specDifferences({ ...spec, trigger_rule: 'all_done' }, viewOf(spec))).toEqual(['trigger_rule']);
  });

  it('compares delay_ms only when the stored view reports it', () => {
    expect(specDifferences({ ...spec, delay_ms: 500 }, viewOf(spec))).toEqual([]);
    const withDelay = { ...viewOf(spec), delay_ms: 400 } as TaskView;
    expect(specDifferences({ ...spec, delay_ms: 500 }, withDelay)).toEqual(['delay_ms']);
  });
});

describe('specFingerprint', () => {
  it('is equal for equal specs and differs otherwise (task_id excluded)', () => {
    expect(specFingerprint({ ...spec, task_id: 'other', depends_on: ['d2', 'd1'] })).toBe(specFingerprint(spec));
    expect(specFingerprint({ ...spec, delay_ms: 1 })).not.toBe(specFingerprint(spec));
    expect(specFingerprint({ ...spec, params: { a: 'z' } })).not.toBe(specFingerprint(spec));
  });
});
