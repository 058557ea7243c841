import { NonRetryableError } from '@sje/core';
import { describe, expect, it } from 'vitest';
import { fib } from './fib.js';

describe('fib', () => {
  it.each([
    [0, '0'],
    [1, '1'],
    [2, '1'],
    [10, '55'],
    [78, '8944394323791464'],
    [79, '14472334024676221'],
    [100, '354224848179261915075'],
  ])('F(%i) = %s', async (n, value) => {
    await expect(fib({ n })).resolves.toEqual({ n, value });
  });

  it('computes large n exactly', async () => {
    const { value } = await fib({ n: 10_000 });
    expect(value).toHaveLength(2090);
    expect(value.startsWith('33644764876431783266')).toBe(true);
    expect(value.endsWith('66073310059947366875')).toBe(true);
  });

  it('stops when the signal fires', async () => {
    const controller = new AbortController();
    controller.abort('cancelled');
    await expect(fib({ n: 100_000 }, { signal: controller.signal, progress: () => undefined })).rejects.toThrow(/aborted/);
  });

  it.each([[-1], [1.5], [100_001], ['10'], [undefined]])('refuses n = %j without retry', async (n) => {
    await expect(fib({ n } as unknown as { n: number })).rejects.toBeInstanceOf(NonRetryableError);
  });
});
