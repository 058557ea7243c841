/**
 * Coalesces a worker's reports to the task-manager, adapting to load: a
 * report goes out at once when nothing is on its way (no added latency at
 * idle); while a publish awaits its confirm, new reports wait and leave
 * together as one `reports` message when it returns.
 */
import { PublishCoalescer, type PendingPublish, type RunReport } from '@sje/core';

/** A report waiting for its message to be confirmed. */
export type WaitingReport = PendingPublish<RunReport>;

/** What a coalescer hands its publish function: one report alone, or several as a `reports` message. */
export type ReportsMessage = RunReport | { type: 'reports'; reports: RunReport[] };

/** The message carrying `reports`: a lone report as itself, several as one `reports` message. */
export function reportsMessage(reports: readonly RunReport[]): ReportsMessage {
  return reports.length === 1 ? reports[0]! : { type: 'reports', reports: [...reports] };
}

/** Batches reports while a publish is in flight (see {@link PublishCoalescer}). */
export class ReportCoalescer extends PublishCoalescer<RunReport, ReportsMessage> {
  /**
   * @param publish - sends one message (a single report or a `reports` batch); resolves when confirmed.
   * @param maxInFlight - publishes awaiting confirms at once before reports start to wait.
   * @param maxBatch - most reports in one message.
   */
  constructor(publish: (message: ReportsMessage) => Promise<void>, maxInFlight = 2, maxBatch = 500) {
    super({ publish, combine: reportsMessage, maxInFlight, maxItems: maxBatch });
  }
}
