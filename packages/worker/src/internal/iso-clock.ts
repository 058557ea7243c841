/**
 * The current time as an ISO 8601 string (`new Date().toISOString()`), the
 * string made once per millisecond: a busy worker stamps several reports per
 * task and many tasks end within the same millisecond.
 */
let lastMs = Number.NaN;
let lastIso = '';

/** `new Date().toISOString()`, reusing the string of the same millisecond. */
export function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}
