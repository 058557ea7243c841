/**
 * `@sje/examples`: example task handlers — `echo`, `sleep`, `fail`,
 * `calculate_data`, `fib` and `sum`. A worker registers them by listing
 * `@sje/examples` in `worker.handlers` (the default).
 *
 * @example
 * ```ts
 * import { createWorker } from '@sje/worker';
 * import { handlers } from '@sje/examples';
 * const worker = await createWorker({ handlers });
 * await worker.start();
 * ```
 * @module
 */
import { calculateData } from './calculate-data.js';
import { echo } from './echo.js';
import { fail } from './fail.js';
import { fib } from './fib.js';
import { sleep } from './sleep.js';
import { sum } from './sum.js';

export { calculateData as calculate_data } from './calculate-data.js';
export type { CalculateDataParams, CalculateDataResult } from './calculate-data.js';
export { echo } from './echo.js';
export { fail } from './fail.js';
export type { FailParams } from './fail.js';
export { fib } from './fib.js';
export type { FibParams, FibResult } from './fib.js';
export { sleep } from './sleep.js';
export type { SleepParams, SleepResult } from './sleep.js';
export { sum } from './sum.js';
export type { SumParams, SumResult } from './sum.js';
export type { ExampleContext } from './example-context.js';

/** Every example handler, keyed by the task function name it serves. */
export const handlers = {
  echo,
  sleep,
  fail,
  calculate_data: calculateData,
  fib,
  sum,
} as const;

export default handlers;
