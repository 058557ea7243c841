/**
 * Throttles progress reports: the first value goes out at once, later ones
 * at most every `intervalMs`, and the last value pushed is always sent
 * (trailing edge). Repeats of the last sent value are skipped.
 */
export class ProgressThrottle {
  private lastSentAt = -Infinity;
  private lastSent: number | undefined;
  private pending: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly intervalMs: number,
    private readonly send: (value: number) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Offers a new value. */
  push(value: number): void {
    if (this.stopped) return;
    const wait = this.lastSentAt + this.intervalMs - this.now();
    if (wait <= 0 && this.timer === undefined) {
      this.emit(value);
      return;
    }
    this.pending = value;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, Math.max(0, wait));
  }

  /** Sends the pending value now, if any. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const value = this.pending;
    this.pending = undefined;
    if (value !== undefined && !this.stopped) this.emit(value);
  }

  /** Sends the pending value, then ignores every later push. */
  stop(): void {
    this.flush();
    this.stopped = true;
  }

  private emit(value: number): void {
    this.lastSentAt = this.now();
    if (value === this.lastSent) return;
    this.lastSent = value;
    this.send(value);
  }
}

/** Clamps a progress value to 0-100; `undefined` for a value that is not a finite number. */
export function normalizeProgress(pct: unknown): number | undefined {
  if (typeof pct !== 'number' || !Number.isFinite(pct)) return undefined;
  return Math.min(100, Math.max(0, pct));
}
