/**
 * `progress`: records a running task's progress and publishes it as a
 * `task.progress.<function>` event. Reports of a stale lease are ignored.
 */
import type { ProgressReport } from '@sje/core';
import { buildEvent, recordEvent } from '../transitions.js';
import type { UnitOfWork } from '../unit-of-work.js';
import type { CommandContext } from './command-context.js';

/** Applies a progress report. */
export async function applyProgress(uow: UnitOfWork, ctx: CommandContext, report: ProgressReport): Promise<void> {
  const record = await uow.get(report.task_id);
  if (!record || record.status !== 'running' || record.lease_id !== report.lease_id) return;
  record.progress = report.progress;
  uow.touch(record);
  const event = buildEvent(record, 'running', uow.nowIso);
  event.progress = report.progress;
  recordEvent(uow, ctx.topology, event, 'progress');
}
