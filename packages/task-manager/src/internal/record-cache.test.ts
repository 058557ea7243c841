import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { RecordCache } from './record-cache.js';
import type { TaskRecord } from '@sje/store';

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
    const cache = new RecordCache(3);
    cache.remember([record('a'), record('b'), record('c')]);
    cache.remember([record('a')]); // committed again: now the newest, b the oldest
    cache.remember([record('d')]);
    expect(['a', 'b', 'c', 'd'].filter((id) => cache.get(id) !== undefined)).toEqual(['a', 'c', 'd']);
    cache.remember([record('e'), record('f')]);
    expect(['a', 'c', 'd', 'e', 'f'].filter((id) => cache.get(id) !== undefined)).toEqual(['d', 'e', 'f']);
    expect(cache.size).toBe(3);
  });

  it('holds every live task while there are no more of them than its capacity', () => {
    const cache = new RecordCache(1000);
    // A backlog of exactly the capacity, submitted first, then claimed and finished in the order submitted.
    const ids = Array.from({ length: 1000 }, (_, i) => `t${i}`);
    for (const id of ids) cache.remember([record(id, 'queued')]);
    let hits = 0;
    for (const id of ids) {
      if (cache.get(id) !== undefined) hits += 1;
      cache.remember([record(id, 'running')]);
    }
    for (const id of ids) {
      if (cache.get(id) !== undefined) hits += 1;
      cache.remember([record(id, 'succeeded')]);
    }
    expect(hits).toBe(2000);
    expect(cache.size).toBe(0);
    // And it keeps evicting after many records came and went.
    for (let i = 0; i < 5000; i++) cache.remember([record(`u${i}`)]);
    expect(cache.size).toBe(1000);
    expect(cache.get('u3999')).toBeUndefined();
    expect(cache.get('u4000')).toBeDefined();
  });

  it('holds no more memory than its records while it stays under its capacity, after evicting or not', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heapAfterGc = (): number => {
      gc();
      return process.memoryUsage().heapUsed;
    };
    const cache = new RecordCache(5000);
    const withPayload = (id: string, status: TaskRecord['status']): TaskRecord => ({ ...record(id, status), params: { blob: `${id}:${'x'.repeat(500)}` } });
    // Past the capacity first (evictions), then a steady churn below it: a task finishes as another arrives.
    for (let i = 0; i < 8000; i++) cache.remember([withPayload(`a${i}`, 'queued')]);
    const before = heapAfterGc();
    for (let i = 0; i < 200_000; i++) {
      cache.remember([withPayload(i < 5000 ? `a${i + 3000}` : `b${i - 5000}`, 'succeeded')]);
      cache.remember([withPayload(`b${i}`, 'queued')]);
    }
    const grown = heapAfterGc() - before;
    expect(cache.size).toBeLessThanOrEqual(5000);
    // 200,000 records came and went; an iterator left standing would keep every table the map outgrew
    // (and the records in them): hundreds of MB here.
    expect(grown).toBeLessThan(20 * 2 ** 20);
  });

  it('never returns an older version of a record once a newer one was committed', () => {
    const cache = new RecordCache(3);
    const first = record('a', 'queued');
    cache.remember([first, record('b')]);
    const second = record('a', 'running');
    cache.remember([record('c'), second]);
    cache.remember([record('d')]); // b, the oldest, is dropped
    expect(cache.get('a')).toBe(second);
    expect(cache.get('b')).toBeUndefined();
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
