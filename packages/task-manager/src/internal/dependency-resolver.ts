/**
 * Dependency resolution: counts what a new task waits for, and when a task
 * ends, releases or skips the tasks that depend on it according to their
 * trigger rule (`all_success`: every dependency must succeed; `all_done`:
 * every dependency must be final, whatever its outcome).
 */
import { isFinalStatus, type TaskStatus, type Topology } from '@sje/core';
import { isDue, releaseTask } from './dispatcher.js';
import type { TaskRecord } from '@sje/store';
import { transition } from './transitions.js';
import type { UnitOfWork } from './unit-of-work.js';

/** Final statuses that make `all_success` dependents `skipped`. */
const BLOCKING: ReadonlySet<TaskStatus> = new Set<TaskStatus>(['failed', 'timed_out', 'cancelled', 'skipped']);

/** The dependency state of a new task. */
export interface InitialDependencies {
  /** Dependencies still to wait for. */
  remaining: number;
  /** Why the task cannot ever run (a dependency failed or is unknown). */
  blockedBy?: string;
}

function waitsForAll(record: TaskRecord): boolean {
  return record.trigger_rule === 'all_done';
}

/** Resolves dependencies between tasks inside the command loop. */
export class DependencyResolver {
  constructor(private readonly topology: Topology) {}

  /** Counts the dependencies of a new task (batch siblings must already be in the unit of work). */
  async evaluate(uow: UnitOfWork, record: TaskRecord): Promise<InitialDependencies> {
    const deps = await uow.getMany(record.depends_on);
    for (const dep of deps.values()) {
      if (dep.has_dependents === true) continue;
      dep.has_dependents = true;
      uow.touch(dep);
    }
    let remaining = 0;
    for (const id of record.depends_on) {
      const dep = deps.get(id);
      if (!dep) return { remaining, blockedBy: `unknown dependency ${id}` };
      if (waitsForAll(record)) {
        if (!isFinalStatus(dep.status)) remaining += 1;
        continue;
      }
      if (BLOCKING.has(dep.status)) return { remaining, blockedBy: `dependency ${id} ${dep.status}` };
      if (dep.status !== 'succeeded') remaining += 1;
    }
    return { remaining };
  }

  /**
   * A task reached a final status: each waiting dependent either counts it
   * as met (and runs once nothing is left) or is skipped, and so on down.
   */
  async onFinal(uow: UnitOfWork, record: TaskRecord): Promise<void> {
    const stack: TaskRecord[] = [record];
    while (stack.length > 0) {
      const upstream = stack.pop() as TaskRecord;
      if (upstream.has_dependents === false) continue;
      const ids = await uow.getDependents(upstream.task_id);
      const dependents = await uow.getMany(ids);
      for (const id of ids) {
        const d = dependents.get(id);
        if (!d || d.status !== 'pending') continue;
        if (upstream.status === 'succeeded' || waitsForAll(d)) {
          d.deps_remaining = Math.max(0, d.deps_remaining - 1);
          uow.touch(d);
          if (isDue(d, uow.nowIso)) {
            await releaseTask(uow, this.topology, d, 'dependencies met');
            if (isFinalStatus(d.status)) stack.push(d);
          } else if (d.deps_remaining === 0 && d.not_before !== undefined) uow.noteDue(d.not_before);
        } else {
          transition(uow, this.topology, d, 'skipped', { reason: `dependency ${upstream.task_id} ${upstream.status}` });
          stack.push(d);
        }
      }
    }
  }
}
