import { promiseOf } from './promise-of.js';

/**
 * Publishes reports that must never be lost (run outcomes): each one is
 * retried until the broker confirms it, every `retryMs` and at once when
 * {@link ReliablePublisher.kick} says the connection is back.
 */
export class ReliablePublisher<T> {
  private readonly pending = new Map<number, { item: T; done: () => void; inFlight: boolean; timer?: NodeJS.Timeout }>();
  private nextId = 0;
  private idleWaiters: (() => void)[] = [];

  /**
   * @param publish - sends one item; resolves when confirmed, rejects when not.
   * @param retryMs - wait between attempts of one item.
   * @param onRetry - told about each failed attempt.
   */
  constructor(
    private readonly publish: (item: T) => Promise<void>,
    private readonly retryMs = 1000,
    private readonly onRetry: (item: T, err: unknown) => void = () => undefined,
  ) {}

  /** Items not yet confirmed. */
  get size(): number {
    return this.pending.size;
  }

  /** Every item not yet confirmed. */
  items(): T[] {
    return [...this.pending.values()].map((p) => p.item);
  }

  /** Publishes `item`; resolves once the broker confirmed it (however many attempts that takes). */
  send(item: T): Promise<void> {
    const id = this.nextId++;
    return new Promise<void>((resolve) => {
      this.pending.set(id, { item, done: resolve, inFlight: false });
      this.attempt(id);
    });
  }

  /** Retries every waiting item now (the connection came back). */
  kick(): void {
    for (const [id, p] of this.pending) {
      if (p.inFlight) continue;
      if (p.timer) clearTimeout(p.timer);
      delete p.timer;
      this.attempt(id);
    }
  }

  /** Resolves `true` once nothing is pending, or `false` after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.pending.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    let waiter: (() => void) | undefined;
    const idle = new Promise<boolean>((resolve) => {
      waiter = () => resolve(true);
      this.idleWaiters.push(waiter);
    });
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([idle, timeout]);
    } finally {
      clearTimeout(timer);
      this.idleWaiters = this.idleWaiters.filter((w) => w !== waiter);
    }
  }

  /** Stops retrying; items still pending are given up (returned). */
  stop(): T[] {
    const left: T[] = [];
    for (const p of this.pending.values()) {
      if (p.timer) clearTimeout(p.timer);
      left.push(p.item);
    }
    this.pending.clear();
    return left;
  }

  private attempt(id: number): void {
    const p = this.pending.get(id);
    if (!p) return;
    p.inFlight = true;
    promiseOf(() => this.publish(p.item)).then(
      () => {
        p.inFlight = false;
        if (!this.pending.delete(id)) return;
        p.done();
        if (this.pending.size === 0) for (const w of this.idleWaiters.splice(0)) w();
      },
      (err: unknown) => {
        p.inFlight = false;
        if (!this.pending.has(id)) return;
        this.onRetry(p.item, err);
        p.timer = setTimeout(() => {
          delete p.timer;
          this.attempt(id);
        }, this.retryMs);
      },
    );
  }
}
