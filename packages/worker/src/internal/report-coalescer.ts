/**
 * Coalesces a worker's reports to the task-manager, adapting to load: a
 * report goes out at once when nothing is on its way (no added latency at
 * idle); while a publish awaits its confirm, new reports wait and leave
 * together as one `reports` message when it returns.
 */
import type { RunReport } from '@sje/core';

/** A report waiting for its message to be confirmed. */
export interface WaitingReport {
  report: RunReport;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** What a coalescer hands its publish function: one report alone, or several as a `reports` message. */
export type ReportsMessage = RunReport | { type: 'reports'; reports: RunReport[] };

/**
 * Publishes `batch` as one message (a lone report as itself) and settles each
 * waiting report with the outcome of that publish. Never rejects.
 */
export async function publishReports(publish: (message: ReportsMessage) => Promise<void>, batch: readonly WaitingReport[]): Promise<void> {
  const message: ReportsMessage = batch.length === 1 ? batch[0]!.report : { type: 'reports', reports: batch.map((w) => w.report) };
  try {
    await publish(message);
  } catch (err) {
    for (const w of batch) w.reject(err);
    return;
  }
  for (const w of batch) w.resolve();
}

/** Batches reports while a publish is in flight. */
export class ReportCoalescer {
  private readonly waiting: WaitingReport[] = [];
  private inFlight = 0;

  /**
   * @param publish - sends one message (a single report or a `reports` batch); resolves when confirmed.
   * @param maxInFlight - publishes awaiting confirms at once before reports start to wait.
   * @param maxBatch - most reports in one message.
   */
  constructor(
    private readonly publish: (message: ReportsMessage) => Promise<void>,
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
      this.inFlight += 1;
      void publishReports(this.publish, batch).finally(() => {
        this.inFlight -= 1;
        this.flush();
      });
    }
  }
}
