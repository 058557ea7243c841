/**
 * Tasks this executor accepted recently. The task-manager consumes submit
 * commands asynchronously, so for a short while after a `201` it may not know
 * a task yet; this bounded, expiring memory lets `/status`, `/cancel` and
 * idempotent resubmissions answer truthfully in that window.
 */

/** What is remembered of an accepted task. */
export interface AcceptedTask {
  /** The task's function. */
  function: string;
  /**
   * `specFingerprint` of its spec, for a client-chosen id. Absent for an id
   * this executor generated: no client can name that id before the `201`,
   * and hashing every spec cost a fifth of a batch submit's CPU.
   */
  fingerprint?: string;
  /** The workflow of a batch. */
  workflow_id?: string;
  /** The tenant that submitted it. */
  tenant?: string;
}

/** Options of {@link AcceptedTasks}. */
export interface AcceptedTasksOptions {
  /** How long an entry is kept. @defaultValue 300000 (5 min) */
  ttlMs?: number;
  /** Most entries kept; the oldest go first. @defaultValue 100000 */
  maxEntries?: number;
  /** Clock (tests). @defaultValue Date.now */
  now?: () => number;
  /**
   * Whether the caller of the request being handled may see an entry (its
   * tenant): {@link AcceptedTasks.get} hides the others. @defaultValue every entry is visible
   */
  visible?: (task: AcceptedTask) => boolean;
}

/**
 * A bounded map of recently accepted task ids; oldest entries are dropped
 * first. The age order is a queue of its own beside the map, so dropping the
 * oldest entry never walks the map (a `Map` iterated from its start after
 * deletions at the front skips every deleted slot first: at capacity each
 * write took ~9 µs instead of ~1).
 */
export class AcceptedTasks {
  private readonly entries = new Map<string, { task: AcceptedTask; expiresAt: number; seq: number }>();
  /** Writes in age order; a write whose entry was refreshed or forgotten since is stale and skipped. */
  private order: { id: string; seq: number }[] = [];
  private head = 0;
  private seq = 0;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly visible: (task: AcceptedTask) => boolean;

  constructor(options: AcceptedTasksOptions = {}) {
    this.ttlMs = options.ttlMs ?? 300_000;
    this.maxEntries = Math.max(1, options.maxEntries ?? 100_000);
    this.now = options.now ?? Date.now;
    this.visible = options.visible ?? ((): boolean => true);
  }

  /** Entries currently held (expired ones may linger until the next write). */
  get size(): number {
    return this.entries.size;
  }

  /** Records an accepted task (refreshing it if already present). */
  remember(taskId: string, task: AcceptedTask): void {
    const now = this.now();
    const seq = ++this.seq;
    this.entries.set(taskId, { task, expiresAt: now + this.ttlMs, seq });
    this.order.push({ id: taskId, seq });
    this.evict(now);
  }

  /** The accepted task `taskId`, unless unknown, expired, or not visible to the current caller. */
  get(taskId: string): AcceptedTask | undefined {
    const task = this.peek(taskId);
    return task !== undefined && this.visible(task) ? task : undefined;
  }

  /** The accepted task `taskId`, whoever submitted it (idempotency and conflict checks), unless unknown or expired. */
  peek(taskId: string): AcceptedTask | undefined {
    const entry = this.entries.get(taskId);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(taskId);
      return undefined;
    }
    return entry.task;
  }

  /** Drops an entry (a submit whose command could not be published). */
  forget(taskId: string): void {
    this.entries.delete(taskId);
  }

  /** Every entry has the same lifetime, so write order is expiry order. */
  private evict(now: number): void {
    while (this.head < this.order.length) {
      const oldest = this.order[this.head]!;
      const entry = this.entries.get(oldest.id);
      const current = entry !== undefined && entry.seq === oldest.seq;
      if (current && this.entries.size <= this.maxEntries && entry.expiresAt > now) break;
      if (current) this.entries.delete(oldest.id);
      this.head += 1;
    }
    // Drop the consumed front of the queue now and then (amortised O(1)).
    if (this.head >= 1024 && this.head * 2 >= this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }
}
