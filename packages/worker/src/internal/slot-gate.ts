/**
 * The concurrency cap: a counting gate whose slots cover both claims waiting
 * for a grant and running handlers. Deliveries that arrive while every slot is
 * taken wait in arrival order; the owner learns through `onSaturation` when to
 * pause and resume its consumers.
 */
export class SlotGate {
  private used = 0;
  private readonly waiters: ((granted: boolean) => void)[] = [];
  private saturated = false;

  /**
   * @param capacity - slots (at least 1).
   * @param onSaturation - called with `true` when every slot is taken (or someone waits), `false` when one frees.
   */
  constructor(
    readonly capacity: number,
    private readonly onSaturation: (saturated: boolean) => void = () => undefined,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
  }

  /** Slots taken now. */
  get inUse(): number {
    return this.used;
  }

  /** Callers waiting for a slot. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Takes a slot if one is free, without waiting. */
  tryAcquire(): boolean {
    if (this.used >= this.capacity) return false;
    this.used += 1;
    this.update();
    return true;
  }

  /** Resolves `true` once a slot is taken for the caller, or `false` if {@link cancelWaiters} gave up on it. */
  acquire(): Promise<boolean> {
    if (this.waiters.length === 0 && this.tryAcquire()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      this.waiters.push(resolve);
      this.update();
    });
  }

  /** Frees a slot; the longest waiter gets it. */
  release(): void {
    if (this.used === 0) throw new Error('SlotGate.release() without a matching acquire');
    const next = this.waiters.shift();
    if (next) next(true);
    else this.used -= 1;
    this.update();
  }

  /** Resolves every waiter with `false` (shutdown). Returns how many there were. */
  cancelWaiters(): number {
    const all = this.waiters.splice(0);
    for (const w of all) w(false);
    this.update();
    return all.length;
  }

  private update(): void {
    const now = this.used >= this.capacity || this.waiters.length > 0;
    if (now === this.saturated) return;
    this.saturated = now;
    this.onSaturation(now);
  }
}
