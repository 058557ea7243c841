import { NonRetryableError } from '@sje/core';

/** Parameters of {@link calculateData}. */
export interface CalculateDataParams {
  /** The numbers to summarise. */
  input_data: number[];
}

/** Summary statistics of a list of numbers; `mean`, `min` and `max` are null for an empty list. */
export interface CalculateDataResult {
  count: number;
  sum: number;
  mean: number | null;
  min: number | null;
  max: number | null;
}

/**
 * Count, sum, mean, minimum and maximum of `input_data`.
 * @throws NonRetryableError when `input_data` is not an array of finite numbers.
 * @example
 * ```ts
 * calculateData({ input_data: [1, 2, 3] }); // { count: 3, sum: 6, mean: 2, min: 1, max: 3 }
 * ```
 */
export function calculateData(params: CalculateDataParams): CalculateDataResult {
  const data: unknown = params.input_data;
  if (!Array.isArray(data)) throw new NonRetryableError(`calculate_data: 'input_data' must be an array of numbers, got ${data === null ? 'null' : typeof data}`);
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v: unknown = data[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new NonRetryableError(`calculate_data: input_data[${i}] must be a finite number, got ${JSON.stringify(v) ?? typeof v}`, { data: { index: i } });
    }
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const count = data.length;
  if (count === 0) return { count: 0, sum: 0, mean: null, min: null, max: null };
  return { count, sum, mean: sum / count, min, max };
}
