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

/** A benchmark task's params with `bytes` characters of payload (`{ data: "xx…" }`); `{}` for 0. */
export function benchParams(bytes: number): Record<string, unknown> {
  return bytes > 0 ? { data: benchPayload(bytes) } : {};
}

/** An `echo` task as `POST /submit` takes it, with `bytes` characters of params (none for 0). */
export function echoTask(bytes: number): { function: 'echo'; params?: Record<string, unknown> } {
  return bytes > 0 ? { function: 'echo', params: benchParams(bytes) } : { function: 'echo' };
}
