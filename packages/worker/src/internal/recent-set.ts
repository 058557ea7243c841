/**
 * A set that keeps at least the latest `size` values added (and at most
 * twice that), in two generations: values go into the young one; when it
 * holds `size` it becomes the old one and the previous old one is dropped.
 * Every operation is O(1) — dropping the oldest value of one `Set` one at a
 * time makes V8 walk the deleted slots at its front on every drop.
 */
export class RecentSet<T> {
  private young = new Set<T>();
  private old = new Set<T>();

  /** @param size - values kept at least (a positive integer). */
  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`size must be a positive integer, got ${size}`);
  }

  /** Adds a value as the newest. */
  add(value: T): void {
    if (this.young.has(value)) return;
    if (this.young.size >= this.size) {
      this.old = this.young;
      this.young = new Set();
    }
    this.young.add(value);
  }

  /** Whether the value was added among the latest ones kept. */
  has(value: T): boolean {
    return this.young.has(value) || this.old.has(value);
  }
}
