/**
 * Coalesces confirmed publishes to one destination, adapting to load: an
 * item goes out at once, alone, while fewer than `maxInFlight` publishes
 * await their confirms (no added latency at idle); beyond that, items wait
 * and leave together as one message when a publish returns.
 * @module
 */

/** Options of {@link PublishCoalescer}. */
export interface PublishCoalescerOptions<T, M> {
  /** Sends one message; resolves when the broker confirmed it, rejects when it did not. */
  publish: (message: M) => Promise<void>;
  /** The message that carries `items` (one or more, in arrival order). */
  combine: (items: readonly T[]) => M;
  /** Publishes awaiting confirms at once before items start to wait. @defaultValue 2 */
  maxInFlight?: number;
  /** Most items in one message. @defaultValue 500 */
  maxItems?: number;
  /**
   * Most total {@link PublishCoalescerOptions.weight} in one message. An item
   * that reaches it on its own goes at once, alone, whatever is in flight:
   * holding it back would gain nothing. @defaultValue no limit
   */
  maxWeight?: number;
  /** An item's weight (e.g. the tasks it holds). @defaultValue 1 */
  weight?: (item: T) => number;
  /** Whether an item travels in a message of its own (still in its turn: the batch before it leaves first). @defaultValue never */
  alone?: (item: T) => boolean;
}

/** An item waiting for the confirm of the message that carries it. */
export interface PendingPublish<T> {
  item: T;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Publishes the items of `batch` as one message (`combine`) and settles each
 * with the outcome of that publish. Never rejects.
 */
export async function publishTogether<T, M>(publish: (message: M) => Promise<void>, combine: (items: readonly T[]) => M, batch: readonly PendingPublish<T>[]): Promise<void> {
  try {
    await publish(combine(batch.map((w) => w.item)));
  } catch (err) {
    for (const w of batch) w.reject(err);
    return;
  }
  for (const w of batch) w.resolve();
}

/**
 * Batches items while publishes are in flight.
 * @example
 * ```ts
 * const reports = new PublishCoalescer({
 *   publish: (m) => broker.publish(exchange, key, m),
 *   combine: (items) => (items.length === 1 ? items[0] : { type: 'reports', reports: [...items] }),
 * });
 * await reports.send(report); // confirmed, alone or with others
 * ```
 */
export class PublishCoalescer<T, M> {
  private readonly waiting: PendingPublish<T>[] = [];
  private inFlight = 0;
  private readonly maxInFlight: number;
  private readonly maxItems: number;
  private readonly maxWeight: number;
  private readonly weight: (item: T) => number;
  private readonly alone: (item: T) => boolean;

  constructor(private readonly options: PublishCoalescerOptions<T, M>) {
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 2);
    this.maxItems = Math.max(1, options.maxItems ?? 500);
    this.maxWeight = options.maxWeight ?? Number.POSITIVE_INFINITY;
    this.weight = options.weight ?? ((): number => 1);
    this.alone = options.alone ?? ((): boolean => false);
  }

  /** Sends `item`; resolves when the message holding it is confirmed, rejects if that publish failed. */
  send(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiting = { item, resolve, reject };
      // Not counted in flight: it takes no slot from the items that can share a message.
      if (this.weight(item) >= this.maxWeight && !this.alone(item)) {
        void this.publishBatch([waiting]);
        return;
      }
      this.waiting.push(waiting);
      this.flush();
    });
  }

  /** Items waiting for a publish slot. */
  get backlog(): number {
    return this.waiting.length;
  }

  private flush(): void {
    while (this.inFlight < this.maxInFlight && this.waiting.length > 0) {
      const batch = this.takeBatch();
      this.inFlight += 1;
      void this.publishBatch(batch).finally(() => {
        this.inFlight -= 1;
        this.flush();
      });
    }
  }

  /** The oldest waiting items that fit one message (at least one). */
  private takeBatch(): PendingPublish<T>[] {
    let n = 0;
    let weight = 0;
    while (n < this.waiting.length && n < this.maxItems) {
      const item = this.waiting[n]!.item;
      const alone = this.alone(item);
      const w = this.weight(item);
      if (n > 0 && (alone || weight + w > this.maxWeight)) break;
      weight += w;
      n += 1;
      if (alone) break;
    }
    return this.waiting.splice(0, n);
  }

  private publishBatch(batch: readonly PendingPublish<T>[]): Promise<void> {
    return publishTogether(this.options.publish, this.options.combine, batch);
  }
}
