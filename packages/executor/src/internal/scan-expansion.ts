/**
 * Parameter scans: a task with `scan: { "param": [values...] }` becomes one
 * task per point of the cartesian product of the values (keys and values in
 * the order given, the first key varying slowest). Point `i` of the scan task
 * `s` is the task `s.<i>`: its params are the task's params plus the point's
 * values, its labels carry `scan_index: "<i>"`. A task of the same request
 * that depends on `s` depends on every point instead, in point order, so a
 * fan-in task receives every point's result.
 */
import { ErrorCode, SjeError, type TaskInput } from '@sje/core';

/** Longest task id (core's `TASK_ID_PATTERN`); a point id adds `.<i>` to its scan's id. */
const MAX_TASK_ID_LENGTH = 200;

/** The label every point of a scan carries: its index, as a decimal string. */
export const SCAN_INDEX_LABEL = 'scan_index';

/** One task of a request with the name of its place there (`tasks[2]`, or `''` for a single task). */
export interface SourcedInput {
  input: TaskInput;
  /** Where the task sits in the request body, for error fields. */
  field: string;
}

/** A task after scan expansion. */
export interface ExpandedInput {
  /** The task: no `scan`; points of a scan have their `task_id` set. */
  input: TaskInput;
  /** Where the task (or the scan it came from) sits in the request body. */
  field: string;
  /** Whether its id was chosen by the client (directly, or as the id of the scan it belongs to). */
  clientId: boolean;
}

/** Options of {@link expandScans}. */
export interface ExpandOptions {
  /** Most tasks the request may hold after expansion (`executor.max_batch`). */
  maxTasks: number;
  /** Generates the id of a scan task that has none. */
  newId: () => string;
}

function fieldOf(base: string, name: string): string {
  return base === '' ? name : `${base}.${name}`;
}

/** Number of points of a scan (the product of its value counts). */
export function scanSize(scan: Readonly<Record<string, readonly unknown[]>>): number {
  let size = 1;
  for (const values of Object.values(scan)) size *= values.length;
  return size;
}

/**
 * The points of a scan in order: the cartesian product of its values, keys
 * in the order given, the last key varying fastest.
 * @example
 * ```ts
 * scanPoints({ a: [1, 2], b: ['x', 'y'] });
 * // [{ a: 1, b: 'x' }, { a: 1, b: 'y' }, { a: 2, b: 'x' }, { a: 2, b: 'y' }]
 * ```
 */
export function scanPoints(scan: Readonly<Record<string, readonly unknown[]>>): Record<string, unknown>[] {
  let points: [string, unknown][][] = [[]];
  for (const [key, values] of Object.entries(scan)) {
    const next: [string, unknown][][] = [];
    for (const point of points) for (const value of values) next.push([...point, [key, value]]);
    points = next;
  }
  // Object.fromEntries defines own properties: a key such as `__proto__` stays plain data.
  return points.map((entries) => Object.fromEntries(entries) as Record<string, unknown>);
}

/**
 * Expands every scan of a request into its points and rewrites dependencies
 * on a scan task into dependencies on all its points.
 * @throws SjeError `BATCH_TOO_LARGE` when the request would hold more than
 * `maxTasks` tasks; `VALIDATION` when a point id would be invalid or a scan id
 * is also the id of another task.
 */
export function expandScans(inputs: readonly SourcedInput[], options: ExpandOptions): ExpandedInput[] {
  let count = 0;
  for (const { input } of inputs) count += input.scan === undefined ? 1 : scanSize(input.scan);
  if (count > options.maxTasks) {
    throw new SjeError(ErrorCode.BATCH_TOO_LARGE, `a request holds at most ${options.maxTasks} tasks after scan expansion, got ${count}`, {
      data: { max_batch: options.maxTasks, count },
    });
  }
  if (!inputs.some(({ input }) => input.scan !== undefined)) {
    return inputs.map(({ input, field }) => ({ input, field, clientId: input.task_id !== undefined }));
  }

  const plainIds = new Map<string, string>();
  for (const { input, field } of inputs) if (input.scan === undefined && input.task_id !== undefined) plainIds.set(input.task_id, field);
  const pointsOf = new Map<string, string[]>();
  const out: ExpandedInput[] = [];
  for (const { input, field } of inputs) {
    const { scan, ...rest } = input;
    if (scan === undefined) {
      out.push({ input, field, clientId: input.task_id !== undefined });
      continue;
    }
    const scanId = input.task_id ?? options.newId();
    const clash = plainIds.get(scanId) ?? (pointsOf.has(scanId) ? 'another scan' : undefined);
    if (clash !== undefined) {
      const reason = `duplicate task_id '${scanId}' (also ${clash})`;
      throw new SjeError(ErrorCode.VALIDATION, reason, { data: { field: fieldOf(field, 'task_id'), reason } });
    }
    const ids: string[] = [];
    scanPoints(scan).forEach((point, i) => {
      const id = `${scanId}.${i}`;
      if (id.length > MAX_TASK_ID_LENGTH) {
        const reason = `scan point id '${id}' would be longer than 200 characters: shorten the task_id`;
        throw new SjeError(ErrorCode.VALIDATION, reason, { data: { field: fieldOf(field, 'task_id'), reason } });
      }
      ids.push(id);
      const task: TaskInput = {
        ...rest,
        task_id: id,
        params: { ...(rest.params ?? {}), ...point },
        labels: { ...(rest.labels ?? {}), [SCAN_INDEX_LABEL]: String(i) },
      };
      out.push({ input: task, field, clientId: input.task_id !== undefined });
    });
    pointsOf.set(scanId, ids);
  }

  for (const entry of out) {
    const deps = entry.input.depends_on;
    if (deps === undefined || !deps.some((d) => pointsOf.has(d))) continue;
    entry.input = { ...entry.input, depends_on: [...new Set(deps.flatMap((d) => pointsOf.get(d) ?? [d]))] };
  }
  return out;
}
