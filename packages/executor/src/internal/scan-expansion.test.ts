import { describe, expect, it } from 'vitest';
import { ErrorCode, SjeError, type TaskInput } from '@sje/core';
import { expandScans, scanPoints, scanSize, type SourcedInput } from './scan-expansion.js';

function sourced(...inputs: TaskInput[]): SourcedInput[] {
  return inputs.map((input, i) => ({ input, field: `tasks[${i}]` }));
}

function failure(fn: () => unknown): SjeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SjeError) return err;
    throw err;
  }
  throw new Error('expected an SjeError');
}

let n = 0;
const newId = (): string => `gen-${++n}`;

describe('scanPoints', () => {
  it('is the cartesian product, keys and values in the order given, the last key fastest', () => {
    expect(scanPoints({ a: [1, 2], b: ['x', 'y', 'z'] })).toEqual([
      { a: 1, b: 'x' },
      { a: 1, b: 'y' },
      { a: 1, b: 'z' },
      { a: 2, b: 'x' },
      { a: 2, b: 'y' },
      { a: 2, b: 'z' },
    ]);
    expect(scanSize({ a: [1, 2], b: ['x', 'y', 'z'] })).toBe(6);
  });

  it('keeps any JSON value, and a __proto__ key as plain data', () => {
    const scan = JSON.parse('{"__proto__": [{"admin": true}], "cfg": [{"deep": [1]}, null]}') as Record<string, unknown[]>;
    const points = scanPoints(scan);
    expect(points).toHaveLength(2);
    expect(Object.keys(points[0]!)).toEqual(['__proto__', 'cfg']);
    expect(Object.getPrototypeOf(points[0])).toBe(Object.prototype);
    expect(points[1]!['cfg']).toBeNull();
  });
});

describe('expandScans', () => {
  it('makes one task per point with id <scan>.<i>, merged params and a scan_index label', () => {
    const out = expandScans(
      sourced({ task_id: 's', function: 'f', params: { base: 1, a: 0 }, labels: { team: 't' }, scan: { a: [10, 20], b: [true] } }),
      { maxTasks: 10, newId },
    );
    expect(out.map((e) => e.input)).toEqual([
      { task_id: 's.0', function: 'f', params: { base: 1, a: 10, b: true }, labels: { team: 't', scan_index: '0' } },
      { task_id: 's.1', function: 'f', params: { base: 1, a: 20, b: true }, labels: { team: 't', scan_index: '1' } },
    ]);
    expect(out.every((e) => e.field === 'tasks[0]' && e.clientId)).toBe(true);
  });

  it('generates the id of a scan that has none, and its points are not client ids', () => {
    const out = expandScans(sourced({ function: 'f', scan: { x: [1, 2] } }), { maxTasks: 10, newId: () => 'wf-scan' });
    expect(out.map((e) => [e.input.task_id, e.clientId])).toEqual([
      ['wf-scan.0', false],
      ['wf-scan.1', false],
    ]);
  });

  it('makes a dependency on the scan a dependency on every point, in point order, and keeps the others', () => {
    const out = expandScans(
      sourced(
        { task_id: 'prep', function: 'f' },
        { task_id: 's', function: 'f', depends_on: ['prep'], scan: { i: [0, 1, 2] } },
        { task_id: 'sum', function: 'g', depends_on: ['prep', 's', 'prep'] },
      ),
      { maxTasks: 10, newId },
    );
    const byId = new Map(out.map((e) => [e.input.task_id, e.input]));
    expect(byId.get('s.1')!.depends_on).toEqual(['prep']);
    expect(byId.get('sum')!.depends_on).toEqual(['prep', 's.0', 's.1', 's.2']);
    expect(out.map((e) => e.input.task_id)).toEqual(['prep', 's.0', 's.1', 's.2', 'sum']);
  });

  it('lets a scan depend on another scan: each point waits for all points of the other', () => {
    const out = expandScans(
      sourced(
        { task_id: 'a', function: 'f', scan: { i: [1, 2] } },
        { task_id: 'b', function: 'f', depends_on: ['a'], scan: { j: [1, 2] } },
      ),
      {
        maxTasks: 10,
        newId,
      },
    );
    expect(out.find((e) => e.input.task_id === 'b.1')!.input.depends_on).toEqual(['a.0', 'a.1']);
  });

  it('counts the tasks after expansion against the limit', () => {
    const err = failure(() =>
      expandScans(sourced({ function: 'f' }, { function: 'f', scan: { a: [1, 2, 3], b: [1, 2, 3] } }), { maxTasks: 9, newId }),
    );
    expect(err.code).toBe(ErrorCode.BATCH_TOO_LARGE);
    expect(err.data).toEqual({ max_batch: 9, count: 10 });
    expect(expandScans(sourced({ function: 'f', scan: { a: [1, 2, 3], b: [1, 2, 3] } }), { maxTasks: 9, newId })).toHaveLength(9);
  });

  it('refuses a scan id that is also another task id, and point ids over 200 characters', () => {
    const clash = failure(() =>
      expandScans(sourced({ task_id: 's', function: 'f' }, { task_id: 's', function: 'f', scan: { a: [1] } }), { maxTasks: 10, newId }),
    );
    expect(clash.code).toBe(ErrorCode.VALIDATION);
    expect(clash.data?.['field']).toBe('tasks[1].task_id');
    const long = failure(() =>
      expandScans(sourced({ task_id: 'x'.repeat(199), function: 'f', scan: { a: [1] } }), { maxTasks: 10, newId }),
    );
    expect(long.data?.['field']).toBe('tasks[0].task_id');
  });

  it('leaves a request without scans as it is', () => {
    const inputs = sourced({ task_id: 'a', function: 'f' }, { function: 'g', depends_on: ['a'] });
    const out = expandScans(inputs, { maxTasks: 10, newId });
    expect(out.map((e) => e.input)).toEqual(inputs.map((s) => s.input));
    expect(out.map((e) => e.clientId)).toEqual([true, false]);
  });
});
