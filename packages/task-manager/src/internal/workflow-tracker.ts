/**
 * Keeps each workflow's aggregate status: after every batch that touched a
 * workflow's tasks it recomputes the status and, when it changed, stores it
 * and publishes a `workflow.<status>` event.
 */
import { isFinalStatus, type TaskStatus, type Topology, type WorkflowEvent, type WorkflowStatus, type WorkflowTaskView, type WorkflowView } from '@sje/core';
import type { TaskRecord, WorkflowRecord } from './store/task-record.js';
import type { TaskStore } from './store/task-store.js';
import type { UnitOfWork } from './unit-of-work.js';

/**
 * The aggregate status of a set of tasks: `failed` if any failed or timed
 * out, else `cancelled` if any was cancelled, else `partially_succeeded` if
 * any was skipped, else `succeeded` — once all are final; before that
 * `pending` while nothing has started, `running` otherwise.
 */
export function aggregateStatus(statuses: readonly TaskStatus[]): WorkflowStatus {
  if (statuses.length === 0) return 'pending';
  if (!statuses.every((s) => isFinalStatus(s))) return statuses.every((s) => s === 'pending') ? 'pending' : 'running';
  if (statuses.some((s) => s === 'failed' || s === 'timed_out')) return 'failed';
  if (statuses.some((s) => s === 'cancelled')) return 'cancelled';
  if (statuses.some((s) => s === 'skipped')) return 'partially_succeeded';
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
    for (const workflowId of uow.touchedWorkflows()) {
      const created = uow.newWorkflows.get(workflowId);
      let record = uow.workflows.get(workflowId) ?? (await this.store.getWorkflow(workflowId));
      const previous = record?.status;
      if (!record) {
        record = { workflow_id: workflowId, status: 'pending', total: created?.total ?? 0, created_at: uow.nowIso };
        if (created?.template !== undefined) record.template = created.template;
      }
      const tasks = await this.tasksOf(uow, workflowId);
      const status = aggregateStatus(tasks.map((t) => t.status));
      if (status === previous && record.total === tasks.length) continue;
      record.status = status;
      record.total = tasks.length;
      if (status !== 'pending' && status !== 'running') record.finished_at ??= uow.nowIso;
      else delete record.finished_at;
      uow.workflows.set(workflowId, record);
      if (status === previous) continue;
      const event: WorkflowEvent = { type: 'workflow_event', workflow_id: workflowId, status, counts: counts(tasks), total: tasks.length, at: uow.nowIso };
      if (previous !== undefined) event.previous_status = previous;
      uow.send({ exchange: this.topology.exchanges.events, routing_key: `workflow.${status}`, body: event });
    }
  }
}
