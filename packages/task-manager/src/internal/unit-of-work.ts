/**
 * One command-loop batch: the records it loaded and changed, the messages it
 * will publish and the events it raises, committed to the store at once.
 */
import type { TaskEvent, TaskStatus } from '@sje/core';
import { AssignmentChanges } from './assignments.js';
import type { RecordCache } from './record-cache.js';
import type { OutboxMessage, StoreCommit, TaskRecord, TaskStore, WorkflowRecord } from '@sje/store';

/** Collects the changes of one batch; reads go through it so later commands see earlier changes. */
export class UnitOfWork {
  private readonly cache = new Map<string, TaskRecord | null>();
  private readonly dirty = new Set<string>();
  private readonly messages: OutboxMessage[] = [];
  /** State events raised by this batch (handed to plugins after the commit). */
  readonly events: TaskEvent[] = [];
  /** Earliest `not_before` set by this batch (the scheduler re-arms its timer). */
  earliestDue: string | undefined;

  /** The batch's time as ISO text. */
  readonly nowIso: string;

  /** What this batch changes in the workers' slots and the pools' waiting tasks, and the tasks it assigns. */
  readonly assignments = new AssignmentChanges();

  constructor(
    private readonly store: TaskStore,
    /** The batch's clock: every timestamp of one batch is the same instant. */
    readonly now: Date,
    /** Records committed by earlier batches, read before the store. */
    private readonly committed?: RecordCache,
  ) {
    this.nowIso = now.toISOString();
  }

  /** Loads one record (from this batch's changes first). */
  async get(id: string): Promise<TaskRecord | undefined> {
    const map = await this.getMany([id]);
    return map.get(id);
  }

  /** Loads records by id; unknown ids are absent. */
  async getMany(ids: readonly string[]): Promise<Map<string, TaskRecord>> {
    let missing = ids.filter((id) => !this.cache.has(id));
    if (missing.length > 0 && this.committed !== undefined) {
      const committed = this.committed;
      missing = missing.filter((id) => {
        const record = committed.get(id);
        if (record === undefined) return true;
        this.cache.set(id, record);
        return false;
      });
    }
    if (missing.length > 0) {
      const loaded = await this.store.getTasks(missing);
      for (const id of missing) this.cache.set(id, loaded.get(id) ?? null);
    }
    const out = new Map<string, TaskRecord>();
    for (const id of ids) {
      const r = this.cache.get(id);
      if (r) out.set(id, r);
    }
    return out;
  }

  private readonly newDependents = new Map<string, string[]>();

  /** Ids of the records this batch created. */
  private readonly inserted = new Set<string>();

  /** Adds a new record. */
  insert(record: TaskRecord): void {
    this.cache.set(record.task_id, record);
    this.dirty.add(record.task_id);
    this.inserted.add(record.task_id);
    for (const dep of record.depends_on) {
      const list = this.newDependents.get(dep) ?? [];
      list.push(record.task_id);
      this.newDependents.set(dep, list);
    }
  }

  /** Ids of tasks depending on `taskId`: stored ones and those inserted by this batch. */
  async getDependents(taskId: string): Promise<string[]> {
    const stored = await this.store.getDependents(taskId);
    const added = this.newDependents.get(taskId) ?? [];
    return added.length === 0 ? stored : [...new Set([...stored, ...added])];
  }

  /** Marks a loaded record as changed. */
  touch(record: TaskRecord): void {
    this.cache.set(record.task_id, record);
    this.dirty.add(record.task_id);
  }

  /** Queues a message to publish after the commit. */
  send(message: OutboxMessage): void {
    this.messages.push(message);
  }

  /** A record this batch has loaded or changed, without a read. */
  peek(id: string): TaskRecord | undefined {
    return this.cache.get(id) ?? undefined;
  }

  /** The messages queued so far for `exchange`, in order. */
  messagesTo(exchange: string): OutboxMessage[] {
    return this.messages.filter((m) => m.exchange === exchange);
  }

  /** Takes queued messages back (they are not stored or sent). */
  withdraw(messages: ReadonlySet<OutboxMessage>): void {
    if (messages.size === 0) return;
    const kept = this.messages.filter((m) => !messages.has(m));
    this.messages.length = 0;
    this.messages.push(...kept);
  }

  /** Notes a due time so the scheduler wakes up for it. */
  noteDue(at: string): void {
    if (this.earliestDue === undefined || at < this.earliestDue) this.earliestDue = at;
  }

  /** Workflows created by this batch: template name and owning tenant. */
  readonly newWorkflows = new Map<string, { template: string | undefined; tenant?: string }>();
  /** Workflow records changed by this batch. */
  readonly workflows = new Map<string, WorkflowRecord>();

  /** Notes that a submit created (or added to) a workflow. */
  registerWorkflow(workflowId: string, template: string | undefined, tenant?: string): void {
    if (this.newWorkflows.has(workflowId)) return;
    this.newWorkflows.set(workflowId, tenant === undefined ? { template } : { template, tenant });
  }

  /** How many tasks entered (+) or left (-) each status in this batch. */
  readonly statusDeltas = new Map<TaskStatus, number>();

  /** Per workflow: how many of its tasks entered (+) or left (-) each status in this batch. */
  readonly workflowDeltas = new Map<string, Map<TaskStatus, number>>();

  /**
   * Records that `record` moved from `from` (undefined: created) to its
   * status now, in the batch's counts and, for a workflow task, in its workflow's.
   */
  noteTransition(record: TaskRecord, from: TaskStatus | undefined): void {
    moveCount(this.statusDeltas, from, record.status);
    const workflowId = record.workflow_id;
    if (workflowId === undefined) return;
    let deltas = this.workflowDeltas.get(workflowId);
    if (!deltas) {
      deltas = new Map();
      this.workflowDeltas.set(workflowId, deltas);
    }
    moveCount(deltas, from, record.status);
  }

  /** Tasks of a workflow inserted by this batch (not yet in the store). */
  insertedTasksOf(workflowId: string): string[] {
    const out: string[] = [];
    for (const id of this.dirty) if (this.cache.get(id)?.workflow_id === workflowId) out.push(id);
    return out;
  }

  /** Whether the batch changed anything. */
  get isEmpty(): boolean {
    return this.dirty.size === 0 && this.messages.length === 0 && this.workflows.size === 0;
  }

  /** Best-effort messages to publish after the commit (not stored). */
  transientMessages(): OutboxMessage[] {
    return this.messages.filter((m) => m.transient === true);
  }

  /** What to commit. */
  toCommit(): StoreCommit {
    const tasks: TaskRecord[] = [];
    for (const id of this.dirty) {
      const r = this.cache.get(id);
      if (r) tasks.push(r);
    }
    return { tasks, inserted: this.inserted, outbox: this.messages.filter((m) => m.transient !== true), workflows: [...this.workflows.values()] };
  }
}

/** One task leaves `from` (none: it is new) and enters `to`. */
function moveCount(deltas: Map<TaskStatus, number>, from: TaskStatus | undefined, to: TaskStatus): void {
  if (from !== undefined) deltas.set(from, (deltas.get(from) ?? 0) - 1);
  deltas.set(to, (deltas.get(to) ?? 0) + 1);
}
