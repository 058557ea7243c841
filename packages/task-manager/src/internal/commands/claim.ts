/**
 * `started`: a worker claims the lease of a dispatch. The first claim of the
 * current lease wins (`queued → running`); the same worker claiming again is
 * answered again; anything else is refused, so a cancelled or re-leased task
 * never runs twice.
 */
import type { LeaseGrant, StartedReport } from '@sje/core';
import { transition } from '../transitions.js';
import type { UnitOfWork } from '../unit-of-work.js';
import type { CommandContext } from './command-context.js';

/** Applies a claim and sends the grant (or refusal) to the claiming worker. */
export async function applyClaim(uow: UnitOfWork, ctx: CommandContext, report: StartedReport): Promise<void> {
  const record = await uow.get(report.task_id);
  const grant: LeaseGrant = { type: 'grant', task_id: report.task_id, lease_id: report.lease_id, granted: false };
  if (!record) grant.reason = 'unknown task';
  else if (record.lease_id !== report.lease_id) grant.reason = `stale lease (task is ${record.status})`;
  else if (record.status === 'queued') {
    record.worker_id = report.worker_id;
    record.worker_host = report.host;
    record.deliveries += 1;
    transition(uow, ctx.topology, record, 'running');
    grant.granted = true;
  } else if (record.status === 'running' && record.worker_id === report.worker_id) grant.granted = true;
  else grant.reason = record.status === 'running' ? 'held by another worker' : `task is ${record.status}`;
  uow.send({ exchange: ctx.topology.exchanges.control, routing_key: ctx.topology.controlKeyFor(report.worker_id), body: grant, transient: true });
}
