/**
 * Workflow templates (`config.workflows`): checked once at start-up, then
 * instantiated per request with the caller's parameters.
 *
 * A template is `{ description?, params?: defaults, tasks: [...] }`. Every
 * string in its tasks may hold `${params.x}` placeholders. Task ids inside a
 * template are local names: each instance prefixes them (and every
 * `depends_on`) with its workflow id, so a template can be submitted any
 * number of times.
 */
import { ConfigError, ErrorCode, SjeError, taskInputSchema, validators, type TaskInput } from '@sje/core';
import { findCycle } from './dependency-graph.js';
import type { SourcedInput } from './scan-expansion.js';
import { exampleValue, schemaAt } from './schema-example.js';
import { toTaskSpec } from './submit-request.js';
import { findPlaceholders, formatPath, substitute, type PathStep } from './template-placeholders.js';

/** A checked template. */
export interface WorkflowTemplate {
  readonly name: string;
  readonly description?: string;
  /** Parameter defaults. */
  readonly defaults: Readonly<Record<string, unknown>>;
  /** The task templates, as configured. */
  readonly tasks: readonly Readonly<Record<string, unknown>>[];
  /** Every parameter a placeholder names. */
  readonly parameters: ReadonlySet<string>;
}

/** Longest local task id: a UUIDv7 workflow id and a dot go in front, and a task id holds at most 200 characters. */
export const MAX_LOCAL_ID_LENGTH = 200 - 37;

const TEMPLATE_NAME = /^[A-Za-z0-9_.:-]{1,200}$/;
const TEMPLATE_KEYS = new Set(['description', 'params', 'tasks']);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function validationError(field: string, reason: string, message = reason): SjeError {
  return new SjeError(ErrorCode.VALIDATION, message, { data: { field, reason } });
}

/**
 * Checks one configured template: its shape, every task against the task
 * schema (placeholders replaced by their defaults, or by a value of the type
 * the schema expects where they have none), unique local ids, `depends_on`
 * naming only local ids, and no dependency cycle.
 * @throws ConfigError naming the template (`workflows.<name>`) and the problem.
 */
export function compileTemplate(name: string, raw: unknown): WorkflowTemplate {
  const fail = (problem: string): ConfigError =>
    new ConfigError(`workflow template workflows.${name}: ${problem}`, { key: `workflows.${name}`, template: name });
  if (!TEMPLATE_NAME.test(name)) throw fail('the name must be 1-200 characters of [A-Za-z0-9_.:-]');
  if (!isPlainObject(raw)) throw fail('must be a mapping with a tasks list');
  for (const key of Object.keys(raw))
    if (!TEMPLATE_KEYS.has(key)) throw fail(`unknown key '${key}' (a template holds description, params and tasks)`);
  const description = raw['description'];
  if (description !== undefined && typeof description !== 'string') throw fail('description must be a string');
  const defaults = raw['params'] ?? {};
  if (!isPlainObject(defaults)) throw fail('params must be a mapping of parameter name to default value');
  const tasks = raw['tasks'];
  if (!Array.isArray(tasks) || tasks.length === 0) throw fail('tasks must be a non-empty list of tasks');

  const parameters = new Set<string>();
  const localIds = new Map<string, number>();
  const inputs: TaskInput[] = [];
  tasks.forEach((task: unknown, i) => {
    if (!isPlainObject(task)) throw fail(`tasks[${i}] must be a mapping`);
    for (const p of findPlaceholders(task)) {
      const step = p.path[0];
      if (step === 'task_id' || step === 'depends_on')
        throw fail(`tasks[${i}].${formatPath(p.path)}: a local task id cannot hold a placeholder`);
      parameters.add(p.name);
    }
    const dummy = substitute(task, (param, path, whole) => {
      if (Object.hasOwn(defaults, param)) return defaults[param];
      return whole ? exampleValue(schemaAt(taskInputSchema, path)) : 'x';
    });
    const check = validators.taskInput(dummy);
    if (!check.ok) throw fail(`tasks[${i}]: ${check.reason}`);
    const id = check.value.task_id;
    if (id !== undefined) {
      const first = localIds.get(id);
      if (first !== undefined) throw fail(`tasks[${i}]: duplicate task_id '${id}' (also tasks[${first}])`);
      if (id.length > MAX_LOCAL_ID_LENGTH)
        throw fail(`tasks[${i}]: task_id '${id}' is longer than ${MAX_LOCAL_ID_LENGTH} characters (the workflow id goes in front of it)`);
      localIds.set(id, i);
    }
    inputs.push(check.value);
  });
  inputs.forEach((input, i) => {
    for (const dep of input.depends_on ?? []) {
      if (!localIds.has(dep)) throw fail(`tasks[${i}].depends_on names '${dep}', which is not a task of this template`);
    }
  });
  let n = 0;
  const cycle = findCycle(inputs.map((input) => toTaskSpec(input, () => `#unnamed-${++n}`)));
  if (cycle) throw fail(`dependency cycle ${cycle.join(' -> ')}`);

  const template: { -readonly [K in keyof WorkflowTemplate]: WorkflowTemplate[K] } = {
    name,
    defaults,
    tasks: tasks as Record<string, unknown>[],
    parameters,
  };
  if (description !== undefined) template.description = description;
  return template;
}

/**
 * The tasks of one instance of `template`: placeholders replaced by
 * `params` (over the template's defaults), local ids prefixed with
 * `workflowId`.
 * @throws SjeError `VALIDATION` for a missing or unknown parameter, or a
 * parameter value that makes a task invalid.
 */
export function instantiateTemplate(
  template: WorkflowTemplate,
  params: Readonly<Record<string, unknown>>,
  workflowId: string,
): SourcedInput[] {
  for (const key of Object.keys(params)) {
    if (!template.parameters.has(key) && !Object.hasOwn(template.defaults, key)) {
      throw validationError(`params.${key}`, `template '${template.name}' has no parameter '${key}'`);
    }
  }
  const local = (id: string): string => `${workflowId}.${id}`;
  return template.tasks.map((task, i) => {
    const resolve = (name: string, path: PathStep[]): unknown => {
      if (Object.hasOwn(params, name)) return params[name];
      if (Object.hasOwn(template.defaults, name)) return template.defaults[name];
      throw validationError(`params.${name}`, `template '${template.name}' needs params.${name} (used in tasks[${i}].${formatPath(path)})`);
    };
    const check = validators.taskInput(substitute(task, resolve));
    if (!check.ok) {
      const field = check.field === undefined || check.field === '' ? `tasks[${i}]` : `tasks[${i}].${check.field}`;
      throw validationError(field, check.reason, `template '${template.name}' tasks[${i}] with these params: ${check.reason}`);
    }
    const input: TaskInput = { ...check.value };
    if (input.task_id !== undefined) input.task_id = local(input.task_id);
    if (input.depends_on !== undefined) input.depends_on = input.depends_on.map(local);
    return { input, field: `tasks[${i}]` };
  });
}

/** The configured templates, checked. */
export class TemplateCatalog {
  private constructor(private readonly byName: ReadonlyMap<string, WorkflowTemplate>) {}

  /** A catalog without templates. */
  static readonly empty = new TemplateCatalog(new Map());

  /**
   * Checks every template of `config.workflows`.
   * @throws ConfigError naming the first invalid template and its problem.
   */
  static fromConfig(workflows: Readonly<Record<string, unknown>>): TemplateCatalog {
    return new TemplateCatalog(new Map(Object.entries(workflows).map(([name, raw]) => [name, compileTemplate(name, raw)])));
  }

  /** The template `name`, if configured. */
  get(name: string): WorkflowTemplate | undefined {
    return this.byName.get(name);
  }

  /** Names of every template. */
  get names(): string[] {
    return [...this.byName.keys()];
  }
}
