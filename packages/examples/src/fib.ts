import { NonRetryableError } from '@sje/core';
import type { ExampleContext } from './example-context.js';
import { abortError } from './internal/abort-error.js';

/** Parameters of {@link fib}. */
export interface FibParams {
  /** Which Fibonacci number, 0 to 100 000. */
  n: number;
}

/** The `n`th Fibonacci number, as a decimal string (it outgrows a double past n = 78). */
export interface FibResult {
  n: number;
  value: string;
}

const MAX_N = 100_000;
const CHUNK = 2_000;

/**
 * Computes F(n) with big integers — CPU-bound work. The loop yields to the
 * event loop every few thousand steps, so heartbeats keep flowing and an abort
 * (when a context is given) stops it promptly.
 * @throws NonRetryableError when `n` is not an integer between 0 and 100 000.
 * @example
 * ```ts
 * await fib({ n: 10 }); // { n: 10, value: '55' }
 * ```
 */
export async function fib(params: FibParams, ctx?: ExampleContext): Promise<FibResult> {
  const n = params.n;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_N) {
    throw new NonRetryableError(`fib: 'n' must be an integer between 0 and ${MAX_N}, got ${JSON.stringify(n)}`);
  }
  let a = 0n;
  let b = 1n;
  for (let i = 0; i < n; i++) {
    const next = a + b;
    a = b;
    b = next;
    if ((i + 1) % CHUNK === 0 && i + 1 < n) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (ctx) {
        if (ctx.signal.aborted) throw abortError(ctx.signal);
        ctx.progress(Math.floor(((i + 1) / n) * 100));
      }
    }
  }
  return { n, value: a.toString() };
}
