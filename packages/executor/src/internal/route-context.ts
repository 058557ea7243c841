/**
 * What every route handler shares: the configuration, the broker and
 * task-manager clients, the accepted-task memory and the error writer.
 */
import type { Response } from 'express';
import type { AppDeps } from '../app-deps.js';
import type { AcceptedTasks } from './accepted-tasks.js';
import type { CommandPublisher } from './confirmed-publish.js';
import type { HttpMetrics } from './http-metrics.js';
import type { SubmitService } from './submit-service.js';
import type { TaskManagerClient } from './task-manager-client.js';

/** Shared state of the route handlers of one app. */
export interface RouteContext {
  deps: AppDeps;
  taskManager: TaskManagerClient;
  accepted: AcceptedTasks;
  submit: SubmitService;
  /** Sends commands to the task-manager in order (submits of concurrent requests coalesced). */
  commands: CommandPublisher;
  isShuttingDown: () => boolean;
  metrics: HttpMetrics;
  /** Answers with the JSON error of `err` (see `http-errors.ts`). */
  fail(res: Response, err: unknown, unknownCodeStatus?: number): void;
}
