import { describe, expect, it } from 'vitest';
import { RecentSet } from './recent-set.js';

describe('RecentSet', () => {
  it('keeps at least the latest `size` values and forgets older ones', () => {
    const set = new RecentSet<number>(3);
    for (let i = 0; i < 10; i++) set.add(i);
    for (const i of [7, 8, 9]) expect(set.has(i)).toBe(true);
    for (const i of [0, 1, 2]) expect(set.has(i)).toBe(false);
  });

  it('holds at most twice its size', () => {
    const set = new RecentSet<number>(2);
    for (let i = 0; i < 7; i++) set.add(i);
    expect([0, 1, 2, 3, 4, 5, 6].filter((i) => set.has(i))).toEqual([4, 5, 6]);
  });

  it('refuses a size that is not a positive integer', () => {
    expect(() => new RecentSet(0)).toThrow(RangeError);
    expect(() => new RecentSet(1.5)).toThrow(RangeError);
  });
});
