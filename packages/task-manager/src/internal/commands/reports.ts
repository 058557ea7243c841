/**
 * Worker reports — claims, progress and outcomes — alone or as a `reports`
 * batch. The records a batch names are read in one go before its reports are
 * applied in order, instead of one read per report.
 */
import type { RunReport } from '@sje/core';
import type { UnitOfWork } from '../unit-of-work.js';
import { applyClaim } from './claim.js';
import type { CommandContext } from './command-context.js';
import { applyOutcome } from './outcome.js';
import { applyProgress } from './progress.js';

/** Applies one worker report. */
export async function applyReport(uow: UnitOfWork, ctx: CommandContext, report: RunReport): Promise<void> {
  switch (report.type) {
    case 'started':
      return applyClaim(uow, ctx, report);
    case 'progress':
      return applyProgress(uow, ctx, report);
    case 'outcome':
      await applyOutcome(uow, ctx, report);
      return;
  }
}

/** Applies a batch of worker reports in order, after loading the records they name at once. */
export async function applyReports(uow: UnitOfWork, ctx: CommandContext, reports: readonly RunReport[]): Promise<void> {
  if (reports.length > 1) await uow.getMany([...new Set(reports.map((r) => r.task_id))]);
  for (const report of reports) await applyReport(uow, ctx, report);
}
