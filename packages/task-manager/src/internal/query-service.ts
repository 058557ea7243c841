/**
 * Answers the executors' queries: `get_tasks` straight from the store,
 * `cancel_task` through the command loop (it writes).
 */
import { serializeError, type ApprovalReply, type Broker, type CancelTaskReply, type WorkflowReply, type Delivery, type GetTasksReply, type Logger, type TaskManagerQuery, type TaskManagerReply } from '@sje/core';
import type { CommandLoop } from './command-loop.js';
import { applyApproval } from './commands/approval.js';
import { applyCancel, applyCancelWorkflow } from './commands/cancel.js';
import type { CommandContext } from './commands/command-context.js';
import { toView } from './store/task-record.js';
import type { TaskStore } from './store/task-store.js';
import { toWorkflowView, type WorkflowTracker } from './workflow-tracker.js';

/** Serves queries arriving on the queries queue. */
export class QueryService {
  constructor(
    private readonly broker: Broker,
    private readonly store: TaskStore,
    private readonly loop: CommandLoop,
    private readonly ctx: CommandContext,
    private readonly workflows: WorkflowTracker,
    private readonly logger: Logger,
  ) {}

  private async workflowReply(workflowId: string): Promise<WorkflowReply> {
    const record = await this.store.getWorkflow(workflowId);
    if (!record) return { type: 'workflow', workflow: null };
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
    await this.broker.reply(delivery.raw, reply).catch(() => undefined);
  }

  private async answer(query: TaskManagerQuery): Promise<TaskManagerReply> {
    switch (query.type) {
      case 'get_tasks': {
        const found = await this.store.getTasks(query.task_ids);
        const reply: GetTasksReply = { type: 'tasks', tasks: query.task_ids.map((id) => { const r = found.get(id); return r ? toView(r) : null; }) };
        return reply;
      }
      case 'cancel_task': {
        const result = await this.loop.run((uow) => applyCancel(uow, this.ctx, query.task_id));
        const reply: CancelTaskReply = { type: 'cancel_result', task: result.record ? toView(result.record) : null, changed: result.changed };
        if (result.previous !== undefined) reply.previous_status = result.previous;
        return reply;
      }
      case 'get_workflow':
        return this.workflowReply(query.workflow_id);
      case 'cancel_workflow': {
        const exists = await this.store.getWorkflow(query.workflow_id);
        if (!exists) return { type: 'workflow', workflow: null };
        await this.loop.run(async (uow) => {
          const tasks = await this.workflows.tasksOf(uow, query.workflow_id);
          return applyCancelWorkflow(uow, this.ctx, tasks.map((t) => t.task_id));
        });
        return this.workflowReply(query.workflow_id);
      }
      case 'decide_approval': {
        const result = await this.loop.run((uow) => applyApproval(uow, this.ctx, query.task_id, query.approve, query.comment));
        const reply: ApprovalReply = { type: 'approval_result', task: result.record ? toView(result.record) : null, changed: result.changed };
        if (result.previous !== undefined) reply.previous_status = result.previous;
        return reply;
      }
    }
  }
}
