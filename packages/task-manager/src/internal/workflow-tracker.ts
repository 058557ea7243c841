/**
 * Keeps each workflow's aggregate status: after every batch that touched a
 * workflow's tasks it recomputes the status and, when it changed, stores it
 * and publishes a `workflow.<status>` event.
 */
import { isFinalStatus, type TaskStatus, type Topology, type WorkflowEvent, type WorkflowStatus, type WorkflowTaskView, type WorkflowView } from '@sje/core';
import type { TaskRecord, TaskStore, WorkflowRecord } from '@sje/store';
import type { UnitOfWork } from './unit-of-work.js';

/**
 * The aggregate status of a workflow from its task counts: `failed` if any
 * failed or timed out, else `cancelled` if any was cancelled, else
 * `partially_succeeded` if any was skipped, else `succeeded` — once all are
 * final; before that `pending` while nothing has started, `running` otherwise.
 */
export function aggregateStatus(counts: Partial<Record<TaskStatus, number>>): WorkflowStatus {
  const n = (s: TaskStatus): number => counts[s] ?? 0;
  const total = Object.values(counts).reduce((a, b) => a + (b ?? 0), 0);
  if (total === 0) return 'pending';
  const final = (Object.entries(counts) as [TaskStatus, number][]).filter(([s]) => isFinalStatus(s)).reduce((a, [, v]) => a + v, 0);
  if (final < total) return n('pending') === total ? 'pending' : 'running';
  if (n('failed') + n('timed_out') > 0) return 'failed';
  if (n('cancelled') > 0) return 'cancelled';
  if (n('skipped') > 0) return 'partially_succeeded';
  return 'succeeded';
}

function counts(tasks: readonly TaskRecord[]): Partial<Record<TaskStatus, number>> {
  const out: Partial<Record<TaskStatus, number>> = {};
  for (const t of tasks) out[t.status] = (out[t.status] ?? 0) + 1;
  return out;
}

/** Builds the public view of a workflow. */
export function toWorkflowView(workflow: WorkflowRecord, tasks: readonly TaskRecord[]): WorkflowView {
  const members = new Set(tasks.map((t) => t.task_id));
  const view: WorkflowView = {
    workflow_id: workflow.workflow_id,
    status: workflow.status,
    counts: counts(tasks),
    total: tasks.length,
    tasks: tasks.map((t) => {
      const v: WorkflowTaskView = { task_id: t.task_id, function: t.function, status: t.status, attempt: t.attempt, depends_on: t.depends_on };
      if (t.result !== undefined) v.result = t.result;
      if (t.error !== undefined) v.error = t.error;
      return v;
    }),
    edges: tasks.flatMap((t) => t.depends_on.filter((d) => members.has(d)).map((d): [string, string] => [d, t.task_id])),
    created_at: workflow.created_at,
  };
  if (workflow.template !== undefined) view.template = workflow.template;
  if (workflow.finished_at !== undefined) view.finished_at = workflow.finished_at;
  if (workflow.tenant !== undefined) view.tenant = workflow.tenant;
  return view;
}

/** Recomputes workflow aggregates inside the command loop. */
export class WorkflowTracker {
  constructor(
    private readonly store: TaskStore,
    private readonly topology: Topology,
  ) {}

  /** Every task of a workflow, with this batch's changes. */
  async tasksOf(uow: UnitOfWork, workflowId: string): Promise<TaskRecord[]> {
    const stored = await this.store.getWorkflowTasks(workflowId);
    const ids = [...new Set([...stored.map((t) => t.task_id), ...uow.insertedTasksOf(workflowId)])];
    const current = await uow.getMany(ids);
    return ids.map((id) => current.get(id)).filter((t): t is TaskRecord => t !== undefined);
  }

  /** Updates the aggregates of the workflows a batch touched (call before committing it). */
  async update(uow: UnitOfWork): Promise<void> {
    for (const [workflowId, deltas] of uow.workflowDeltas) {
      let record = uow.workflows.get(workflowId) ?? (await this.store.getWorkflow(workflowId));
      const previous = record?.status;
      if (!record) {
        const created = uow.newWorkflows.get(workflowId);
        record = { workflow_id: workflowId, status: 'pending', total: 0, counts: {}, created_at: uow.nowIso };
        if (created?.template !== undefined) record.template = created.template;
        if (created?.tenant !== undefined) record.tenant = created.tenant;
      }
      const next: Partial<Record<TaskStatus, number>> = { ...record.counts };
      for (const [status, d] of deltas) {
        const v = (next[status] ?? 0) + d;
        if (v > 0) next[status] = v;
        else delete next[status];
      }
      record.counts = next;
      record.total = Object.values(next).reduce((a, b) => a + (b ?? 0), 0);
      const status = aggregateStatus(next);
      record.status = status;
      if (status !== 'pending' && status !== 'running') record.finished_at ??= uow.nowIso;
      else delete record.finished_at;
      uow.workflows.set(workflowId, record);
      if (status === previous) continue;
      const event: WorkflowEvent = { type: 'workflow_event', workflow_id: workflowId, status, counts: next, total: record.total, at: uow.nowIso };
      if (previous !== undefined) event.previous_status = previous;
      if (record.tenant !== undefined) event.tenant = record.tenant;
      uow.send({ exchange: this.topology.exchanges.events, routing_key: `workflow.${status}`, body: event });
    }
    uow.workflowDeltas.clear();
  }
}
