/**
 * What `call` returns, or a rejection with what it threw synchronously: a
 * publish function that throws instead of rejecting is handled like one that
 * rejects, without wrapping every call in a `new Promise`.
 */
export function promiseOf<T>(call: () => Promise<T>): Promise<T> {
  try {
    return call();
  } catch (err) {
    return rejectedWith(err);
  }
}

/** A promise rejected with `err`, whatever was thrown. */
async function rejectedWith(err: unknown): Promise<never> {
  throw err;
}
