/**
 * Dependency resolution: counts what a new task waits for, unlocks
 * dependents when a task succeeds, and skips them when it ends otherwise.
 */
import type { TaskStatus, Topology } from '@sje/core';
import { enqueueTask, isDue } from './dispatcher.js';
import type { TaskRecord } from './store/task-record.js';
import { transition } from './transitions.js';
import type { UnitOfWork } from './unit-of-work.js';

/** Final statuses that make dependents `skipped`. */
const BLOCKING: ReadonlySet<TaskStatus> = new Set<TaskStatus>(['failed', 'timed_out', 'cancelled', 'skipped']);

/** The dependency state of a new task. */
export interface InitialDependencies {
  /** Dependencies not yet succeeded. */
  remaining: number;
  /** Why the task cannot ever run (a dependency failed or is unknown). */
  blockedBy?: string;
}

/** Resolves dependencies between tasks inside the command loop. */
export class DependencyResolver {
  constructor(private readonly topology: Topology) {}

  /** Counts the dependencies of a new task (batch siblings must already be in the unit of work). */
  async evaluate(uow: UnitOfWork, record: TaskRecord): Promise<InitialDependencies> {
    const deps = await uow.getMany(record.depends_on);
    let remaining = 0;
    for (const id of record.depends_on) {
      const dep = deps.get(id);
      if (!dep) return { remaining, blockedBy: `unknown dependency ${id}` };
      if (BLOCKING.has(dep.status)) return { remaining, blockedBy: `dependency ${id} ${dep.status}` };
      if (dep.status !== 'succeeded') remaining += 1;
    }
    return { remaining };
  }

  /** A task succeeded: dependents with nothing left to wait for are queued. */
  async onSucceeded(uow: UnitOfWork, record: TaskRecord): Promise<void> {
    const ids = await uow.getDependents(record.task_id);
    const dependents = await uow.getMany(ids);
    for (const id of ids) {
      const d = dependents.get(id);
      if (!d || d.status !== 'pending') continue;
      d.deps_remaining = Math.max(0, d.deps_remaining - 1);
      uow.touch(d);
      if (isDue(d, uow.nowIso)) await enqueueTask(uow, this.topology, d, { newAttempt: true, reason: 'dependencies met' });
      else if (d.deps_remaining === 0 && d.not_before !== undefined) uow.noteDue(d.not_before);
    }
  }

  /** A task ended without success: its waiting dependents (and theirs) are skipped. */
  async onBlocked(uow: UnitOfWork, record: TaskRecord): Promise<void> {
    const stack: TaskRecord[] = [record];
    while (stack.length > 0) {
      const upstream = stack.pop() as TaskRecord;
      const ids = await uow.getDependents(upstream.task_id);
      const dependents = await uow.getMany(ids);
      for (const id of ids) {
        const d = dependents.get(id);
        if (!d || d.status !== 'pending') continue;
        transition(uow, this.topology, d, 'skipped', { reason: `dependency ${upstream.task_id} ${upstream.status}` });
        stack.push(d);
      }
    }
  }
}
