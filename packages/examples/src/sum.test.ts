import { NonRetryableError } from '@sje/core';
import { describe, expect, it } from 'vitest';
import { sum } from './sum.js';

describe('sum', () => {
  it('adds values and the results of dependencies', () => {
    expect(sum({ values: [1, 2.5] }, { dependencies: { a: 3, b: { sum: 4, count: 9 }, c: { sum: -1 } } })).toEqual({
      sum: 9.5,
      count: 5,
      missing: [],
    });
  });

  it('reads another member of result objects when told', () => {
    expect(sum({ field: 'value' }, { dependencies: { a: { value: 2 }, b: { value: 5 } } })).toEqual({ sum: 7, count: 2, missing: [] });
  });

  it('is 0 with nothing to add, and lists dependencies without a result', () => {
    expect(sum({})).toEqual({ sum: 0, count: 0, missing: [] });
    expect(sum({}, { dependencies: { a: null, b: 1 } })).toEqual({ sum: 1, count: 1, missing: ['a'] });
  });

  it('refuses non-numbers without retry, naming the culprit', () => {
    expect(() => sum({ values: [1, 'x' as unknown as number] })).toThrow(/values\[1\]/);
    expect(() => sum({}, { dependencies: { a: { total: 1 } } })).toThrow(NonRetryableError);
    expect(() => sum({}, { dependencies: { a: 'text' } })).toThrow(/dependency a/);
    expect(() => sum({ values: 3 as unknown as number[] })).toThrow(NonRetryableError);
  });
});
