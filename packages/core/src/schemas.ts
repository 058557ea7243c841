/**
 * JSON schemas of every message and of the REST task input, with compiled
 * validators. Every message is checked against its schema on receipt.
 * @module
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { TASK_ID_PATTERN } from './ids.js';
import { TASK_STATUSES } from './task-states.js';
import type {
  ControlMessage,
  DispatchMessage,
  TaskEvent,
  TaskEventMessage,
  TaskInput,
  TaskManagerCommand,
  TaskManagerQuery,
  TaskManagerReply,
  TaskQueueMessage,
  WorkerMessage,
  WorkflowEvent,
} from './messages.js';

const taskId = { type: 'string', pattern: TASK_ID_PATTERN } as const;
const shortString = { type: 'string', minLength: 1, maxLength: 200 } as const;
const queueName = { type: 'string', pattern: '^[A-Za-z0-9._-]{1,100}$' } as const;
const timestamp = { type: 'string', minLength: 1, maxLength: 64 } as const;
const positiveInt = { type: 'integer', minimum: 1, maximum: 2_147_483_647 } as const;
/** Task leases as a worker lists them (heartbeat, deregister). */
const leaseRefs = {
  type: 'array',
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['task_id', 'lease_id'],
    properties: { task_id: taskId, lease_id: shortString },
  },
} as const;
const labels = {
  type: 'object',
  maxProperties: 64,
  propertyNames: { maxLength: 100 },
  additionalProperties: { type: 'string', maxLength: 1000 },
} as const;
const paramsObject = { type: 'object' } as const;
/** A tenant name: set by the executor from the caller's API key, never by a client. */
const tenantName = { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,100}$' } as const;

/** Schema of a retry policy. */
export const retryPolicySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['max_attempts'],
  properties: {
    max_attempts: { type: 'integer', minimum: 1, maximum: 100 },
    backoff: { enum: ['fixed', 'exponential'] },
    delay_ms: { type: 'integer', minimum: 0, maximum: 86_400_000 },
    max_delay_ms: { type: 'integer', minimum: 0, maximum: 86_400_000 },
    jitter: { type: 'boolean' },
  },
} as const;

/** Schema of one task in `POST /submit`. Unknown fields are refused. */
export const taskInputSchema = {
  type: 'object',
  additionalProperties: false,
  // `function` is required except for approval gates, which run no handler.
  if: { required: ['kind'], properties: { kind: { const: 'approval' } } },
  then: {},
  else: { required: ['function'] },
  properties: {
    task_id: taskId,
    function: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,200}$' },
    kind: { enum: ['task', 'approval'] },
    trigger_rule: { enum: ['all_success', 'all_done'] },
    scan: {
      type: 'object',
      minProperties: 1,
      maxProperties: 8,
      propertyNames: { pattern: '^[A-Za-z0-9_]{1,100}$' },
      additionalProperties: { type: 'array', minItems: 1, maxItems: 10_000 },
    },
    params: paramsObject,
    queue: queueName,
    priority: { type: 'integer', minimum: 0, maximum: 9 },
    depends_on: { type: 'array', maxItems: 1000, items: taskId },
    retry: retryPolicySchema,
    timeout_ms: positiveInt,
    delay_ms: positiveInt,
    labels,
  },
} as const;

const { scan: _scan, ...specProperties } = taskInputSchema.properties;
const taskSpecSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['task_id', 'function', 'params', 'queue', 'priority', 'depends_on', 'labels'],
  properties: { ...specProperties, tenant: tenantName },
} as const;

const serializedErrorSchema = {
  type: 'object',
  required: ['name', 'code', 'message', 'retryable'],
  properties: {
    name: { type: 'string' },
    code: { type: 'string' },
    message: { type: 'string' },
    retryable: { type: 'boolean' },
    data: { type: 'object' },
  },
} as const;

/** A worker's request for a `stored` answer (see `ReportReceipt`). */
const reportReceiptSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['worker_id', 'seq'],
  properties: { worker_id: shortString, seq: { type: 'integer', minimum: 1 } },
} as const;

const singleCommandSchemas = {
  submit: {
    type: 'object',
    additionalProperties: false,
    required: ['type', 'tasks', 'submitted_at'],
    properties: {
      type: { const: 'submit' },
      tasks: { type: 'array', minItems: 1, items: taskSpecSchema },
      workflow_id: taskId,
      template: { type: 'string', maxLength: 200 },
      submitted_at: timestamp,
    },
  },
  cancel: {
    type: 'object',
    additionalProperties: false,
    required: ['type', 'task_id', 'requested_at'],
    properties: { type: { const: 'cancel' }, task_id: taskId, requested_at: timestamp },
  },
  started: {
    type: 'object',
    additionalProperties: false,
    required: ['type', 'task_id', 'lease_id', 'worker_id', 'host', 'at'],
    properties: {
      type: { const: 'started' },
      task_id: taskId,
      lease_id: shortString,
      worker_id: shortString,
      host: shortString,
      at: timestamp,
    },
  },
  progress: {
    type: 'object',
    additionalProperties: false,
    required: ['type', 'task_id', 'lease_id', 'progress', 'at'],
    properties: {
      type: { const: 'progress' },
      task_id: taskId,
      lease_id: shortString,
      progress: { type: 'number', minimum: 0, maximum: 100 },
      at: timestamp,
      receipt: reportReceiptSchema,
    },
  },
  outcome: {
    type: 'object',
    additionalProperties: false,
    required: ['type', 'task_id', 'lease_id', 'worker_id', 'outcome', 'at'],
    properties: {
      type: { const: 'outcome' },
      task_id: taskId,
      lease_id: shortString,
      worker_id: shortString,
      outcome: { enum: ['succeeded', 'failed', 'timed_out', 'cancelled', 'requeue'] },
      result: {},
      error: serializedErrorSchema,
      at: timestamp,
      receipt: reportReceiptSchema,
    },
  },
} as const;

/** A message of `type` carrying 1 to `maxItems` messages of one family in its array `key` (and the optional fields `extra`). */
function groupSchema(type: string, key: string, items: object, maxItems: number, extra: Record<string, object> = {}): object {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['type', key],
    properties: { type: { const: type }, [key]: { type: 'array', minItems: 1, maxItems, items }, ...extra },
  };
}

/** Most grants or events in one grouped message. */
export const MAX_GROUPED_MESSAGES = 1000;

/** Most submit commands in one `submits` message. */
export const MAX_COALESCED_SUBMITS = 500;

const commandSchemas = {
  ...singleCommandSchemas,
  reports: groupSchema('reports', 'reports', { anyOf: [singleCommandSchemas.started, singleCommandSchemas.progress, singleCommandSchemas.outcome] }, 1000, { receipt: reportReceiptSchema }),
  submits: groupSchema('submits', 'submits', singleCommandSchemas.submit, MAX_COALESCED_SUBMITS),
};

const workerSchemas = {
  register: {
    type: 'object',
    additionalProperties: false,
    required: ['type', 'worker_id', 'host', 'pid', 'queues', 'functions', 'concurrency', 'started_at'],
    properties: {
      type: { const: 'register' },
      worker_id: shortString,
      host: shortString,
      pid: { type: 'integer' },
      queues: { type: 'array', items: queueName },
      functions: { type: 'array', items: { type: 'string' } },
      concurrency: positiveInt,
      started_at: timestamp,
    },
  },
  heartbeat: {
    type: 'object',
    additionalProperties: false,
    required: ['type', 'worker_id', 'host', 'running', 'at'],
    properties: {
      type: { const: 'heartbeat' },
      worker_id: shortString,
      host: shortString,
      running: leaseRefs,
      assigned: {
        type: 'object',
        additionalProperties: false,
        required: ['epoch', 'seq'],
        properties: { epoch: shortString, seq: { type: 'integer', minimum: 0 } },
      },
      at: timestamp,
    },
  },
  deregister: {
    type: 'object',
    additionalProperties: false,
    required: ['type', 'worker_id', 'at'],
    properties: { type: { const: 'deregister' }, worker_id: shortString, at: timestamp, released: leaseRefs },
  },
} as const;

const dispatchSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'task_id', 'lease_id', 'function', 'params', 'attempt', 'queue', 'priority', 'labels'],
  properties: {
    type: { const: 'dispatch' },
    task_id: taskId,
    lease_id: shortString,
    function: { type: 'string', minLength: 1 },
    params: paramsObject,
    attempt: positiveInt,
    queue: queueName,
    priority: { type: 'integer', minimum: 0, maximum: 9 },
    timeout_ms: positiveInt,
    labels,
    workflow_id: taskId,
    dependencies: { type: 'object' },
  },
} as const;

/** Most dispatches in one `dispatches` message. */
export const MAX_GROUPED_DISPATCHES = 32;

/**
 * The largest `dispatches` group the task-manager sends to a pool whose
 * smallest worker runs `concurrency` tasks at once: a quarter of it (so a
 * worker's slots are always filled from at least four deliveries), at most
 * {@link MAX_GROUPED_DISPATCHES}, and 1 (no grouping) below a concurrency of 8.
 * Workers size their prefetch by it.
 */
export function dispatchGroupCap(concurrency: number): number {
  const cap = Math.min(MAX_GROUPED_DISPATCHES, Math.floor(concurrency / 4));
  return cap >= 2 ? cap : 1;
}

const taskQueueMessageSchemas = {
  dispatch: dispatchSchema,
  dispatches: groupSchema('dispatches', 'tasks', dispatchSchema, MAX_GROUPED_DISPATCHES),
};

const controlSchemas = {
  grant: {
    type: 'object',
    additionalProperties: false,
    required: ['type', 'task_id', 'lease_id', 'granted'],
    properties: {
      type: { const: 'grant' },
      task_id: taskId,
      lease_id: shortString,
      granted: { type: 'boolean' },
      reason: { type: 'string' },
    },
  },
  abort: {
    type: 'object',
    additionalProperties: false,
    required: ['type', 'task_id', 'reason'],
    properties: {
      type: { const: 'abort' },
      task_id: taskId,
      lease_id: shortString,
      reason: { enum: ['cancelled', 'timed_out', 'lease_lost'] },
    },
  },
} as const;

const controlMessageSchemas = {
  ...controlSchemas,
  register_request: {
    type: 'object',
    additionalProperties: false,
    required: ['type'],
    properties: { type: { const: 'register_request' } },
  },
  grants: groupSchema('grants', 'grants', controlSchemas.grant, MAX_GROUPED_MESSAGES),
  stored: {
    type: 'object',
    additionalProperties: false,
    required: ['type', 'seq'],
    properties: { type: { const: 'stored' }, seq: { type: 'integer', minimum: 1 } },
  },
  assign: {
    type: 'object',
    additionalProperties: false,
    required: ['type', 'epoch', 'seq', 'tasks'],
    properties: {
      type: { const: 'assign' },
      epoch: shortString,
      seq: { type: 'integer', minimum: 1 },
      base: { type: 'integer', minimum: 1 },
      tasks: { type: 'array', minItems: 1, maxItems: MAX_GROUPED_MESSAGES, items: dispatchSchema },
    },
  },
};

const taskEventSchema = {
  type: 'object',
  required: ['type', 'task_id', 'function', 'queue', 'status', 'attempt', 'at', 'labels'],
  properties: {
    type: { const: 'task_event' },
    task_id: taskId,
    function: { type: 'string' },
    queue: { type: 'string' },
    status: { enum: TASK_STATUSES },
    previous_status: { enum: TASK_STATUSES },
    attempt: { type: 'integer', minimum: 0 },
    at: timestamp,
    labels: { type: 'object' },
    tenant: { type: 'string' },
  },
} as const;

const taskEventMessageSchemas = {
  task_event: taskEventSchema,
  task_events: groupSchema('task_events', 'events', taskEventSchema, MAX_GROUPED_MESSAGES),
};

const workflowEventSchema = {
  type: 'object',
  required: ['type', 'workflow_id', 'status', 'counts', 'total', 'at'],
  properties: {
    type: { const: 'workflow_event' },
    workflow_id: taskId,
    status: { enum: ['pending', 'running', 'succeeded', 'failed', 'cancelled', 'partially_succeeded'] },
    counts: { type: 'object' },
    total: { type: 'integer' },
    at: timestamp,
    tenant: { type: 'string' },
  },
} as const;

const querySchemas = {
  get_tasks: {
    type: 'object',
    additionalProperties: false,
    required: ['type', 'task_ids'],
    properties: { type: { const: 'get_tasks' }, task_ids: { type: 'array', maxItems: 10_000, items: taskId }, tenant: tenantName },
  },
  cancel_task: {
    type: 'object',
    additionalProperties: false,
    required: ['type', 'task_id'],
    properties: { type: { const: 'cancel_task' }, task_id: taskId, tenant: tenantName },
  },
  get_workflow: {
    type: 'object',
    additionalProperties: false,
    required: ['type', 'workflow_id'],
    properties: { type: { const: 'get_workflow' }, workflow_id: taskId, tenant: tenantName },
  },
  cancel_workflow: {
    type: 'object',
    additionalProperties: false,
    required: ['type', 'workflow_id'],
    properties: { type: { const: 'cancel_workflow' }, workflow_id: taskId, tenant: tenantName },
  },
  decide_approval: {
    type: 'object',
    additionalProperties: false,
    required: ['type', 'task_id', 'approve'],
    properties: {
      type: { const: 'decide_approval' },
      task_id: taskId,
      approve: { type: 'boolean' },
      comment: { type: 'string', maxLength: 10_000 },
      tenant: tenantName,
    },
  },
  get_functions: {
    type: 'object',
    additionalProperties: false,
    required: ['type'],
    properties: { type: { const: 'get_functions' } },
  },
} as const;

const replySchema = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { enum: ['tasks', 'cancel_result', 'workflow', 'approval_result', 'functions', 'error'] },
    tasks: { type: 'array' },
    workflow: { type: ['object', 'null'] },
    task: { type: ['object', 'null'] },
    previous_status: { enum: TASK_STATUSES },
    changed: { type: 'boolean' },
    queues: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
    error: serializedErrorSchema,
  },
} as const;

/** The result of validating a value: the typed value, or a reason naming the field. */
export type Validation<T> = { ok: true; value: T } | { ok: false; reason: string; field?: string };

/** A validator for one message family. */
export type Validator<T> = (data: unknown) => Validation<T>;

const ajv = new Ajv({ allErrors: false, strict: true, strictRequired: false, allowUnionTypes: true });

/** Turns an ajv error into a field path (`tasks[0].priority`) and a sentence. */
export function describeSchemaError(err: ErrorObject | undefined): { field: string; reason: string } {
  if (!err) return { field: '', reason: 'invalid' };
  let field = err.instancePath
    .split('/')
    .filter(Boolean)
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
    .join('')
    .replace(/^\./, '');
  if (err.keyword === 'additionalProperties') {
    const extra = String((err.params as { additionalProperty?: string }).additionalProperty);
    field = field ? `${field}.${extra}` : extra;
    return { field, reason: `unknown field '${field}'` };
  }
  if (err.keyword === 'required') {
    const missing = String((err.params as { missingProperty?: string }).missingProperty);
    field = field ? `${field}.${missing}` : missing;
    return { field, reason: `missing required field '${field}'` };
  }
  return { field, reason: `field '${field || '(root)'}' ${err.message ?? 'is invalid'}` };
}

function single<T>(schema: object): Validator<T> {
  const fn: ValidateFunction = ajv.compile(schema);
  return (data) => {
    if (fn(data)) return { ok: true, value: data as T };
    const { field, reason } = describeSchemaError(fn.errors?.[0]);
    return { ok: false, reason, field };
  };
}

function byType<T>(schemas: Record<string, object>): Validator<T> {
  const compiled = new Map(Object.entries(schemas).map(([type, schema]) => [type, single<T>(schema)]));
  return (data) => {
    const type = typeof data === 'object' && data !== null ? (data as { type?: unknown }).type : undefined;
    const validate = typeof type === 'string' ? compiled.get(type) : undefined;
    if (!validate) return { ok: false, reason: `unknown message type ${JSON.stringify(type)}`, field: 'type' };
    return validate(data);
  };
}

/** Validators for every message family, and for the REST task input. */
export const validators = {
  taskInput: single<TaskInput>(taskInputSchema),
  command: byType<TaskManagerCommand>(commandSchemas),
  worker: byType<WorkerMessage>(workerSchemas),
  dispatch: single<DispatchMessage>(dispatchSchema),
  /** A `dispatch` or a `dispatches` group (what arrives on a task queue). */
  dispatchMessage: byType<TaskQueueMessage>(taskQueueMessageSchemas),
  control: byType<ControlMessage>(controlMessageSchemas),
  event: single<TaskEvent>(taskEventSchema),
  /** A `task_event` or a `task_events` group (what arrives under a `task.*` routing key). */
  eventMessage: byType<TaskEventMessage>(taskEventMessageSchemas),
  workflowEvent: single<WorkflowEvent>(workflowEventSchema),
  query: byType<TaskManagerQuery>(querySchemas),
  reply: single<TaskManagerReply>(replySchema),
} as const;
