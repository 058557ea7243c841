import { describe, expect, it } from 'vitest';
import type { TaskSpec } from '@sje/core';
import { externalDependencies, findCycle } from './dependency-graph.js';

const t = (task_id: string, ...depends_on: string[]): TaskSpec => ({ task_id, function: 'f', params: {}, queue: 'default', priority: 0, depends_on, labels: {} });

describe('findCycle', () => {
  it('finds none in a DAG (diamond) and ignores outside references', () => {
    expect(findCycle([t('a'), t('b', 'a'), t('c', 'a'), t('d', 'b', 'c', 'outside')])).toBeUndefined();
  });

  it('returns the path of a cycle, closed on its first task', () => {
    const cycle = findCycle([t('start'), t('a', 'start', 'c'), t('b', 'a'), t('c', 'b')]);
    expect(cycle).toEqual(['a', 'c', 'b', 'a']);
  });

  it('treats a self-dependency as a cycle', () => {
    expect(findCycle([t('a', 'a')])).toEqual(['a', 'a']);
  });

  it('handles a chain of 20000 tasks without overflowing the stack', () => {
    const chain = Array.from({ length: 20_000 }, (_, i) => (i === 0 ? t('n0') : t(`n${i}`, `n${i - 1}`)));
    expect(findCycle(chain)).toBeUndefined();
    chain[0] = t('n0', 'n19999');
    expect(findCycle(chain)?.length).toBe(20_001);
  });
});

describe('externalDependencies', () => {
  it('lists references outside the request once, in order', () => {
    expect(externalDependencies([t('a', 'x', 'y'), t('b', 'a', 'x', 'z')])).toEqual(['x', 'y', 'z']);
  });
});
