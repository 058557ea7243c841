import type { DispatchMessage } from '@sje/core';
import type { AbortReason } from '../task-handler.js';
import { promiseOf } from './promise-of.js';
import type { DeliveryPart } from './shared-delivery.js';
import type { TaskRun } from './task-run.js';

/**
 * Where a lease stands on this worker:
 * - `waiting`: its dispatch waits for a free slot (not yet claimed);
 * - `claiming`: a `started` claim is out, no answer yet;
 * - `running`: granted, the handler runs;
 * - `reporting`: the run ended, its outcome is not yet confirmed by the broker.
 */
export type LeaseState = 'waiting' | 'claiming' | 'running' | 'reporting';

/** One lease this worker holds or wants. */
export interface LeaseEntry {
  readonly task: DispatchMessage;
  /** Changed through {@link LeaseBook.setState}, which keeps the per-state counts. */
  readonly state: LeaseState;
  /** This dispatch's shares of its deliveries, settled once the claim is answered (or given back). */
  parts: DeliveryPart[];
  run?: TaskRun;
  /** An abort that came before the run started (an assigned task waiting for a slot): it is reported without running. */
  abortRequested?: AbortReason;
  /** Settles the pending claim: `true` granted, `false` refused, `undefined` given up. */
  answer?: (granted: boolean | undefined) => void;
  resendTimer?: NodeJS.Timeout;
}

/** What {@link LeaseBook.admit} did with a delivery. */
export type Admission =
  /** A lease not seen before: an entry in state `waiting` was made. */
  | 'new'
  /** A repeat of a lease still waiting or claiming: its part is settled with the first. */
  | 'attached'
  /** A repeat of a lease already running or reporting: settle its part now and ignore it. */
  | 'duplicate';

/** An entry as the book itself sees it: it alone changes the state. */
type BookEntry = { -readonly [K in keyof LeaseEntry]: LeaseEntry[K] };

/**
 * The leases of one worker and their claims. A claim (`started` report) is
 * sent at once, re-sent every `resendMs` while unanswered, and re-sent at once
 * by {@link LeaseBook.resendAll} after a reconnect.
 */
export class LeaseBook {
  private readonly entries = new Map<string, BookEntry>();
  /** Entries per state, so that counting them is not a scan. */
  private readonly counts: Record<LeaseState, number> = { waiting: 0, claiming: 0, running: 0, reporting: 0 };

  /**
   * @param sendClaim - publishes the `started` claim of a task; a rejection is retried on the next resend.
   * @param resendMs - gap between repeats of an unanswered claim.
   * @param onSendError - told about a claim that could not be published.
   */
  constructor(
    private readonly sendClaim: (task: DispatchMessage) => Promise<void>,
    private readonly resendMs = 5000,
    private readonly onSendError: (task: DispatchMessage, err: unknown) => void = () => undefined,
  ) {}

  /** Leases held, in any state. */
  get size(): number {
    return this.entries.size;
  }

  /** The entry of a lease. */
  get(leaseId: string): LeaseEntry | undefined {
    return this.entries.get(leaseId);
  }

  /** Records a delivered dispatch and its share of the delivery. */
  admit(task: DispatchMessage, part: DeliveryPart): Admission {
    const existing = this.entries.get(task.lease_id);
    if (existing) {
      if (existing.state === 'waiting' || existing.state === 'claiming') {
        existing.parts.push(part);
        return 'attached';
      }
      return 'duplicate';
    }
    this.entries.set(task.lease_id, { task, state: 'waiting', parts: [part] });
    this.counts.waiting += 1;
    return 'new';
  }

  /**
   * Takes in a task the task-manager assigned to this worker: already
   * granted, so its entry starts `running` (it may still wait for a slot).
   * Returns `false` for a lease the book already has.
   */
  adopt(task: DispatchMessage): boolean {
    if (this.entries.has(task.lease_id)) return false;
    this.entries.set(task.lease_id, { task, state: 'running', parts: [] });
    this.counts.running += 1;
    return true;
  }

  /**
   * Claims a waiting lease and resolves with the answer: `true` granted,
   * `false` refused, `undefined` when the claim was given up ({@link abandonClaims}).
   */
  claim(leaseId: string): Promise<boolean | undefined> {
    const entry = this.entries.get(leaseId);
    if (!entry || entry.state !== 'waiting') return Promise.resolve(undefined);
    this.move(entry, 'claiming');
    return new Promise<boolean | undefined>((resolve) => {
      entry.answer = (granted) => {
        if (entry.resendTimer) clearTimeout(entry.resendTimer);
        delete entry.resendTimer;
        delete entry.answer;
        resolve(granted);
      };
      this.send(entry);
    });
  }

  /** Applies a `grant` answer. Returns `false` when no claim of that lease is pending. */
  answer(taskId: string, leaseId: string, granted: boolean): boolean {
    const entry = this.entries.get(leaseId);
    if (!entry || entry.state !== 'claiming' || entry.task.task_id !== taskId || !entry.answer) return false;
    entry.answer(granted);
    return true;
  }

  /** Re-sends every pending claim now (after a reconnect). */
  resendAll(): void {
    for (const entry of this.entries.values()) if (entry.state === 'claiming' && entry.answer) this.send(entry);
  }

  /** Gives up every pending claim (shutdown); their deliveries go back to the queue. */
  abandonClaims(): void {
    for (const entry of this.entries.values()) entry.answer?.(undefined);
  }

  /** Moves a lease on: to `running` once granted, to `reporting` once its run ended. */
  setState(leaseId: string, state: 'running' | 'reporting'): void {
    const entry = this.entries.get(leaseId);
    if (entry) this.move(entry, state);
  }

  /** How many entries are in one of `states`, without a scan. */
  count(...states: LeaseState[]): number {
    let n = 0;
    for (const state of states) n += this.counts[state];
    return n;
  }

  /** Entries in one of `states` (a scan; none when the counts say so). */
  inState(...states: LeaseState[]): LeaseEntry[] {
    const found: LeaseEntry[] = [];
    if (this.count(...states) === 0) return found;
    for (const entry of this.entries.values()) if (states.includes(entry.state)) found.push(entry);
    return found;
  }

  /** The leases a heartbeat lists: running, or ended with the outcome not yet confirmed. */
  held(): { task_id: string; lease_id: string }[] {
    return this.inState('running', 'reporting').map((e) => ({ task_id: e.task.task_id, lease_id: e.task.lease_id }));
  }

  /** Forgets a lease. */
  remove(leaseId: string): void {
    const entry = this.entries.get(leaseId);
    if (!entry) return;
    if (entry.resendTimer) clearTimeout(entry.resendTimer);
    this.counts[entry.state] -= 1;
    this.entries.delete(leaseId);
  }

  private move(entry: BookEntry, state: LeaseState): void {
    this.counts[entry.state] -= 1;
    this.counts[state] += 1;
    entry.state = state;
  }

  private send(entry: LeaseEntry): void {
    if (entry.resendTimer) clearTimeout(entry.resendTimer);
    entry.resendTimer = setTimeout(() => {
      if (entry.state === 'claiming' && entry.answer) this.send(entry);
    }, this.resendMs);
    promiseOf(() => this.sendClaim(entry.task)).catch((err: unknown) => this.onSendError(entry.task, err));
  }
}
