import { NonRetryableError } from '@sje/core';
import type { ExampleContext } from './example-context.js';

/** Parameters of {@link sum}. */
export interface SumParams {
  /** Numbers to add besides the dependencies' results. @defaultValue [] */
  values?: number[];
  /** Which member of a dependency's result object to add. @defaultValue 'sum' */
  field?: string;
}

/** What {@link sum} returns. */
export interface SumResult {
  /** The total. */
  sum: number;
  /** How many numbers were added. */
  count: number;
  /** Dependencies that left no result (a failed or skipped task before an `all_done` fan-in). */
  missing: string[];
}

function finite(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new NonRetryableError(`sum: ${what} must be a finite number, got ${JSON.stringify(value) ?? typeof value}`);
  }
  return value;
}

/**
 * Adds `values` and the results of the task's dependencies: a fan-in. A
 * dependency's result counts as itself when it is a number, else as its
 * member `field` (`sum` by default, so `calculate_data` and `sum` results add
 * up). A dependency with no result (`null`) is listed in `missing`.
 * @throws NonRetryableError when a value or a dependency's result is not a number.
 * @example
 * ```ts
 * sum({ values: [1, 2] }, { dependencies: { a: 3, b: { sum: 4 } } }); // { sum: 10, count: 4, missing: [] }
 * ```
 */
export function sum(params: SumParams, ctx?: Pick<ExampleContext, 'dependencies'>): SumResult {
  const values: unknown = params.values ?? [];
  if (!Array.isArray(values)) throw new NonRetryableError(`sum: 'values' must be an array of numbers`);
  const field = params.field ?? 'sum';
  if (typeof field !== 'string' || field.length === 0) throw new NonRetryableError(`sum: 'field' must be a non-empty string`);
  let total = 0;
  let count = 0;
  values.forEach((v: unknown, i) => {
    total += finite(v, `values[${i}]`);
    count += 1;
  });
  const missing: string[] = [];
  for (const [id, result] of Object.entries(ctx?.dependencies ?? {})) {
    if (result === null || result === undefined) {
      missing.push(id);
      continue;
    }
    const value = typeof result === 'object' && !Array.isArray(result) ? (result as Record<string, unknown>)[field] : result;
    total += finite(value, typeof result === 'object' ? `the '${field}' of dependency ${id}'s result` : `the result of dependency ${id}`);
    count += 1;
  }
  return { sum: total, count, missing };
}
