/**
 * The task-manager's single writer: every state change goes through this
 * loop. Jobs that arrive together are applied in one store transaction, their
 * messages published with confirms, and only then acknowledged — batching
 * adapts to load (one job at idle, hundreds under a backlog).
 */
import type { Logger, PluginHost } from '@sje/core';
import type { AssignmentBook } from './assignments.js';
import type { OutboxPublisher } from './outbox-publisher.js';
import type { RecordCache } from './record-cache.js';
import type { StatusCounts } from './status-counts.js';
import { type OutboxMessage, serializeOutboxMessage, type TaskStore } from '@sje/store';
import { UnitOfWork } from './unit-of-work.js';

/** How a job is scheduled. */
export interface JobOptions {
  /** Tasks the job touches (a submit's size); batches stop growing at `maxBatchWeight`. @defaultValue 1 */
  weight?: number;
  /**
   * Batched apart from other jobs, in batches that take turns with theirs:
   * worker reports, which are cheap and hold a worker slot or a task's
   * completion while they wait, must not queue behind a burst of large
   * submits. @defaultValue false
   */
  urgent?: boolean;
}

/** One unit of work for the loop. */
export interface LoopJob extends JobOptions {
  /** Applies the job's changes to the batch. */
  apply(uow: UnitOfWork): Promise<void>;
  /** After commit and publish. */
  done(): void;
  /** The job could not be applied (alone). */
  failed(err: unknown): void;
}

/** Options of {@link CommandLoop}. */
export interface CommandLoopOptions {
  store: TaskStore;
  outbox: OutboxPublisher;
  plugins: PluginHost;
  logger: Logger;
  /** Most jobs in one batch. @defaultValue 500 */
  maxBatch?: number;
  /** Most total job weight (tasks) in one batch, unless a single job weighs more. @defaultValue 500 */
  maxBatchWeight?: number;
  /** Batches whose messages may be awaiting confirms at once. @defaultValue 8 */
  maxInFlight?: number;
  /** Last changes before a batch is committed (workflow aggregates). */
  beforeCommit?: (uow: UnitOfWork) => Promise<void>;
  /** Called after each committed batch with its earliest due time. */
  onCommitted?: (earliestDue: string | undefined) => void;
  /** Records committed by earlier batches, so later ones need not read them back from the store. @defaultValue none */
  recordCache?: RecordCache;
  /**
   * Hands due tasks straight to workers with free slots (holding those that
   * find none), and keeps count of the slots. @defaultValue none: every task
   * goes through its pool queue and a claim
   */
  assignments?: Pick<AssignmentBook, 'assignDue' | 'committed'>;
  /** Counts of tasks by status, moved by each committed batch. @defaultValue none */
  statusCounts?: Pick<StatusCounts, 'apply'>;
  /** Reshapes a batch's messages before they are stored and sent (grouping). @defaultValue unchanged */
  groupMessages?: (messages: OutboxMessage[]) => OutboxMessage[];
}

/** Serialises and batches all writes. */
export class CommandLoop {
  private readonly queue: LoopJob[] = [];
  private readonly urgentQueue: LoopJob[] = [];
  private lastBatchUrgent = false;
  private running = false;
  private idleWaiters: (() => void)[] = [];
  private outboxDirty = false;
  private readonly inFlight = new Set<Promise<void>>();
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: CommandLoopOptions) {}

  /** Adds a job; it runs in the next batch. */
  push(job: LoopJob): void {
    (job.urgent === true ? this.urgentQueue : this.queue).push(job);
    this.startDraining();
  }

  /**
   * Starts a batch once the code that is running now is done: the broker
   * hands over every message of one socket read in a row, and a batch started
   * at the first would hold it alone and leave the rest to the next.
   */
  private startDraining(): void {
    if (this.running) return;
    this.running = true;
    queueMicrotask(() => void this.drain());
  }

  /** Runs `apply` as a job and resolves with its result once committed and published. */
  run<T>(apply: (uow: UnitOfWork) => Promise<T>, options: JobOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let value: T;
      this.push({
        ...options,
        apply: async (uow) => {
          value = await apply(uow);
        },
        done: () => resolve(value),
        failed: reject,
      });
    });
  }

  /** Jobs waiting. */
  get backlog(): number {
    return this.queue.length + this.urgentQueue.length;
  }

  /** Resolves when no job is waiting or running and every publish settled. */
  async idle(): Promise<void> {
    if (!this.running && this.backlog === 0 && this.inFlight.size === 0) return;
    await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  /**
   * Marks the outbox as holding rows that may not be published (after a
   * failed publish, or at start-up); the loop drains it before its next batch.
   */
  flushOutbox(): void {
    this.outboxDirty = true;
    this.startDraining();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      for (;;) {
        if (this.outboxDirty) {
          try {
            await this.options.outbox.drain();
            this.outboxDirty = false;
          } catch (err) {
            this.options.logger.warn('outbox not drained yet; will retry', { err: (err as Error).message });
            this.scheduleFlush();
          }
        }
        if (this.backlog === 0) break;
        await this.runBatch(this.nextBatch(), true);
        // Let the socket be read between batches: a burst of submits must not
        // keep the reports that arrive meanwhile (urgent) out of the next batch.
        if (this.backlog > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      this.running = false;
      if (this.inFlight.size === 0) await this.options.outbox.removeConfirmed();
      this.notifyIdle();
    }
  }

  /**
   * Urgent and other jobs take turns in separate batches, so an urgent job
   * waits for at most one batch of others and never shares its batch's
   * cost; others keep their arrival order within the job and weight limits.
   */
  private nextBatch(): LoopJob[] {
    const maxJobs = this.options.maxBatch ?? 500;
    const urgentTurn = this.urgentQueue.length > 0 && (this.queue.length === 0 || !this.lastBatchUrgent);
    this.lastBatchUrgent = urgentTurn;
    if (urgentTurn) return this.urgentQueue.splice(0, maxJobs);
    const maxWeight = this.options.maxBatchWeight ?? 500;
    const batch: LoopJob[] = [];
    let weight = 0;
    while (this.queue.length > 0 && batch.length < maxJobs) {
      const next = this.queue[0]!;
      const w = next.weight ?? 1;
      if (batch.length > 0 && weight + w > maxWeight) break;
      batch.push(this.queue.shift()!);
      weight += w;
    }
    return batch;
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flushOutbox();
    }, 1000);
    this.flushTimer.unref?.();
  }

  /** Stops the retry timer. */
  stop(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }

  private async runBatch(jobs: LoopJob[], splitOnError: boolean): Promise<void> {
    const cache = this.options.recordCache;
    const uow = new UnitOfWork(this.options.store, new Date(), cache);
    let rows: Awaited<ReturnType<TaskStore['commit']>> = [];
    try {
      for (const job of jobs) await job.apply(uow);
      // With the batch's final states: a task it queued and then cancelled is not assigned.
      if (this.options.assignments) await this.options.assignments.assignDue(uow);
      if (this.options.beforeCommit) await this.options.beforeCommit(uow);
      if (!uow.isEmpty) {
        const commit = uow.toCommit();
        if (this.options.groupMessages) commit.outbox = this.options.groupMessages(commit.outbox);
        // Serialised once: for the outbox row and for the publish.
        for (const m of commit.outbox) serializeOutboxMessage(m);
        const published = this.options.outbox.confirmedIds();
        if (published.length > 0) commit.published = published;
        rows = await this.options.store.commit(commit);
        this.options.outbox.forget(published);
        cache?.remember(commit.tasks);
        this.options.statusCounts?.apply(uow.statusDeltas);
      }
    } catch (err) {
      // The failed batch's commands may have changed cached records in place.
      cache?.clear();
      if (splitOnError && jobs.length > 1) {
        // Find the culprit: apply each job alone.
        for (const job of jobs) await this.runBatch([job], false);
        return;
      }
      for (const job of jobs) job.failed(err);
      return;
    }
    // Committed: from here on the outbox holds the messages, whatever happens to the broker.
    // Assignments first: the worker starts while the events are still being confirmed.
    const assigns = this.options.assignments?.committed(uow.assignments) ?? [];
    if (assigns.length > 0) this.options.outbox.publishTransient(assigns);
    const transient = uow.transientMessages();
    this.options.outbox.publishTransient(this.options.groupMessages ? this.options.groupMessages(transient) : transient);
    if (this.options.plugins.has('onTaskStateChange')) for (const event of uow.events) await this.options.plugins.run('onTaskStateChange', { event });
    this.options.onCommitted?.(uow.earliestDue);
    // Pipeline: the next batch is applied while this one's confirms are on their way;
    // the broker keeps the order of publishes on the channel.
    const published = this.options.outbox.publish(rows).then(
      () => {
        for (const job of jobs) job.done();
      },
      (err: unknown) => {
        this.options.logger.warn('publishing committed messages failed; they stay in the outbox', { err: (err as Error).message });
        this.outboxDirty = true;
        this.scheduleFlush();
        for (const job of jobs) job.failed(err);
      },
    );
    this.inFlight.add(published);
    void published.finally(async () => {
      this.inFlight.delete(published);
      // No batch is coming to take the confirmed rows along: remove them on their own.
      if (!this.running) await this.options.outbox.removeConfirmed();
      this.notifyIdle();
    });
    while (this.inFlight.size >= (this.options.maxInFlight ?? 8)) await Promise.race(this.inFlight);
  }

  private notifyIdle(): void {
    if (this.running || this.backlog > 0 || this.inFlight.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
