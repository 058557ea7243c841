/**
 * Returns its params unchanged.
 * @example
 * ```ts
 * echo({ hello: 'world' }); // { hello: 'world' }
 * ```
 */
export function echo<P extends Record<string, unknown>>(params: P): P {
  return params;
}
