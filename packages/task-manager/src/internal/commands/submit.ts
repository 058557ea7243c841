/**
 * `submit`: stores new tasks (a batch atomically), then queues those that
 * can run. Re-submitting an identical task changes nothing; a different spec
 * under an existing id is refused.
 */
import { isDeepStrictEqual } from 'node:util';
import { ErrorCode, SjeError, type SubmitCommand, type TaskSpec } from '@sje/core';
import { releaseTask } from '../dispatcher.js';
import { copyOptionalSpecFields, specOf, type TaskRecord } from '@sje/store';
import { recordEvent, buildEvent, transition } from '../transitions.js';
import type { UnitOfWork } from '../unit-of-work.js';
import type { CommandContext } from './command-context.js';

function newRecord(spec: TaskSpec, workflowId: string | undefined, now: string): TaskRecord {
  // Fields set one by one in a fixed order (not spread from the spec): every record gets the same object shape.
  const r: TaskRecord = {
    task_id: spec.task_id,
    function: spec.function,
    queue: spec.queue,
    priority: spec.priority,
    params: spec.params,
    depends_on: spec.depends_on,
    labels: spec.labels,
    status: 'pending',
    attempt: 0,
    deliveries: 0,
    deps_remaining: 0,
    has_dependents: false,
    created_at: now,
    history: [{ status: 'pending', at: now, attempt: 0 }],
  };
  copyOptionalSpecFields(spec, r);
  if (workflowId !== undefined) r.workflow_id = workflowId;
  if (spec.delay_ms !== undefined) r.not_before = new Date(Date.parse(now) + spec.delay_ms).toISOString();
  return r;
}

/** Applies a submit command. */
export async function applySubmit(uow: UnitOfWork, ctx: CommandContext, cmd: SubmitCommand): Promise<void> {
  const existing = await uow.getMany(cmd.tasks.map((t) => t.task_id));
  const fresh: TaskRecord[] = [];
  for (const spec of cmd.tasks) {
    const stored = existing.get(spec.task_id);
    if (stored) {
      if (!isDeepStrictEqual(specOf(stored), spec)) {
        throw new SjeError(ErrorCode.TASK_ID_CONFLICT, `task ${spec.task_id} already exists with a different spec`, { data: { task_id: spec.task_id } });
      }
      continue;
    }
    const record = newRecord(spec, cmd.workflow_id, uow.nowIso);
    uow.insert(record);
    uow.noteTransition(record, undefined);
    fresh.push(record);
  }
  for (const record of fresh) {
    recordEvent(uow, ctx.topology, buildEvent(record, undefined, uow.nowIso));
    if (cmd.workflow_id !== undefined) uow.registerWorkflow(cmd.workflow_id, cmd.template, record.tenant);
    const deps = await ctx.dependencies.evaluate(uow, record);
    record.deps_remaining = deps.remaining;
    if (deps.blockedBy !== undefined) {
      transition(uow, ctx.topology, record, 'skipped', { reason: deps.blockedBy });
      await ctx.dependencies.onFinal(uow, record);
      continue;
    }
    if (record.deps_remaining > 0) continue;
    if (record.not_before !== undefined && record.not_before > uow.nowIso) {
      uow.noteDue(record.not_before);
      continue;
    }
    await releaseTask(uow, ctx.topology, record, 'submitted');
  }
}
