import { describe, expect, it } from 'vitest';
import { RecordCache } from './record-cache.js';
import type { TaskRecord } from './store/task-record.js';

const record = (id: string, status: TaskRecord['status'] = 'queued'): TaskRecord =>
  ({ task_id: id, status, function: 'echo', queue: 'default', depends_on: [], history: [] }) as unknown as TaskRecord;

describe('RecordCache', () => {
  it('returns the last committed version of a record', () => {
    const cache = new RecordCache(10);
    cache.remember([record('a', 'queued')]);
    const running = record('a', 'running');
    cache.remember([running]);
    expect(cache.get('a')).toBe(running);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  it('keeps at most its capacity, dropping the least recently committed records first', () => {
    const cache = new RecordCache(4); // two generations of 2
    cache.remember([record('a'), record('b')]);
    cache.remember([record('c')]); // a, b become the old generation
    cache.remember([record('a')]); // committed again: young now holds c, a
    expect(['a', 'b', 'c'].filter((id) => cache.get(id) !== undefined)).toEqual(['a', 'b', 'c']);
    cache.remember([record('d')]); // young (c, a) becomes old; b is dropped
    expect(['a', 'b', 'c', 'd'].filter((id) => cache.get(id) !== undefined)).toEqual(['a', 'c', 'd']);
    cache.remember([record('e'), record('f'), record('g')]);
    expect(cache.size).toBeLessThanOrEqual(4);
    expect(cache.get('g')).toBeDefined();
    expect(cache.get('a')).toBeUndefined();
  });

  it('never returns an older version of a record once a newer one was committed', () => {
    const cache = new RecordCache(4);
    const first = record('a', 'queued');
    cache.remember([first, record('b')]);
    const second = record('a', 'running');
    cache.remember([record('c'), second]); // 'a' in old and young: young wins, old copy dropped
    cache.remember([record('d'), record('e')]); // young {c, a} becomes old
    expect(cache.get('a')).toBe(second);
  });

  it('forgets a task once a final version of it is committed', () => {
    const cache = new RecordCache(10);
    cache.remember([record('a', 'running'), record('b', 'running')]);
    cache.remember([record('a', 'succeeded'), record('c', 'failed')]);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('c')).toBeUndefined();
    expect(cache.get('b')?.status).toBe('running');
  });

  it('keeps nothing with capacity 0, and forgets everything on clear', () => {
    const none = new RecordCache(0);
    none.remember([record('a')]);
    expect(none.get('a')).toBeUndefined();
    const cache = new RecordCache(5);
    cache.remember([record('a'), record('b')]);
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.get('a')).toBeUndefined();
  });

  it('refuses a negative or fractional capacity', () => {
    expect(() => new RecordCache(-1)).toThrow(RangeError);
    expect(() => new RecordCache(1.5)).toThrow(RangeError);
  });
});
