/**
 * The metrics plugin's options (`plugins: [{ name: metrics, options: {...} }]`)
 * and their validation.
 * @module
 */
import { ErrorCode, SjeError } from '@sje/core';

/**
 * Histogram buckets in seconds, from 1 ms to 1 h: task runs range from a
 * quick computation to an hour-long job.
 */
export const DEFAULT_BUCKETS: readonly number[] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** The metrics plugin's options once validated. */
export interface MetricsOptions {
  /** Upper bounds (seconds) of the duration histograms' buckets, strictly increasing. @defaultValue {@link DEFAULT_BUCKETS} */
  buckets: number[];
}

function invalid(option: string, message: string, value: unknown): SjeError {
  return new SjeError(ErrorCode.PLUGIN_INVALID, `plugin 'metrics': option '${option}' ${message} (got ${JSON.stringify(value)})`, {
    data: { plugin: 'metrics', option },
  });
}

/**
 * Validates the plugin's YAML options and fills in defaults; throws
 * `SJE_ERR_PLUGIN_INVALID` naming the bad option.
 * @example
 * ```ts
 * parseMetricsOptions({ buckets: [0.1, 1, 10] }).buckets; // [0.1, 1, 10]
 * ```
 */
export function parseMetricsOptions(options: Record<string, unknown>): MetricsOptions {
  for (const key of Object.keys(options)) {
    if (key !== 'buckets') throw invalid(key, 'is unknown (known: buckets)', options[key]);
  }
  const buckets = options['buckets'];
  if (buckets === undefined) return { buckets: [...DEFAULT_BUCKETS] };
  const ok =
    Array.isArray(buckets) &&
    buckets.length > 0 &&
    buckets.every((b, i) => typeof b === 'number' && Number.isFinite(b) && b > 0 && (i === 0 || b > (buckets[i - 1] as number)));
  if (!ok) throw invalid('buckets', 'must be a non-empty, strictly increasing list of positive numbers (seconds)', buckets);
  return { buckets: [...(buckets as number[])] };
}
