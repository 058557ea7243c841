import { NonRetryableError } from '@sje/core';
import type { ExampleContext } from './example-context.js';
import { abortError } from './internal/abort-error.js';

/** Parameters of {@link sleep}. */
export interface SleepParams {
  /** How long to wait, in milliseconds (0 to 86 400 000). */
  ms: number;
}

/** What {@link sleep} returns. */
export interface SleepResult {
  slept_ms: number;
}

const MAX_MS = 86_400_000;
const TICKS = 20;

/**
 * Waits `ms` milliseconds, reporting progress along the way. Rejects with an
 * `AbortError` as soon as `ctx.signal` fires.
 * @throws NonRetryableError when `ms` is not a number between 0 and 86 400 000.
 * @example
 * ```ts
 * await sleep({ ms: 500 }, ctx); // { slept_ms: 500 }
 * ```
 */
export async function sleep(params: SleepParams, ctx: ExampleContext): Promise<SleepResult> {
  const ms = params.ms;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > MAX_MS) {
    throw new NonRetryableError(`sleep: 'ms' must be a number between 0 and ${MAX_MS}, got ${JSON.stringify(ms)}`);
  }
  const { signal } = ctx;
  if (signal.aborted) throw abortError(signal);
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const tickMs = Math.max(50, ms / TICKS);
    const ticker = setInterval(() => ctx.progress(Math.min(99, Math.floor(((Date.now() - started) / ms) * 100))), tickMs);
    const done = setTimeout(finish, ms);
    function cleanup(): void {
      clearInterval(ticker);
      clearTimeout(done);
      signal.removeEventListener('abort', onAbort);
    }
    function finish(): void {
      cleanup();
      ctx.progress(100);
      resolve();
    }
    function onAbort(): void {
      cleanup();
      reject(abortError(signal));
    }
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return { slept_ms: ms };
}
