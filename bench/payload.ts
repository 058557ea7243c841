/**
 * The payload of a benchmark task with `--params-bytes N`: the same string
 * on both sides of the comparison.
 */

const cache = new Map<number, string>();

/** A string of `bytes` characters (built once per size). */
export function benchPayload(bytes: number): string {
  let payload = cache.get(bytes);
  if (payload === undefined) {
    payload = 'x'.repeat(bytes);
    cache.set(bytes, payload);
  }
  return payload;
}
