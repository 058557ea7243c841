/**
 * Wakes up delayed tasks and tasks waiting out a retry backoff. The due time
 * lives in the store (`not_before`), so a wait survives a restart; this
 * scheduler only keeps one timer armed for the earliest one.
 */
import type { Logger, Topology } from '@sje/core';
import type { CommandLoop } from './command-loop.js';
import { enqueueTask, isDue, releaseTask } from './dispatcher.js';
import type { TaskStore } from '@sje/store';

/** Options of {@link DueTaskScheduler}. */
export interface DueTaskSchedulerOptions {
  store: TaskStore;
  loop: CommandLoop;
  topology: Topology;
  logger: Logger;
  /** Longest sleep between checks. */
  maxSleepMs: number;
}

/** Queues waiting tasks when they become due. */
export class DueTaskScheduler {
  private timer: NodeJS.Timeout | undefined;
  private armedFor: number | undefined;
  private stopped = true;
  private ticking = false;

  constructor(private readonly options: DueTaskSchedulerOptions) {}

  /** Starts checking (at once, then as due times require). */
  start(): void {
    this.stopped = false;
    this.arm(0);
  }

  /** Stops the timer. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** A batch set a due time: wake up for it if it is earlier than the armed one. */
  notify(due: string | undefined): void {
    if (due === undefined || this.stopped) return;
    this.arm(Math.max(0, Date.parse(due) - Date.now()));
  }

  private arm(delayMs: number): void {
    const at = Date.now() + Math.min(delayMs, this.options.maxSleepMs);
    if (this.timer && this.armedFor !== undefined && this.armedFor <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.armedFor = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.armedFor = undefined;
      void this.tick();
    }, Math.max(0, at - Date.now()));
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.ticking) return;
    this.ticking = true;
    try {
      let queued: number;
      do {
        queued = await this.options.loop.run(async (uow) => {
          const due = await this.options.store.getDueTasks(uow.nowIso, 500);
          let n = 0;
          for (const stale of due) {
            const record = await uow.get(stale.task_id);
            if (!record || (record.status !== 'pending' && record.status !== 'retrying') || !isDue(record, uow.nowIso)) continue;
            if (record.status === 'retrying') await enqueueTask(uow, this.options.topology, record, { newAttempt: true, reason: 'retry due' });
            else await releaseTask(uow, this.options.topology, record, 'delay elapsed');
            n += 1;
          }
          return n;
        });
      } while (queued >= 500 && !this.stopped);
      const next = await this.options.store.nextDueTime();
      this.arm(next === undefined ? this.options.maxSleepMs : Math.max(0, Date.parse(next) - Date.now()));
    } catch (err) {
      this.options.logger.warn('scheduler tick failed; retrying', { err: (err as Error).message });
      this.arm(this.options.maxSleepMs);
    } finally {
      this.ticking = false;
    }
  }
}
