import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limiter.js';

describe('RateLimiter', () => {
  it('lets a burst through, then one request per refill, per key', () => {
    let now = 0;
    const limiter = new RateLimiter({ perSecond: 2, burst: 3, now: () => now });
    expect([1, 2, 3].map(() => limiter.take('a').allowed)).toEqual([true, true, true]);
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterS: 1 });
    expect(limiter.take('b').allowed).toBe(true);
    now += 499;
    expect(limiter.take('a').allowed).toBe(false);
    now += 1;
    expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
    now += 10_000;
    expect([1, 2, 3, 4].map(() => limiter.take('a').allowed)).toEqual([true, true, true, false]);
  });

  it('says how long to wait at a slow rate, and defaults the burst to the rate', () => {
    let now = 0;
    const slow = new RateLimiter({ perSecond: 0.1, burst: 0, now: () => now });
    expect(slow.take('k').allowed).toBe(true);
    expect(slow.take('k')).toEqual({ allowed: false, retryAfterS: 10 });
    now = 5000;
    expect(slow.take('k')).toEqual({ allowed: false, retryAfterS: 5 });
    const fast = new RateLimiter({ perSecond: 5, burst: 0, now: () => now });
    expect([1, 2, 3, 4, 5, 6].map(() => fast.take('k').allowed)).toEqual([true, true, true, true, true, false]);
  });

  it('is off at rate 0 and keeps a bounded number of buckets', () => {
    const off = new RateLimiter({ perSecond: 0, burst: 0 });
    expect(off.enabled).toBe(false);
    for (let i = 0; i < 100; i++) expect(off.take('k').allowed).toBe(true);
    const small = new RateLimiter({ perSecond: 1, burst: 1, maxBuckets: 2, now: () => 0 });
    expect(small.take('a').allowed).toBe(true);
    expect(small.take('b').allowed).toBe(true);
    expect(small.take('c').allowed).toBe(true);
    // 'a' was the least recently used and was dropped: it starts full again.
    expect(small.take('a').allowed).toBe(true);
    expect(small.take('c').allowed).toBe(false);
  });
});
