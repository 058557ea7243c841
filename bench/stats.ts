/**
 * Small statistics helpers for the benchmark.
 */

/** Latency figures in milliseconds. */
export interface LatencyFigures {
  p50: number;
  p99: number;
  max: number;
  mean: number;
  samples: number;
}

/** p50, p99, max and mean of a list of samples (ms). */
export function percentiles(samples: readonly number[]): LatencyFigures {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
  const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
  return { p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted.at(-1) ?? Number.NaN), mean: round(mean), samples: sorted.length };
}

/** Rounds to 3 significant decimals. */
export function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
