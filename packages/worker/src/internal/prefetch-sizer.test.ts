import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PrefetchSizer } from './prefetch-sizer.js';

describe('PrefetchSizer', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function sizer(concurrency: number): { s: PrefetchSizer; applied: [number, boolean][] } {
    const applied: [number, boolean][] = [];
    return { s: new PrefetchSizer(concurrency, (p, now) => applied.push([p, now]), 1000), applied };
  }

  it('starts where full groups bring about the concurrency in tasks; below 8 slots that is the concurrency', () => {
    expect(sizer(64).s.prefetch).toBe(4);
    expect(sizer(256).s.prefetch).toBe(8);
    expect(sizer(8).s.prefetch).toBe(4);
    expect(sizer(4).s.prefetch).toBe(4);
    expect(sizer(1).s.prefetch).toBe(1);
  });

  it('keeps full groups to about the concurrency in tasks', () => {
    const { s, applied } = sizer(64);
    for (let i = 0; i < 4; i++) s.delivered(16);
    expect(applied).toEqual([]);
    expect(s.prefetch * 16).toBe(64);
  });

  it('rises at once when single dispatches fill the prefetch, so they are claimed concurrency at a time', () => {
    const { s, applied } = sizer(64);
    s.delivered(1);
    s.delivered(1);
    s.delivered(1);
    expect(applied).toEqual([]);
    s.delivered(1);
    expect(applied).toEqual([[64, true]]);
    expect(s.prefetch).toBe(64);
  });

  it('lowers without a restart when larger groups arrive, and returns to the start after being idle', () => {
    const { s, applied } = sizer(64);
    for (let i = 0; i < 4; i++) s.delivered(1);
    s.delivered(16);
    expect(applied).toEqual([
      [64, true],
      [4, false],
    ]);
    for (let i = 0; i < 4; i++) s.settled(1);
    // Groups of 2 now held beside the 16: the largest decides.
    s.delivered(2);
    expect(s.prefetch).toBe(4);
    s.settled(16);
    s.settled(2);
    expect(s.deliveries).toBe(0);
    expect(s.prefetch).toBe(4);
    expect(applied).toHaveLength(2);
  });

  it('goes back to the start value after a second without a held delivery, unless one arrives first', () => {
    const { s, applied } = sizer(64);
    for (let i = 0; i < 4; i++) s.delivered(1);
    for (let i = 0; i < 4; i++) s.settled(1);
    vi.advanceTimersByTime(900);
    s.delivered(1);
    s.settled(1);
    vi.advanceTimersByTime(900);
    expect(s.prefetch).toBe(64);
    vi.advanceTimersByTime(100);
    expect(s.prefetch).toBe(4);
    expect(applied).toEqual([
      [64, true],
      [4, true],
    ]);
    s.close();
  });

  it('ignores a settle it was not told about', () => {
    const { s } = sizer(16);
    s.settled(3);
    expect(s.deliveries).toBe(0);
  });
});
