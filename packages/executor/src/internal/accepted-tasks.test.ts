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

  it('skips a forgotten entry when dropping the oldest, and keeps the rest in age order', () => {
    const cache = new AcceptedTasks({ maxEntries: 2 });
    cache.remember('a', entry());
    cache.remember('b', entry());
    cache.forget('a');
    cache.remember('c', entry());
    expect(cache.get('b')).toBeDefined();
    expect(cache.get('c')).toBeDefined();
    cache.remember('d', entry());
    expect(cache.get('b')).toBeUndefined();
    expect([cache.get('c'), cache.get('d')].every((t) => t !== undefined)).toBe(true);
  });

  it('holds exactly maxEntries, the newest, through many writes past it', () => {
    const cache = new AcceptedTasks({ maxEntries: 500 });
    for (let i = 0; i < 5000; i++) cache.remember(`t${i}`, entry());
    // Refreshing an old id makes it the newest; it must survive the next 499 writes.
    cache.remember('t4600', entry('refreshed'));
    for (let i = 5000; i < 5499; i++) cache.remember(`t${i}`, entry());
    expect(cache.size).toBe(500);
    expect(cache.get('t4600')?.function).toBe('refreshed');
    // Held now: t4600 and the 499 newest; everything written before them (t4999 included) is gone.
    expect(cache.get('t4999')).toBeUndefined();
    expect(cache.get('t5000')).toBeDefined();
    expect(cache.get('t5498')).toBeDefined();
  });
});
