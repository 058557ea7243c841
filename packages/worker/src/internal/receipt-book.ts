/**
 * The receipts a worker waits for: report messages it sent transient (at
 * idle) are let go of once the task-manager answers `stored` with their
 * number, and sent again on the durable path when no answer comes in time.
 */

/** One receipt asked for: its number, and whether the task-manager answered. */
export interface OpenReceipt {
  seq: number;
  /** Resolves `true` when the task-manager answered, `false` after the time limit or when given up. */
  stored: Promise<boolean>;
}

/** Numbers receipts and settles their waits. */
export class ReceiptBook {
  private nextSeq = 1;
  private readonly waiting = new Map<number, { settle: (stored: boolean) => void; timer: NodeJS.Timeout }>();

  /** @param timeoutMs - how long a receipt is waited for. */
  constructor(private readonly timeoutMs: number) {}

  /** Receipts waited for now. */
  get size(): number {
    return this.waiting.size;
  }

  /** A new receipt, waited for from now. */
  open(): OpenReceipt {
    const seq = this.nextSeq++;
    const stored = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => this.settle(seq, false), this.timeoutMs);
      timer.unref?.();
      this.waiting.set(seq, { settle: resolve, timer });
    });
    return { seq, stored };
  }

  /** The task-manager's `stored` answer; an answer for no receipt waited for (late, or a duplicate) changes nothing. */
  stored(seq: number): void {
    this.settle(seq, true);
  }

  /** Stops waiting for `seq` (its publish failed). */
  cancel(seq: number): void {
    this.settle(seq, false);
  }

  /** Stops waiting for every receipt (the connection dropped, the worker stops): their messages go the durable way now. */
  cancelAll(): void {
    for (const seq of [...this.waiting.keys()]) this.settle(seq, false);
  }

  private settle(seq: number, stored: boolean): void {
    const entry = this.waiting.get(seq);
    if (!entry) return;
    this.waiting.delete(seq);
    clearTimeout(entry.timer);
    entry.settle(stored);
  }
}
