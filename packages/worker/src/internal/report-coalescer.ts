/**
 * Coalesces a worker's reports to the task-manager, adapting to load: a
 * report goes out at once when nothing is on its way (no added latency at
 * idle); while a publish awaits its confirm, new reports wait and leave
 * together as one `reports` message when it returns.
 */
import type { RunReport } from '@sje/core';

interface Waiting {
  report: RunReport;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Batches reports while a publish is in flight. */
export class ReportCoalescer {
  private readonly waiting: Waiting[] = [];
  private inFlight = 0;

  /**
   * @param publish - sends one message (a single report or a `reports` batch); resolves when confirmed.
   * @param maxInFlight - publishes awaiting confirms at once before reports start to wait.
   * @param maxBatch - most reports in one message.
   */
  constructor(
    private readonly publish: (message: RunReport | { type: 'reports'; reports: RunReport[] }) => Promise<void>,
    private readonly maxInFlight = 2,
    private readonly maxBatch = 500,
  ) {}

  /** Sends a report; resolves when the message holding it is confirmed, rejects if that publish failed. */
  send(report: RunReport): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ report, resolve, reject });
      this.flush();
    });
  }

  /** Reports waiting for a publish slot. */
  get backlog(): number {
    return this.waiting.length;
  }

  private flush(): void {
    while (this.inFlight < this.maxInFlight && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.maxBatch);
      const message = batch.length === 1 ? batch[0]!.report : { type: 'reports' as const, reports: batch.map((w) => w.report) };
      this.inFlight += 1;
      void this.publish(message)
        .then(
          () => batch.forEach((w) => w.resolve()),
          (err: unknown) => batch.forEach((w) => w.reject(err)),
        )
        .finally(() => {
          this.inFlight -= 1;
          this.flush();
        });
    }
  }
}
