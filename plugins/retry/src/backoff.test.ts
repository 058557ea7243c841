import { describe, expect, it } from 'vitest';
import { backoffDelay, baseDelay, jitterDelay, type BackoffParams } from './backoff.js';

const exp = (attempt: number, over: Partial<BackoffParams> = {}): BackoffParams => ({
  attempt,
  backoff: 'exponential',
  delay_ms: 1000,
  max_delay_ms: 300_000,
  jitter: false,
  ...over,
});

/** A deterministic pseudo-random source (mulberry32) so failures reproduce. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('baseDelay', () => {
  it('doubles from delay_ms after each attempt when exponential', () => {
    expect([1, 2, 3, 4, 5].map((n) => baseDelay(exp(n)))).toEqual([1000, 2000, 4000, 8000, 16000]);
  });

  it('caps exponential growth at max_delay_ms', () => {
    expect(baseDelay(exp(9))).toBe(256_000);
    expect(baseDelay(exp(10))).toBe(300_000);
    expect(baseDelay(exp(100))).toBe(300_000);
  });

  it('keeps the same wait for every attempt when fixed', () => {
    for (const n of [1, 2, 7, 50]) expect(baseDelay(exp(n, { backoff: 'fixed', delay_ms: 250 }))).toBe(250);
  });

  it('applies the cap to a fixed wait too', () => {
    expect(baseDelay(exp(1, { backoff: 'fixed', delay_ms: 5000, max_delay_ms: 2000 }))).toBe(2000);
  });

  it('gives 0 for a zero delay or a zero cap', () => {
    expect(baseDelay(exp(4, { delay_ms: 0 }))).toBe(0);
    expect(baseDelay(exp(4, { max_delay_ms: 0 }))).toBe(0);
  });

  it('treats attempt 0 or a negative attempt as the first', () => {
    expect(baseDelay(exp(0))).toBe(1000);
    expect(baseDelay(exp(-3))).toBe(1000);
  });
});

describe('jitterDelay', () => {
  it('maps the ends of the random range to half and all of the delay', () => {
    expect(jitterDelay(1000, () => 0)).toBe(500);
    expect(jitterDelay(1000, () => 0.999_999_999)).toBe(1000);
    expect(jitterDelay(1001, () => 0)).toBe(501);
  });

  it('stays within [delay/2, delay] for many draws and covers the range', () => {
    const random = seeded(42);
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < 10_000; i++) {
      const d = jitterDelay(1000, random);
      expect(Number.isInteger(d)).toBe(true);
      expect(d).toBeGreaterThanOrEqual(500);
      expect(d).toBeLessThanOrEqual(1000);
      min = Math.min(min, d);
      max = Math.max(max, d);
    }
    expect(min).toBeLessThan(520);
    expect(max).toBeGreaterThan(980);
  });

  it('clamps a random source that strays outside [0, 1)', () => {
    expect(jitterDelay(1000, () => 1)).toBe(1000);
    expect(jitterDelay(1000, () => 1.5)).toBe(1000);
    expect(jitterDelay(1000, () => -0.2)).toBe(500);
  });

  it('returns 0 for a zero delay', () => {
    expect(jitterDelay(0, () => 0.7)).toBe(0);
  });
});

describe('backoffDelay', () => {
  it('is the base delay when jitter is off', () => {
    expect(backoffDelay(exp(3), () => 0)).toBe(4000);
  });

  it('never exceeds the cap nor falls under half of the capped delay with jitter', () => {
    const random = seeded(7);
    for (let attempt = 1; attempt <= 30; attempt++) {
      const params = exp(attempt, { jitter: true, max_delay_ms: 60_000 });
      const base = Math.min(60_000, 1000 * 2 ** (attempt - 1));
      for (let i = 0; i < 200; i++) {
        const d = backoffDelay(params, random);
        expect(d).toBeLessThanOrEqual(base);
        expect(d).toBeGreaterThanOrEqual(base / 2);
      }
    }
  });

  it('uses the random source only when jitter is on', () => {
    let calls = 0;
    const counting = (): number => {
      calls++;
      return 0.5;
    };
    backoffDelay(exp(2), counting);
    expect(calls).toBe(0);
    backoffDelay(exp(2, { jitter: true }), counting);
    expect(calls).toBe(1);
  });
});
