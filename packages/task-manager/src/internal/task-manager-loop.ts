/**
 * The task-manager's command loop as the service composes it: the workflow
 * aggregates updated before each commit, events and grants grouped, then
 * dispatches grouped by the pools' live workers, the record cache, and the
 * assignment of due tasks to idle workers.
 * One place, so that `bench/loop-bench.ts` measures exactly what runs.
 */
import type { Logger, PluginHost, Topology } from '@sje/core';
import type { AssignmentBook } from './assignments.js';
import { CommandLoop } from './command-loop.js';
import { groupDispatches, type PoolView } from './dispatch-grouping.js';
import { groupMessages } from './message-grouping.js';
import type { OutboxPublisher } from './outbox-publisher.js';
import type { RecordCache } from './record-cache.js';
import type { StatusCounts } from './status-counts.js';
import type { TaskStore } from '@sje/store';
import type { WorkflowTracker } from './workflow-tracker.js';

/** What {@link createTaskManagerLoop} composes. */
export interface TaskManagerLoopParts {
  store: TaskStore;
  outbox: OutboxPublisher;
  plugins: PluginHost;
  logger: Logger;
  topology: Topology;
  workflows: WorkflowTracker;
  /** The live workers of a pool, which size its dispatch groups. */
  poolOf: (queue: string) => PoolView;
  /** Called after each committed batch with its earliest due time. */
  onCommitted?: (earliestDue: string | undefined) => void;
  recordCache?: RecordCache;
  /** Assignment of due tasks to idle workers; none: every task through its pool queue. */
  assignments?: AssignmentBook;
  /** Counts of tasks by status (the `sje_tasks` gauge). */
  statusCounts?: StatusCounts;
}

/** Builds the command loop of a task-manager. */
export function createTaskManagerLoop(parts: TaskManagerLoopParts): CommandLoop {
  const { topology } = parts;
  return new CommandLoop({
    store: parts.store,
    outbox: parts.outbox,
    plugins: parts.plugins,
    logger: parts.logger,
    beforeCommit: (uow) => parts.workflows.update(uow),
    ...(parts.onCommitted ? { onCommitted: parts.onCommitted } : {}),
    groupMessages: (messages) => groupDispatches(groupMessages(messages, topology), topology, parts.poolOf),
    ...(parts.recordCache ? { recordCache: parts.recordCache } : {}),
    ...(parts.assignments ? { assignments: parts.assignments } : {}),
    ...(parts.statusCounts ? { statusCounts: parts.statusCounts } : {}),
  });
}
