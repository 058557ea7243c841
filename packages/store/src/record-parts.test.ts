import { describe, expect, it } from 'vitest';
import { recordFromParts, SPEC_FIELDS, specJson, STATE_FIELDS, stateJson } from './record-parts.js';
import type { TaskRecord } from './task-record.js';

const record: TaskRecord = {
  task_id: 't-1',
  function: 'echo',
  queue: 'default',
  priority: 0,
  params: { big: 'x'.repeat(100) },
  depends_on: [],
  labels: {},
  tenant: 'acme',
  status: 'failed',
  attempt: 2,
  deliveries: 2,
  deps_remaining: 0,
  error: { name: 'Error', code: 'HANDLER_ERROR', message: 'boom', retryable: false },
  created_at: '2026-12-01T10:00:00.000Z',
  finished_at: '2026-12-01T10:00:01.000Z',
  history: [{ status: 'pending', at: '2026-12-01T10:00:00.000Z', attempt: 0 }],
};

describe('record parts', () => {
  it('puts every field in exactly one part', () => {
    expect(SPEC_FIELDS.filter((f) => STATE_FIELDS.includes(f))).toEqual([]);
    expect(SPEC_FIELDS).toContain('params');
    expect(STATE_FIELDS).toContain('status');
  });

  it('keeps the params out of the state and the state out of the spec', () => {
    expect(JSON.parse(stateJson(record))).toEqual({
      status: 'failed',
      attempt: 2,
      deliveries: 2,
      deps_remaining: 0,
      error: record.error,
      finished_at: record.finished_at,
      history: record.history,
    });
    expect(JSON.parse(specJson(record))).toEqual({
      task_id: 't-1',
      function: 'echo',
      queue: 'default',
      priority: 0,
      params: record.params,
      depends_on: [],
      labels: {},
      tenant: 'acme',
      created_at: record.created_at,
    });
  });

  it('joins the two parts back into the record', () => {
    expect(recordFromParts(specJson(record), stateJson(record))).toEqual(record);
  });
});
