/**
 * `@sje/client`: the typed SDK web backends use to submit tasks to SJE, read
 * their status, cancel them, wait for them, run workflows (templates,
 * approval gates), and follow their events live.
 *
 * @example
 * ```ts
 * import { createClient, subscribeTaskEvents, SjeHttpError } from '@sje/client';
 *
 * const sje = createClient({ baseUrl: 'http://127.0.0.1:8080' });
 * const { task_id } = await sje.submit({ function: 'resize_image', params: { url: 'https://example.com/a.png' } });
 * const done = await sje.waitFor(task_id, { timeoutMs: 60_000 });
 * console.log(done.status, done.result);
 *
 * const { workflow_id } = await sje.submitTemplate('daily_etl', { date: '2024-05-01' });
 * const workflow = await sje.waitForWorkflow(workflow_id, { timeoutMs: 600_000 });
 * console.log(workflow.status, workflow.counts);
 *
 * const sub = await subscribeTaskEvents({ pattern: 'task.failed.*', onEvent: (e) => console.warn(e.task_id, e.error) });
 * await sub.close();
 * ```
 * @module
 */
export { createClient } from './client.js';
export type { AcceptedTaskView, ApprovalResult, BatchResult, CancelResult, ClientOptions, SjeClient, SubmitResult, TaskStatusView, WaitOptions } from './client.js';
export type { WorkflowStatus, WorkflowTaskView, WorkflowView } from '@sje/core';
export { ClientErrorCode, SjeHttpError } from './errors.js';
export type { SjeHttpErrorOptions } from './errors.js';
export { subscribeTaskEvents } from './task-events.js';
export type { SubscribeTaskEventsOptions, TaskEventSubscription } from './task-events.js';
