/**
 * Coalesces the reports made in one event-loop turn into one message,
 * without waiting for confirms between messages: for claims, whose answer is
 * the grant and which are repeated when unanswered, a confirm round trip
 * before the next claim would only add latency to every task under load.
 */
import { publishTogether, type RunReport } from '@sje/core';
import { reportsMessage, type ReportsMessage, type WaitingReport } from './report-coalescer.js';

/** Sends the reports of one turn together (one alone at idle). */
export class TurnCoalescer {
  private waiting: WaitingReport[] = [];
  private scheduled = false;

  /**
   * @param publish - sends one message (a single report or a `reports` batch); resolves when confirmed.
   * @param maxBatch - most reports in one message.
   */
  constructor(
    private readonly publish: (message: ReportsMessage) => Promise<void>,
    private readonly maxBatch = 500,
  ) {}

  /** Queues a report for the end of this turn; resolves when the broker confirmed its message. */
  send(report: RunReport): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ item: report, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const all = this.waiting;
    this.waiting = [];
    for (let i = 0; i < all.length; i += this.maxBatch) void publishTogether(this.publish, reportsMessage, all.slice(i, i + this.maxBatch));
  }
}
