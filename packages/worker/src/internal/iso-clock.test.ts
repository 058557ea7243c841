import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isoNow } from './iso-clock.js';

describe('isoNow', () => {
  beforeEach(() => vi.useFakeTimers({ now: new Date('2026-03-04T05:06:07.008Z') }));
  afterEach(() => vi.useRealTimers());

  it('is the ISO string of the current millisecond, and follows the clock', () => {
    expect(isoNow()).toBe('2026-03-04T05:06:07.008Z');
    expect(isoNow()).toBe(new Date().toISOString());
    vi.advanceTimersByTime(1);
    expect(isoNow()).toBe('2026-03-04T05:06:07.009Z');
    vi.setSystemTime(new Date('2027-01-01T00:00:00.000Z'));
    expect(isoNow()).toBe('2027-01-01T00:00:00.000Z');
  });

  it('follows a clock set back', () => {
    expect(isoNow()).toBe('2026-03-04T05:06:07.008Z');
    vi.setSystemTime(new Date('2026-03-04T05:06:06.500Z'));
    expect(isoNow()).toBe('2026-03-04T05:06:06.500Z');
  });
});
