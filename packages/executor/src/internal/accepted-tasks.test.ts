import { describe, expect, it } from 'vitest';
import { AcceptedTasks } from './accepted-tasks.js';

const entry = (fn = 'f') => ({ function: fn, fingerprint: 'fp' });

describe('AcceptedTasks', () => {
  it('remembers tasks until they expire', () => {
    let now = 1000;
    const cache = new AcceptedTasks({ ttlMs: 100, now: () => now });
    cache.remember('a', entry('fa'));
    expect(cache.get('a')?.function).toBe('fa');
    now = 1099;
    expect(cache.get('a')).toBeDefined();
    now = 1100;
    expect(cache.get('a')).toBeUndefined();
  });

  it('drops the oldest entries beyond maxEntries', () => {
    const cache = new AcceptedTasks({ maxEntries: 3 });
    for (const id of ['a', 'b', 'c', 'd']) cache.remember(id, entry());
    expect(cache.size).toBe(3);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('d')).toBeDefined();
  });

  it('a refreshed entry becomes the newest', () => {
    const cache = new AcceptedTasks({ maxEntries: 2 });
    cache.remember('a', entry());
    cache.remember('b', entry());
    cache.remember('a', entry());
    cache.remember('c', entry());
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
  });

  it('sweeps expired entries on write', () => {
    let now = 0;
    const cache = new AcceptedTasks({ ttlMs: 10, now: () => now });
    cache.remember('a', entry());
    cache.remember('b', entry());
    now = 20;
    cache.remember('c', entry());
    expect(cache.size).toBe(1);
  });
});
