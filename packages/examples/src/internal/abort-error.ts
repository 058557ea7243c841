/** The error an example rejects with when its run is aborted; the signal's reason is its cause. */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  const why = typeof reason === 'string' ? reason : reason instanceof Error ? reason.message : 'no reason given';
  const err = new Error(`aborted: ${why}`, { cause: reason });
  err.name = 'AbortError';
  return err;
}
