/** Resolves `true` once `condition()` holds (checked every `stepMs`), or `false` after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs: number, stepMs = 25): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(stepMs, Math.max(1, deadline - Date.now()))));
  }
  return true;
}
