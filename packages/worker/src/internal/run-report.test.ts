import { ErrorCode, NonRetryableError } from '@sje/core';
import { describe, expect, it } from 'vitest';
import { abortReport, settledReport, toJsonResult } from './run-report.js';

describe('toJsonResult', () => {
  it('normalises values through JSON', () => {
    expect(toJsonResult({ a: 1, when: new Date(0) })).toEqual({ ok: true, json: '{"a":1,"when":"1970-01-01T00:00:00.000Z"}' });
    expect(toJsonResult(undefined)).toEqual({ ok: true, json: 'null' });
    expect(toJsonResult('text')).toEqual({ ok: true, json: '"text"' });
  });

  it.each([
    ['a BigInt', 10n],
    ['a cycle', (() => { const o: Record<string, unknown> = {}; o['self'] = o; return o; })()],
    ['a function', () => 1],
    ['a symbol', Symbol('s')],
  ])('refuses %s', (_what, value) => {
    const r = toJsonResult(value);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ code: ErrorCode.RESULT_NOT_SERIALIZABLE, retryable: false });
  });
});

describe('settledReport', () => {
  it('a value is a success', () => {
    expect(settledReport({ ok: true, value: { sum: 3 } })).toEqual({ outcome: 'succeeded', resultJson: '{"sum":3}' });
  });

  it('a thrown Error is a retryable failure; NonRetryableError stays non-retryable', () => {
    expect(settledReport({ ok: false, error: new Error('boom') })).toEqual({
      outcome: 'failed',
      error: { name: 'Error', code: ErrorCode.HANDLER_ERROR, message: 'boom', retryable: true },
    });
    expect(settledReport({ ok: false, error: new NonRetryableError('bad input') }).error).toMatchObject({ code: ErrorCode.NON_RETRYABLE, retryable: false });
  });

  it('an unserializable result is a failure', () => {
    expect(settledReport({ ok: true, value: 1n })).toMatchObject({ outcome: 'failed', error: { code: ErrorCode.RESULT_NOT_SERIALIZABLE } });
  });
});

describe('abortReport', () => {
  it('maps each abort reason to its outcome and error code', () => {
    expect(abortReport('timed_out', 500)).toMatchObject({ outcome: 'timed_out', error: { code: ErrorCode.TASK_TIMEOUT, retryable: true } });
    expect(abortReport('timed_out', 500).error?.message).toContain('500 ms');
    expect(abortReport('cancelled')).toMatchObject({ outcome: 'cancelled', error: { code: ErrorCode.TASK_CANCELLED, retryable: false } });
    expect(abortReport('lease_lost')).toMatchObject({ outcome: 'cancelled', error: { code: ErrorCode.TASK_CANCELLED } });
    expect(abortReport('shutdown')).toMatchObject({ outcome: 'requeue', error: { code: ErrorCode.SHUTTING_DOWN } });
  });
});

describe('result size limit', () => {
  it('fails a result larger than the limit with RESULT_TOO_LARGE, not retryable, and keeps one at the limit', () => {
    const big = { text: 'é'.repeat(600) }; // 1200 bytes of UTF-8 inside the JSON
    const bytes = Buffer.byteLength(JSON.stringify(big), 'utf8');
    const over = settledReport({ ok: true, value: big }, bytes - 1);
    expect(over.outcome).toBe('failed');
    expect(over.resultJson).toBeUndefined();
    expect(over.error).toMatchObject({ code: ErrorCode.RESULT_TOO_LARGE, retryable: false, data: { bytes, max_bytes: bytes - 1 } });
    expect(settledReport({ ok: true, value: big }, bytes)).toEqual({ outcome: 'succeeded', resultJson: JSON.stringify(big) });
  });
});
