import { NonRetryableError } from '@sje/core';
import { describe, expect, it } from 'vitest';
import { calculateData } from './calculate-data.js';

describe('calculate_data', () => {
  it('summarises a list of numbers', () => {
    expect(calculateData({ input_data: [4, -2, 10, 0.5] })).toEqual({ count: 4, sum: 12.5, mean: 3.125, min: -2, max: 10 });
  });

  it('handles one value', () => {
    expect(calculateData({ input_data: [7] })).toEqual({ count: 1, sum: 7, mean: 7, min: 7, max: 7 });
  });

  it('gives count 0, sum 0 and nulls for an empty list', () => {
    expect(calculateData({ input_data: [] })).toEqual({ count: 0, sum: 0, mean: null, min: null, max: null });
  });

  it('copes with a list too long to spread into Math.min', () => {
    const input = Array.from({ length: 300_000 }, (_, i) => i);
    expect(calculateData({ input_data: input })).toMatchObject({ count: 300_000, min: 0, max: 299_999 });
  });

  it.each([[undefined], [null], ['1,2,3'], [{ 0: 1 }]])('refuses input_data = %j without retry', (input) => {
    expect(() => calculateData({ input_data: input } as unknown as { input_data: number[] })).toThrow(NonRetryableError);
  });

  it('names the first bad element', () => {
    let thrown: unknown;
    try {
      calculateData({ input_data: [1, 2, 'x', 4] as unknown as number[] });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(NonRetryableError);
    expect((thrown as Error).message).toContain('input_data[2]');
  });

  it('refuses non-finite numbers', () => {
    expect(() => calculateData({ input_data: [1, Number.POSITIVE_INFINITY] })).toThrow(NonRetryableError);
  });
});
