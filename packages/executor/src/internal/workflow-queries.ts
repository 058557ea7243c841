/**
 * Workflow and approval queries to the task-manager over request/reply
 * (`get_workflow`, `cancel_workflow`, `decide_approval`), with the reply
 * checked for shape and type.
 */
import type { ApprovalReply, CancelWorkflowQuery, DecideApprovalQuery, GetWorkflowQuery, WorkflowView } from '@sje/core';
import type { BrokerPort } from '../app-deps.js';
import { askTaskManager, invalidReply, isTaskView } from './task-manager-query.js';

function isWorkflowView(value: unknown, id: string): value is WorkflowView {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return v['workflow_id'] === id && typeof v['status'] === 'string' && Array.isArray(v['tasks']) && Array.isArray(v['edges']);
}

/** Asks the task-manager about workflows and approval gates. Every call waits at most `timeoutMs`. */
export class WorkflowQueries {
  constructor(
    private readonly broker: BrokerPort,
    private readonly timeoutMs: number,
  ) {}

  private async workflow(query: GetWorkflowQuery | CancelWorkflowQuery): Promise<WorkflowView | null> {
    const reply = await askTaskManager(this.broker, query, this.timeoutMs);
    if (reply.type !== 'workflow') throw invalidReply(`expected 'workflow', got '${reply.type}'`);
    if (reply.workflow === null) return null;
    if (!isWorkflowView(reply.workflow, query.workflow_id)) throw invalidReply(`the workflow is not ${query.workflow_id}`);
    return reply.workflow;
  }

  /**
   * The workflow's view, or `null` when the task-manager does not know it.
   * @throws BrokerUnavailableError; SjeError `TASK_MANAGER_UNAVAILABLE` on timeout, `MESSAGE_INVALID` on a bad reply.
   */
  async getWorkflow(workflowId: string): Promise<WorkflowView | null> {
    return await this.workflow({ type: 'get_workflow', workflow_id: workflowId });
  }

  /**
   * Cancels every task of the workflow that is not final and returns the
   * workflow's view afterwards, or `null` when it is unknown.
   * @throws as {@link WorkflowQueries.getWorkflow}.
   */
  async cancelWorkflow(workflowId: string): Promise<WorkflowView | null> {
    return await this.workflow({ type: 'cancel_workflow', workflow_id: workflowId });
  }

  /**
   * Approves or rejects an approval gate.
   * @throws as {@link WorkflowQueries.getWorkflow}.
   */
  async decideApproval(taskId: string, approve: boolean, comment?: string): Promise<ApprovalReply> {
    const query: DecideApprovalQuery = { type: 'decide_approval', task_id: taskId, approve };
    if (comment !== undefined) query.comment = comment;
    const reply = await askTaskManager(this.broker, query, this.timeoutMs);
    if (reply.type !== 'approval_result') throw invalidReply(`expected 'approval_result', got '${reply.type}'`);
    if (typeof reply.changed !== 'boolean') throw invalidReply("'changed' is missing");
    if (reply.task !== null && !isTaskView(reply.task, taskId)) throw invalidReply(`the task is not ${taskId}`);
    return reply;
  }
}
