import { describe, expect, it } from 'vitest';
import { ErrorCode, SjeError } from '@sje/core';
import { APPROVAL_FUNCTION, initialStatus, parseSubmitRequest } from './submit-request.js';

let n = 0;
const ids = (): string => `gen-${++n}`;

function failure(fn: () => unknown): SjeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SjeError) return err;
    throw err;
  }
  throw new Error('expected an SjeError');
}

describe('parseSubmitRequest: one task', () => {
  it('fills every default and generates a task id', () => {
    const req = parseSubmitRequest({ function: 'resize' }, 10, () => 'generated-id');
    expect(req.kind).toBe('single');
    expect(req.clientIds).toEqual([]);
    expect(req.specs).toEqual([
      { task_id: 'generated-id', function: 'resize', params: {}, queue: 'default', priority: 0, depends_on: [], labels: {} },
    ]);
  });

  it('keeps client values and reports the client id as an idempotency key', () => {
    const req = parseSubmitRequest(
      { task_id: 'mine', function: 'f', params: { a: 1 }, queue: 'gpu', priority: 7, depends_on: ['x'], retry: { max_attempts: 3 }, timeout_ms: 5, delay_ms: 9, labels: { team: 'a' } },
      10,
      ids,
    );
    expect(req.clientIds).toEqual(['mine']);
    expect(req.specs[0]).toEqual({
      task_id: 'mine',
      function: 'f',
      params: { a: 1 },
      queue: 'gpu',
      priority: 7,
      depends_on: ['x'],
      retry: { max_attempts: 3 },
      timeout_ms: 5,
      delay_ms: 9,
      labels: { team: 'a' },
    });
  });

  it('names the failing field', () => {
    const err = failure(() => parseSubmitRequest({ function: 'f', priority: 12 }, 10, ids));
    expect(err.code).toBe(ErrorCode.VALIDATION);
    expect(err.data?.['field']).toBe('priority');
    expect(failure(() => parseSubmitRequest({ params: {} }, 10, ids)).data?.['field']).toBe('function');
    expect(failure(() => parseSubmitRequest({ function: 'f', colour: 'red' }, 10, ids)).data?.['field']).toBe('colour');
  });

  it('refuses a body that is not an object', () => {
    for (const body of [null, [], 'x', 3]) expect(failure(() => parseSubmitRequest(body, 10, ids)).code).toBe(ErrorCode.VALIDATION);
  });

  it('treats a top-level __proto__ or constructor key as an unknown field and pollutes nothing', () => {
    const body = JSON.parse('{"function":"f","__proto__":{"polluted":true}}') as unknown;
    const err = failure(() => parseSubmitRequest(body, 10, ids));
    expect(err.data?.['field']).toBe('__proto__');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    const ctor = JSON.parse('{"function":"f","constructor":{"prototype":{"polluted":true}}}') as unknown;
    expect(failure(() => parseSubmitRequest(ctor, 10, ids)).data?.['field']).toBe('constructor');
  });

  it('keeps __proto__ inside params as plain data', () => {
    const body = JSON.parse('{"function":"f","params":{"__proto__":{"admin":true},"x":1}}') as unknown;
    const spec = parseSubmitRequest(body, 10, ids).specs[0]!;
    expect(Object.keys(spec.params)).toEqual(['__proto__', 'x']);
    expect(Object.getPrototypeOf(spec.params)).toBe(Object.prototype);
    expect((spec.params as { admin?: unknown }).admin).toBeUndefined();
    expect(JSON.stringify(spec.params)).toBe('{"__proto__":{"admin":true},"x":1}');
    expect(({} as Record<string, unknown>)['admin']).toBeUndefined();
  });
});

describe('parseSubmitRequest: kinds and scans', () => {
  it('carries kind and trigger_rule, and names an approval gate without a function', () => {
    const spec = parseSubmitRequest({ kind: 'approval', trigger_rule: 'all_done', depends_on: ['x'] }, 10, () => 'g').specs[0]!;
    expect(spec).toMatchObject({ task_id: 'g', function: APPROVAL_FUNCTION, kind: 'approval', trigger_rule: 'all_done' });
    expect(initialStatus({ ...spec, depends_on: [] })).toBe('pending');
  });

  it('turns a single task with a scan into a batch of its points', () => {
    const req = parseSubmitRequest({ task_id: 'sweep', function: 'f', params: { fixed: 1 }, scan: { size: [1, 2] } }, 10, ids);
    expect(req.kind).toBe('batch');
    expect(req.clientIds).toEqual(['sweep.0', 'sweep.1']);
    expect(req.specs.map((s) => [s.task_id, s.params, s.labels])).toEqual([
      ['sweep.0', { fixed: 1, size: 1 }, { scan_index: '0' }],
      ['sweep.1', { fixed: 1, size: 2 }, { scan_index: '1' }],
    ]);
  });

  it('expands scans in a batch and fans dependants in over every point', () => {
    const req = parseSubmitRequest({ tasks: [{ task_id: 's', function: 'f', scan: { n: [1, 2, 3] } }, { task_id: 'total', function: 'sum', depends_on: ['s'] }] }, 10, ids);
    expect(req.specs.map((s) => s.task_id)).toEqual(['s.0', 's.1', 's.2', 'total']);
    expect(req.specs[3]!.depends_on).toEqual(['s.0', 's.1', 's.2']);
    expect(req.clientIds).toEqual(['s.0', 's.1', 's.2', 'total']);
  });

  it('refuses a scan over max_batch, a point id that clashes with a task, and a fan-in beyond 1000 dependencies', () => {
    expect(failure(() => parseSubmitRequest({ function: 'f', scan: { a: [1, 2, 3] } }, 2, ids)).code).toBe(ErrorCode.BATCH_TOO_LARGE);
    const clash = failure(() => parseSubmitRequest({ tasks: [{ task_id: 's', function: 'f', scan: { a: [1, 2] } }, { task_id: 's.1', function: 'f' }] }, 10, ids));
    expect(clash.code).toBe(ErrorCode.VALIDATION);
    expect(clash.data?.['field']).toBe('tasks[1].task_id');
    const wide = { tasks: [{ task_id: 's', function: 'f', scan: { i: Array.from({ length: 1001 }, (_, i) => i) } }, { function: 'sum', depends_on: ['s'] }] };
    const err = failure(() => parseSubmitRequest(wide, 2000, ids));
    expect(err.code).toBe(ErrorCode.VALIDATION);
    expect(err.data?.['field']).toBe('tasks[1].depends_on');
  });

  it('refuses a scan whose points would carry more than 64 labels', () => {
    const labels = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`l${i}`, 'v']));
    const err = failure(() => parseSubmitRequest({ function: 'f', labels, scan: { a: [1] } }, 10, ids));
    expect(err.data?.['field']).toBe('labels');
  });
});

describe('parseSubmitRequest: batch', () => {
  it('parses every task with defaults', () => {
    const req = parseSubmitRequest({ tasks: [{ task_id: 'a', function: 'f' }, { function: 'g', depends_on: ['a'] }] }, 10, () => 'gen');
    expect(req.kind).toBe('batch');
    expect(req.clientIds).toEqual(['a']);
    expect(req.specs.map((s) => [s.task_id, s.queue, s.depends_on])).toEqual([
      ['a', 'default', []],
      ['gen', 'default', ['a']],
    ]);
  });

  it('prefixes field names with tasks[i].', () => {
    const err = failure(() => parseSubmitRequest({ tasks: [{ function: 'f' }, { function: 'g', priority: -1 }] }, 10, ids));
    expect(err.data?.['field']).toBe('tasks[1].priority');
    expect(err.message).toContain('tasks[1]');
    expect(failure(() => parseSubmitRequest({ tasks: [{ function: 'f' }, 7] }, 10, ids)).data?.['field']).toBe('tasks[1]');
  });

  it('refuses other keys next to tasks, a non-array and an empty list', () => {
    expect(failure(() => parseSubmitRequest({ tasks: [{ function: 'f' }], function: 'f' }, 10, ids)).data?.['field']).toBe('function');
    expect(failure(() => parseSubmitRequest({ tasks: {} }, 10, ids)).data?.['field']).toBe('tasks');
    expect(failure(() => parseSubmitRequest({ tasks: [] }, 10, ids)).data?.['field']).toBe('tasks');
  });

  it('refuses a batch over max_batch with BATCH_TOO_LARGE', () => {
    const err = failure(() => parseSubmitRequest({ tasks: [{ function: 'f' }, { function: 'f' }, { function: 'f' }] }, 2, ids));
    expect(err.code).toBe(ErrorCode.BATCH_TOO_LARGE);
    expect(err.data).toEqual({ max_batch: 2, count: 3 });
  });

  it('refuses duplicate task ids within the batch', () => {
    const err = failure(() => parseSubmitRequest({ tasks: [{ task_id: 'a', function: 'f' }, { task_id: 'b', function: 'f' }, { task_id: 'a', function: 'g' }] }, 10, ids));
    expect(err.code).toBe(ErrorCode.VALIDATION);
    expect(err.data?.['field']).toBe('tasks[2].task_id');
  });
});

describe('initialStatus', () => {
  it('is queued without dependencies or delay, else pending', () => {
    const [spec] = parseSubmitRequest({ function: 'f' }, 1, ids).specs;
    expect(initialStatus(spec!)).toBe('queued');
    expect(initialStatus({ ...spec!, depends_on: ['x'] })).toBe('pending');
    expect(initialStatus({ ...spec!, delay_ms: 10 })).toBe('pending');
  });
});
