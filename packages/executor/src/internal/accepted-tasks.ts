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
  /** `specFingerprint` of its spec. */
  fingerprint: string;
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

/** A bounded map of recently accepted task ids; oldest entries are dropped first. */
export class AcceptedTasks {
  private readonly entries = new Map<string, { task: AcceptedTask; expiresAt: number }>();
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
    this.entries.delete(taskId);
    this.entries.set(taskId, { task, expiresAt: now + this.ttlMs });
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

  /** Every entry has the same lifetime, so insertion order is expiry order. */
  private evict(now: number): void {
    for (const [id, entry] of this.entries) {
      if (this.entries.size > this.maxEntries || entry.expiresAt <= now) this.entries.delete(id);
      else break;
    }
  }
}
