/**
 * Checks of the dependency graph of one submit request: cycles among its
 * tasks, and references to tasks outside it.
 */
import type { TaskSpec } from '@sje/core';

/**
 * Finds a dependency cycle among `specs` (edges to tasks outside `specs` are
 * ignored). Returns the cycle as a path that starts and ends with the same
 * task (`['a', 'b', 'a']`; a self-dependency is `['a', 'a']`), or `undefined`.
 * Iterative, so a chain of thousands of tasks cannot overflow the stack.
 */
export function findCycle(specs: readonly TaskSpec[]): string[] | undefined {
  const byId = new Map(specs.map((s) => [s.task_id, s]));
  const ON_PATH = 1;
  const DONE = 2;
  const state = new Map<string, number>();
  for (const root of specs) {
    if (state.has(root.task_id)) continue;
    const path: { id: string; deps: readonly string[]; next: number }[] = [{ id: root.task_id, deps: root.depends_on, next: 0 }];
    state.set(root.task_id, ON_PATH);
    while (path.length > 0) {
      const top = path[path.length - 1]!;
      if (top.next >= top.deps.length) {
        state.set(top.id, DONE);
        path.pop();
        continue;
      }
      const dep = top.deps[top.next]!;
      top.next += 1;
      const target = byId.get(dep);
      if (target === undefined) continue;
      const seen = state.get(dep);
      if (seen === ON_PATH) {
        const start = path.findIndex((p) => p.id === dep);
        return [...path.slice(start).map((p) => p.id), dep];
      }
      if (seen === DONE) continue;
      state.set(dep, ON_PATH);
      path.push({ id: dep, deps: target.depends_on, next: 0 });
    }
  }
  return undefined;
}

/** The dependencies of `specs` that are not tasks of `specs`, each once, in first-mention order. */
export function externalDependencies(specs: readonly TaskSpec[]): string[] {
  const inRequest = new Set(specs.map((s) => s.task_id));
  const out = new Set<string>();
  for (const spec of specs) for (const dep of spec.depends_on) if (!inRequest.has(dep)) out.add(dep);
  return [...out];
}
