import { describe, expect, it } from 'vitest';
import { describeSchemaError, MAX_GROUPED_DISPATCHES, validators, type Validation } from './schemas.js';

const at = '2025-01-01T00:00:00.000Z';
const spec = { task_id: 't1', function: 'echo', params: {}, queue: 'default', priority: 0, depends_on: [], labels: {} };

/** A valid example of every message family. */
const good = {
  taskInput: { function: 'echo', params: { a: 1 }, queue: 'gpu', priority: 9, depends_on: ['a'], retry: { max_attempts: 3, backoff: 'fixed', delay_ms: 10, max_delay_ms: 100, jitter: false }, timeout_ms: 1000, delay_ms: 5, labels: { team: 'x' }, task_id: 'id-1' },
  submit: { type: 'submit', tasks: [spec], workflow_id: 'wf-1', submitted_at: at },
  cancel: { type: 'cancel', task_id: 't1', requested_at: at },
  started: { type: 'started', task_id: 't1', lease_id: 'l1', worker_id: 'w1', host: 'h', at },
  progress: { type: 'progress', task_id: 't1', lease_id: 'l1', progress: 50, at },
  outcome: { type: 'outcome', task_id: 't1', lease_id: 'l1', worker_id: 'w1', outcome: 'failed', error: { name: 'Error', code: 'X', message: 'm', retryable: true }, at },
  register: { type: 'register', worker_id: 'w1', host: 'h', pid: 1, queues: ['default'], functions: ['echo'], concurrency: 4, started_at: at },
  heartbeat: { type: 'heartbeat', worker_id: 'w1', host: 'h', running: [{ task_id: 't1', lease_id: 'l1' }], at },
  deregister: { type: 'deregister', worker_id: 'w1', at },
  dispatch: { type: 'dispatch', task_id: 't1', lease_id: 'l1', function: 'echo', params: {}, attempt: 1, queue: 'default', priority: 0, labels: {}, dependencies: { a: 1 } },
  grant: { type: 'grant', task_id: 't1', lease_id: 'l1', granted: false, reason: 'stale lease' },
  abort: { type: 'abort', task_id: 't1', reason: 'cancelled' },
  event: { type: 'task_event', task_id: 't1', function: 'echo', queue: 'default', status: 'succeeded', previous_status: 'running', attempt: 1, at, labels: {}, result: { x: 1 } },
  get_tasks: { type: 'get_tasks', task_ids: ['t1', 't2'] },
  cancel_task: { type: 'cancel_task', task_id: 't1' },
  reply: { type: 'tasks', tasks: [null] },
} as const;

function expectInvalid(result: Validation<unknown>, field: string, reason?: RegExp): void {
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.field).toBe(field);
  if (reason) expect(result.reason).toMatch(reason);
}

const without = <T extends object>(o: T, key: keyof T): Record<string, unknown> => {
  const copy: Record<string, unknown> = { ...(o as Record<string, unknown>) };
  delete copy[key as string];
  return copy;
};

describe('validators accept good messages', () => {
  const cases: [string, (d: unknown) => Validation<unknown>, unknown][] = [
    ['taskInput (every field)', validators.taskInput, good.taskInput],
    ['taskInput (only function)', validators.taskInput, { function: 'echo' }],
    ['submit', validators.command, good.submit],
    ['cancel', validators.command, good.cancel],
    ['started', validators.command, good.started],
    ['progress', validators.command, good.progress],
    ['outcome', validators.command, good.outcome],
    ['outcome succeeded with any result', validators.command, { ...without(good.outcome, 'error'), outcome: 'succeeded', result: [1, 'two', null] }],
    ['register', validators.worker, good.register],
    ['heartbeat', validators.worker, good.heartbeat],
    ['deregister', validators.worker, good.deregister],
    ['dispatch', validators.dispatch, good.dispatch],
    ['dispatch on a task queue', validators.dispatchMessage, good.dispatch],
    ['dispatches', validators.dispatchMessage, { type: 'dispatches', tasks: [good.dispatch, { ...good.dispatch, task_id: 't2', lease_id: 'l2' }] }],
    ['outcome asking for a receipt', validators.command, { ...good.outcome, receipt: { worker_id: 'w1', seq: 3 } }],
    ['reports asking for a receipt', validators.command, { type: 'reports', receipt: { worker_id: 'w1', seq: 4 }, reports: [good.progress, good.outcome] }],
    ['grant', validators.control, good.grant],
    ['abort', validators.control, good.abort],
    ['stored', validators.control, { type: 'stored', seq: 3 }],
    ['task_event', validators.event, good.event],
    ['get_tasks', validators.query, good.get_tasks],
    ['cancel_task', validators.query, good.cancel_task],
    ['taskInput (approval gate without function)', validators.taskInput, { kind: 'approval', depends_on: ['a'] }],
    ['taskInput (scan and trigger rule)', validators.taskInput, { function: 'fib', scan: { n: [1, 2, 3] }, trigger_rule: 'all_done' }],
    ['get_workflow', validators.query, { type: 'get_workflow', workflow_id: 'wf-1' }],
    ['cancel_workflow', validators.query, { type: 'cancel_workflow', workflow_id: 'wf-1' }],
    ['decide_approval', validators.query, { type: 'decide_approval', task_id: 't1', approve: true, comment: 'ok' }],
    ['workflow_event', validators.workflowEvent, { type: 'workflow_event', workflow_id: 'wf-1', status: 'running', counts: { running: 1 }, total: 2, at }],
    ['workflow reply', validators.reply, { type: 'workflow', workflow: null }],
    ['tasks reply', validators.reply, good.reply],
    ['cancel_result reply', validators.reply, { type: 'cancel_result', task: null, changed: false }],
    ['error reply', validators.reply, { type: 'error', error: { name: 'SjeError', code: 'C', message: 'm', retryable: false } }],
  ];
  it.each(cases)('%s', (_name, validate, message) => {
    const result = validate(message);
    expect(result).toEqual({ ok: true, value: message });
  });
});

describe('validators reject bad messages, naming the field', () => {
  it('task input', () => {
    expectInvalid(validators.taskInput({}), 'function', /missing required field 'function'/);
    expectInvalid(validators.taskInput({ function: 'echo', priority: 10 }), 'priority');
    expectInvalid(validators.taskInput({ function: 'echo', priority: 1.5 }), 'priority');
    expectInvalid(validators.taskInput({ function: 'echo', task_id: 'has space' }), 'task_id');
    expectInvalid(validators.taskInput({ function: 'echo', params: [] }), 'params');
    expectInvalid(validators.taskInput({ function: 'echo', queue: 'a/b' }), 'queue');
    expectInvalid(validators.taskInput({ function: 'echo', depends_on: ['ok', 'not ok'] }), 'depends_on[1]');
    expectInvalid(validators.taskInput({ function: 'echo', retry: { max_attempts: 0 } }), 'retry.max_attempts');
    expectInvalid(validators.taskInput({ function: 'echo', retry: { max_attempts: 2, backoff: 'linear' } }), 'retry.backoff');
    expectInvalid(validators.taskInput({ function: 'echo', retry: {} }), 'retry.max_attempts', /missing/);
    expectInvalid(validators.taskInput({ function: 'echo', timeout_ms: 0 }), 'timeout_ms');
    expectInvalid(validators.taskInput({ function: 'echo', delay_ms: -5 }), 'delay_ms');
    expectInvalid(validators.taskInput({ function: 'echo', labels: { a: 1 } }), 'labels.a');
    expectInvalid(validators.taskInput({ function: 'echo', colour: 'red' }), 'colour', /unknown field 'colour'/);
    expectInvalid(validators.taskInput({ function: '' }), 'function');
    expectInvalid(validators.taskInput({ kind: 'task' }), 'function', /missing/);
    expectInvalid(validators.taskInput({ kind: 'robot', function: 'x' }), 'kind');
    expectInvalid(validators.taskInput({ function: 'x', trigger_rule: 'any' }), 'trigger_rule');
    expectInvalid(validators.taskInput({ function: 'x', scan: {} }), 'scan');
    expectInvalid(validators.taskInput({ function: 'x', scan: { n: [] } }), 'scan.n');
  });

  it('commands', () => {
    expectInvalid(validators.command({ ...good.submit, tasks: [] }), 'tasks');
    expectInvalid(validators.command({ ...good.submit, tasks: [without(spec, 'queue')] }), 'tasks[0].queue', /missing/);
    expectInvalid(validators.command({ ...good.submit, tasks: [{ ...spec, priority: 'high' }] }), 'tasks[0].priority');
    expectInvalid(validators.command(without(good.submit, 'submitted_at')), 'submitted_at');
    expectInvalid(validators.command({ ...good.cancel, task_id: '' }), 'task_id');
    expectInvalid(validators.command(without(good.started, 'lease_id')), 'lease_id');
    expectInvalid(validators.command({ ...good.progress, progress: 101 }), 'progress');
    expectInvalid(validators.command({ ...good.outcome, outcome: 'exploded' }), 'outcome');
    expectInvalid(validators.command({ ...good.outcome, receipt: { worker_id: 'w1', seq: 0 } }), 'receipt.seq');
    expectInvalid(validators.command({ ...good.outcome, receipt: { seq: 1 } }), 'receipt.worker_id', /missing/);
    expectInvalid(validators.control({ type: 'stored' }), 'seq', /missing/);
    expectInvalid(validators.command({ ...good.outcome, error: { message: 'no code' } }), 'error.name');
    expectInvalid(validators.command({ ...good.cancel, extra: 1 }), 'extra', /unknown field/);
  });

  it('unknown or missing message types', () => {
    expectInvalid(validators.command({ type: 'launch' }), 'type', /unknown message type "launch"/);
    expectInvalid(validators.command({}), 'type');
    expectInvalid(validators.command(null), 'type');
    expectInvalid(validators.command('submit'), 'type');
    expectInvalid(validators.worker(good.submit), 'type');
    expectInvalid(validators.control(good.dispatch), 'type');
    expectInvalid(validators.query(good.cancel), 'type');
  });

  it('worker lifecycle', () => {
    expectInvalid(validators.worker({ ...good.register, concurrency: 0 }), 'concurrency');
    expectInvalid(validators.worker({ ...good.register, queues: ['bad queue'] }), 'queues[0]');
    expectInvalid(validators.worker({ ...good.register, pid: 'x' }), 'pid');
    expectInvalid(validators.worker({ ...good.heartbeat, running: [{ task_id: 't1' }] }), 'running[0].lease_id');
    expectInvalid(validators.worker(without(good.deregister, 'worker_id')), 'worker_id');
  });

  it('dispatch', () => {
    expectInvalid(validators.dispatch({ ...good.dispatch, attempt: 0 }), 'attempt');
    expectInvalid(validators.dispatch(without(good.dispatch, 'lease_id')), 'lease_id');
    expectInvalid(validators.dispatch({ ...good.dispatch, type: 'submit' }), 'type');
    expectInvalid(validators.dispatch({ ...good.dispatch, params: 'x' }), 'params');
  });

  it('dispatch groups', () => {
    const many = (n: number): unknown[] => Array.from({ length: n }, (_, i) => ({ ...good.dispatch, task_id: `t${i}`, lease_id: `l${i}` }));
    expect(validators.dispatchMessage({ type: 'dispatches', tasks: many(MAX_GROUPED_DISPATCHES) }).ok).toBe(true);
    expectInvalid(validators.dispatchMessage({ type: 'dispatches', tasks: many(MAX_GROUPED_DISPATCHES + 1) }), 'tasks');
    expectInvalid(validators.dispatchMessage({ type: 'dispatches', tasks: [] }), 'tasks');
    expectInvalid(validators.dispatchMessage({ type: 'dispatches', tasks: [{ ...good.dispatch, attempt: 0 }] }), 'tasks[0].attempt');
    expectInvalid(validators.dispatchMessage({ type: 'dispatches', tasks: [good.dispatch], extra: 1 }), 'extra');
    expectInvalid(validators.dispatchMessage({ type: 'grants', grants: [good.grant] }), 'type', /unknown message type/);
    // A plain dispatch validator still refuses a group.
    expect(validators.dispatch({ type: 'dispatches', tasks: [good.dispatch] }).ok).toBe(false);
  });

  it('control', () => {
    expectInvalid(validators.control({ ...good.grant, granted: 'yes' }), 'granted');
    expectInvalid(validators.control({ ...good.abort, reason: 'bored' }), 'reason');
  });

  it('events', () => {
    expectInvalid(validators.event({ ...good.event, status: 'exploded' }), 'status');
    expectInvalid(validators.event({ ...good.event, attempt: -1 }), 'attempt');
    expectInvalid(validators.event(without(good.event, 'function')), 'function');
  });

  it('queries and replies', () => {
    expectInvalid(validators.query({ type: 'get_tasks', task_ids: ['ok', 'no way'] }), 'task_ids[1]');
    expectInvalid(validators.query({ type: 'cancel_task' }), 'task_id');
    expectInvalid(validators.reply({ type: 'nope' }), 'type');
    expectInvalid(validators.query({ type: 'decide_approval', task_id: 't1' }), 'approve');
    expectInvalid(validators.query({ type: 'get_workflow', workflow_id: 'bad id' }), 'workflow_id');
    expectInvalid(validators.workflowEvent({ type: 'workflow_event', workflow_id: 'w', status: 'exploded', counts: {}, total: 1, at }), 'status');
    expectInvalid(validators.command({ ...good.submit, tasks: [{ ...spec, scan: { n: [1] } }] }), 'tasks[0].scan', /unknown field/);
    expectInvalid(validators.reply({ type: 'cancel_result', changed: 'yes' }), 'changed');
  });
});

describe('describeSchemaError', () => {
  it('handles a missing error and root-level errors', () => {
    expect(describeSchemaError(undefined)).toEqual({ field: '', reason: 'invalid' });
    const r = validators.taskInput('not an object');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/\(root\)/);
  });
});
