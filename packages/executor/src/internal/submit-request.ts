/**
 * Turns a `POST /submit` body into task specs: one task or a `{ tasks: [...] }`
 * batch, each checked against core's task input schema, with parameter scans
 * expanded and every default filled in. Specs are built field by field:
 * nothing from the request is merged into an existing object, and
 * `params`/`labels` are carried as the plain data `JSON.parse` produced (a
 * scan point's are new objects holding copies of their own properties).
 */
import { ErrorCode, SjeError, taskInputSchema, uuidv7, validators, type TaskInput, type TaskSpec, type TaskStatus } from '@sje/core';
import { expandScans, SCAN_INDEX_LABEL, type SourcedInput } from './scan-expansion.js';

/** A validated submit request. */
export interface SubmitRequest {
  /** `single`: one task at the top level; `batch`: a `{ tasks: [...] }` workflow, a scan, or a template. */
  kind: 'single' | 'batch';
  /** The tasks with every default filled in, in request order. */
  specs: TaskSpec[];
  /** Task ids the client chose (idempotency keys), in request order. */
  clientIds: string[];
  /** The workflow id chosen while parsing (a template submit prefixes its task ids with it). */
  workflowId?: string;
  /** The workflow template the request named. */
  template?: string;
}

/** The function name of an approval gate submitted without one. */
export const APPROVAL_FUNCTION = 'approval';

function validationError(field: string, reason: string, message = reason): SjeError {
  return new SjeError(ErrorCode.VALIDATION, message, { data: { field, reason } });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Fills in the defaults of one validated task input. */
export function toTaskSpec(input: TaskInput, newId: () => string = uuidv7): TaskSpec {
  const spec: TaskSpec = {
    task_id: input.task_id ?? newId(),
    // An approval gate runs no handler; it is recorded under a fixed function name.
    function: input.function ?? APPROVAL_FUNCTION,
    params: input.params ?? {},
    queue: input.queue ?? 'default',
    priority: input.priority ?? 0,
    depends_on: input.depends_on ?? [],
    labels: input.labels ?? {},
  };
  if (input.kind !== undefined) spec.kind = input.kind;
  if (input.trigger_rule !== undefined) spec.trigger_rule = input.trigger_rule;
  if (input.retry !== undefined) spec.retry = input.retry;
  if (input.timeout_ms !== undefined) spec.timeout_ms = input.timeout_ms;
  if (input.delay_ms !== undefined) spec.delay_ms = input.delay_ms;
  return spec;
}

/** The status a newly accepted task starts in: `queued`, or `pending` when it waits for dependencies or a delay. */
export function initialStatus(spec: TaskSpec): Extract<TaskStatus, 'pending' | 'queued'> {
  return spec.depends_on.length === 0 && spec.delay_ms === undefined && spec.kind !== 'approval' ? 'queued' : 'pending';
}

function validateBatchTask(value: unknown, index: number): TaskInput {
  const check = validators.taskInput(value);
  if (check.ok) return check.value;
  const inner = check.field ?? '';
  const field = inner === '' ? `tasks[${index}]` : `tasks[${index}].${inner}`;
  throw validationError(field, check.reason, `tasks[${index}]: ${check.reason}`);
}

/** Most dependencies of one task, and most labels (limits of the task schema). */
const MAX_DEPENDENCIES = taskInputSchema.properties.depends_on.maxItems;
const MAX_LABELS = taskInputSchema.properties.labels.maxProperties;

/**
 * Turns the validated tasks of a request into specs: expands parameter scans
 * (see `scan-expansion.ts`), fills defaults and refuses duplicate ids.
 * @throws SjeError `VALIDATION` or `BATCH_TOO_LARGE`.
 */
export function buildSpecs(inputs: readonly SourcedInput[], maxBatch: number, newId: () => string = uuidv7): Pick<SubmitRequest, 'specs' | 'clientIds'> {
  const expanded = expandScans(inputs, { maxTasks: maxBatch, newId });
  const specs: TaskSpec[] = [];
  const clientIds: string[] = [];
  const seen = new Map<string, string>();
  for (const { input, field, clientId } of expanded) {
    const spec = toTaskSpec(input, newId);
    const at = (name: string): string => (field === '' ? name : `${field}.${name}`);
    const first = seen.get(spec.task_id);
    if (first !== undefined) throw validationError(at('task_id'), `duplicate task_id '${spec.task_id}' (also ${first})`);
    seen.set(spec.task_id, field === '' ? 'the request' : field);
    // A scan can push a fan-in task's dependencies, or a point's labels, past the schema's limits.
    if (spec.depends_on.length > MAX_DEPENDENCIES) {
      throw validationError(at('depends_on'), `task ${spec.task_id} would depend on ${spec.depends_on.length} tasks after scan expansion; at most ${MAX_DEPENDENCIES} are allowed`);
    }
    if (Object.keys(spec.labels).length > MAX_LABELS) {
      throw validationError(at('labels'), `task ${spec.task_id} would have more than ${MAX_LABELS} labels with '${SCAN_INDEX_LABEL}'`);
    }
    specs.push(spec);
    if (clientId) clientIds.push(spec.task_id);
  }
  return { specs, clientIds };
}

/**
 * Validates a submit body and fills defaults. A single task with a `scan`
 * becomes a batch of its points.
 * @throws SjeError `VALIDATION` (with `field` and `reason` in its data) or `BATCH_TOO_LARGE`.
 */
export function parseSubmitRequest(body: unknown, maxBatch: number, newId: () => string = uuidv7): SubmitRequest {
  if (!isPlainObject(body)) throw validationError('', 'the request body must be a JSON object');
  if (!Object.hasOwn(body, 'tasks')) {
    const check = validators.taskInput(body);
    if (!check.ok) throw validationError(check.field ?? '', check.reason);
    if (check.value.scan !== undefined) return { kind: 'batch', ...buildSpecs([{ input: check.value, field: '' }], maxBatch, newId) };
    const spec = toTaskSpec(check.value, newId);
    return { kind: 'single', specs: [spec], clientIds: check.value.task_id === undefined ? [] : [spec.task_id] };
  }
  for (const key of Object.keys(body)) {
    if (key !== 'tasks') throw validationError(key, `unknown field '${key}': a batch holds only 'tasks'`);
  }
  const tasks = body['tasks'];
  if (!Array.isArray(tasks)) throw validationError('tasks', "'tasks' must be an array of tasks");
  if (tasks.length === 0) throw validationError('tasks', "'tasks' must not be empty");
  if (tasks.length > maxBatch) {
    throw new SjeError(ErrorCode.BATCH_TOO_LARGE, `a batch holds at most ${maxBatch} tasks, got ${tasks.length}`, {
      data: { max_batch: maxBatch, count: tasks.length },
    });
  }
  const inputs = tasks.map((task: unknown, i): SourcedInput => ({ input: validateBatchTask(task, i), field: `tasks[${i}]` }));
  return { kind: 'batch', ...buildSpecs(inputs, maxBatch, newId) };
}
