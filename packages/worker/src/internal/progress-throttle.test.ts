import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { normalizeProgress, ProgressThrottle } from './progress-throttle.js';

describe('ProgressThrottle', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('sends the first value at once and at most one per interval, always the last', () => {
    const sent: number[] = [];
    const t = new ProgressThrottle(200, (v) => sent.push(v));
    t.push(1);
    expect(sent).toEqual([1]);
    for (let v = 2; v <= 50; v++) {
      vi.advanceTimersByTime(10);
      t.push(v);
    }
    // 490 ms elapsed: at most 1 + ceil(490/200) reports so far.
    expect(sent.length).toBeLessThanOrEqual(3);
    vi.advanceTimersByTime(200);
    expect(sent.at(-1)).toBe(50);
    const times = sent.length;
    vi.advanceTimersByTime(1000);
    expect(sent.length).toBe(times);
  });

  it('spaces reports at least the interval apart', () => {
    const at: number[] = [];
    const t = new ProgressThrottle(200, () => at.push(Date.now()));
    for (let i = 0; i < 100; i++) {
      t.push(i);
      vi.advanceTimersByTime(7);
    }
    vi.advanceTimersByTime(500);
    for (let i = 1; i < at.length; i++) expect((at[i] ?? 0) - (at[i - 1] ?? 0)).toBeGreaterThanOrEqual(200);
  });

  it('skips a repeat of the last sent value', () => {
    const sent: number[] = [];
    const t = new ProgressThrottle(200, (v) => sent.push(v));
    t.push(10);
    vi.advanceTimersByTime(300);
    t.push(10);
    vi.advanceTimersByTime(300);
    expect(sent).toEqual([10]);
  });

  it('stop() sends the pending value and ignores later ones', () => {
    const sent: number[] = [];
    const t = new ProgressThrottle(200, (v) => sent.push(v));
    t.push(1);
    t.push(2);
    t.stop();
    expect(sent).toEqual([1, 2]);
    t.push(3);
    vi.advanceTimersByTime(1000);
    expect(sent).toEqual([1, 2]);
  });
});

describe('normalizeProgress', () => {
  it('clamps to 0-100 and drops non-numbers', () => {
    expect(normalizeProgress(50)).toBe(50);
    expect(normalizeProgress(-3)).toBe(0);
    expect(normalizeProgress(150)).toBe(100);
    expect(normalizeProgress(Number.NaN)).toBeUndefined();
    expect(normalizeProgress('50')).toBeUndefined();
  });
});
