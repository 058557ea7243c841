import { NonRetryableError } from '@sje/core';
import { describe, expect, it } from 'vitest';
import type { ExampleContext } from './example-context.js';
import { sleep } from './sleep.js';

function context(controller = new AbortController()): ExampleContext & { reports: number[] } {
  const reports: number[] = [];
  return { signal: controller.signal, progress: (pct) => reports.push(pct), reports };
}

describe('sleep', () => {
  it('waits about ms and returns it, reporting progress up to 100', async () => {
    const ctx = context();
    const started = Date.now();
    await expect(sleep({ ms: 300 }, ctx)).resolves.toEqual({ slept_ms: 300 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(ctx.reports.length).toBeGreaterThan(1);
    expect(ctx.reports.at(-1)).toBe(100);
    expect([...ctx.reports].sort((a, b) => a - b)).toEqual(ctx.reports);
  });

  it('rejects promptly with an AbortError when the signal fires', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const run = sleep({ ms: 10_000 }, context(controller));
    setTimeout(() => controller.abort('cancelled'), 50);
    const err = await run.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe('AbortError');
    expect((err as Error).cause).toBe('cancelled');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('rejects at once when the signal has already fired', async () => {
    const controller = new AbortController();
    controller.abort('shutdown');
    await expect(sleep({ ms: 10_000 }, context(controller))).rejects.toThrow(/aborted: shutdown/);
  });

  it.each([[-1], [Number.NaN], ['100'], [undefined], [86_400_001]])('refuses ms = %s without retry', async (ms) => {
    const err = await sleep({ ms } as unknown as { ms: number }, context()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonRetryableError);
    expect((err as NonRetryableError).retryable).toBe(false);
  });
});
