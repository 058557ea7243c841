/**
 * Answers the executors' queries: `get_tasks` straight from the store,
 * `cancel_task`, `cancel_workflow` and `decide_approval` through the command
 * loop (they write), `get_functions` from the worker registry. A query that
 * names a tenant sees only that tenant's tasks and workflows: anything else
 * is answered exactly as an unknown id.
 */
import {
  serializeError,
  type ApprovalReply,
  type Broker,
  type CancelTaskReply,
  type Delivery,
  type FunctionsReply,
  type GetTasksReply,
  type Logger,
  type TaskManagerQuery,
  type TaskManagerReply,
  type TaskStatus,
  type TaskView,
  type WorkerInfo,
  type WorkflowReply,
} from '@sje/core';
import type { CommandLoop } from './command-loop.js';
import { applyApproval, type ApprovalResult } from './commands/approval.js';
import { applyCancel, applyCancelWorkflow, type CancelResult } from './commands/cancel.js';
import type { CommandContext } from './commands/command-context.js';
import { type TaskStore, toView, visibleTo } from '@sje/store';
import type { UnitOfWork } from './unit-of-work.js';
import { toWorkflowView, type WorkflowTracker } from './workflow-tracker.js';

/** Where the query service learns which workers are online. */
export interface WorkerDirectory {
  readonly online: WorkerInfo[];
}

/** For each queue, the sorted functions some online worker taking from it registered. */
export function functionsByQueue(workers: readonly WorkerInfo[]): Record<string, string[]> {
  const byQueue = new Map<string, Set<string>>();
  for (const w of workers) {
    for (const q of w.queues) {
      const set = byQueue.get(q) ?? new Set<string>();
      for (const fn of w.functions) set.add(fn);
      byQueue.set(q, set);
    }
  }
  const out: Record<string, string[]> = {};
  for (const [q, fns] of [...byQueue].sort(([a], [b]) => a.localeCompare(b))) out[q] = [...fns].sort();
  return out;
}

/** Serves queries arriving on the queries queue. */
export class QueryService {
  constructor(
    private readonly broker: Broker,
    private readonly store: TaskStore,
    private readonly loop: CommandLoop,
    private readonly ctx: CommandContext,
    private readonly workflows: WorkflowTracker,
    private readonly logger: Logger,
    private readonly workers: WorkerDirectory,
  ) {}

  /**
   * Applies a change to one task through the loop when the caller may see it,
   * and describes the outcome for the reply (`task: null` when unknown or hidden).
   */
  private async changeVisibleTask(
    taskId: string,
    tenant: string | undefined,
    apply: (uow: UnitOfWork) => Promise<CancelResult | ApprovalResult>,
  ): Promise<{ task: TaskView | null; changed: boolean; previous_status?: TaskStatus }> {
    const result = await this.loop.run(async (uow): Promise<CancelResult | ApprovalResult> =>
      (await QueryService.visible(uow, taskId, tenant)) ? apply(uow) : { record: undefined, changed: false },
    );
    const out: { task: TaskView | null; changed: boolean; previous_status?: TaskStatus } = {
      task: result.record ? toView(result.record) : null,
      changed: result.changed,
    };
    if (result.previous !== undefined) out.previous_status = result.previous;
    return out;
  }

  private async workflowReply(workflowId: string, tenant: string | undefined): Promise<WorkflowReply> {
    const record = await this.store.getWorkflow(workflowId);
    if (!record || !visibleTo(tenant, record.tenant)) return { type: 'workflow', workflow: null };
    return { type: 'workflow', workflow: toWorkflowView(record, await this.store.getWorkflowTasks(workflowId)) };
  }

  /** Consumer handler for the queries queue. */
  async handle(query: TaskManagerQuery, delivery: Delivery): Promise<void> {
    let reply: TaskManagerReply;
    try {
      reply = await this.answer(query);
    } catch (err) {
      this.logger.warn('query failed', { type: query.type, err: (err as Error).message });
      reply = { type: 'error', error: serializeError(err) };
    }
    // Not caught: a reply that cannot be sent puts the query back (see Broker.reply), to be answered again.
    await this.broker.reply(delivery.raw, reply);
  }

  /** Whether the task `taskId` exists and the tenant may see it (read inside the batch, so the answer and the change agree). */
  private static async visible(uow: UnitOfWork, taskId: string, tenant: string | undefined): Promise<boolean> {
    const record = await uow.get(taskId);
    return record !== undefined && visibleTo(tenant, record.tenant);
  }

  private async answer(query: TaskManagerQuery): Promise<TaskManagerReply> {
    switch (query.type) {
      case 'get_tasks': {
        const found = await this.store.getTasks(query.task_ids);
        const reply: GetTasksReply = {
          type: 'tasks',
          tasks: query.task_ids.map((id) => {
            const r = found.get(id);
            return r && visibleTo(query.tenant, r.tenant) ? toView(r) : null;
          }),
        };
        return reply;
      }
      case 'cancel_task': {
        const reply: CancelTaskReply = {
          type: 'cancel_result',
          ...(await this.changeVisibleTask(query.task_id, query.tenant, (uow) => applyCancel(uow, this.ctx, query.task_id))),
        };
        return reply;
      }
      case 'get_workflow':
        return this.workflowReply(query.workflow_id, query.tenant);
      case 'cancel_workflow': {
        const exists = await this.store.getWorkflow(query.workflow_id);
        if (!exists || !visibleTo(query.tenant, exists.tenant)) return { type: 'workflow', workflow: null };
        await this.loop.run(async (uow) => {
          const tasks = await this.workflows.tasksOf(uow, query.workflow_id);
          return applyCancelWorkflow(
            uow,
            this.ctx,
            tasks.map((t) => t.task_id),
          );
        });
        return this.workflowReply(query.workflow_id, query.tenant);
      }
      case 'decide_approval': {
        const reply: ApprovalReply = {
          type: 'approval_result',
          ...(await this.changeVisibleTask(query.task_id, query.tenant, (uow) =>
            applyApproval(uow, this.ctx, query.task_id, query.approve, query.comment),
          )),
        };
        return reply;
      }
      case 'get_functions': {
        const reply: FunctionsReply = { type: 'functions', queues: functionsByQueue(this.workers.online) };
        return reply;
      }
    }
  }
}
