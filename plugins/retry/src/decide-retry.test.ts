import type { SerializedError, TaskView } from '@sje/core';
import { describe, expect, it } from 'vitest';
import { decideRetry, effectivePolicy } from './decide-retry.js';
import { DEFAULT_RETRY_OPTIONS, type RetryOptions } from './retry-options.js';

function task(over: Partial<TaskView> = {}): TaskView {
  return {
    task_id: 't1',
    function: 'echo',
    queue: 'default',
    priority: 0,
    status: 'running',
    attempt: 1,
    params: {},
    depends_on: [],
    labels: {},
    created_at: new Date(0).toISOString(),
    history: [],
    ...over,
  };
}

const boom: SerializedError = { name: 'Error', code: 'SJE_ERR_HANDLER_ERROR', message: 'boom', retryable: true };
const noJitter: RetryOptions = { ...DEFAULT_RETRY_OPTIONS, jitter: false };

describe('effectivePolicy', () => {
  it('takes each field from the task when set and from the defaults otherwise', () => {
    expect(effectivePolicy({ max_attempts: 4, backoff: 'fixed' }, DEFAULT_RETRY_OPTIONS)).toEqual({
      max_attempts: 4,
      backoff: 'fixed',
      delay_ms: 1000,
      max_delay_ms: 300_000,
      jitter: true,
    });
    expect(effectivePolicy(undefined, { ...DEFAULT_RETRY_OPTIONS, default_max_attempts: 2 }).max_attempts).toBe(2);
  });
});

describe('decideRetry', () => {
  it('does not retry a task without a policy under the default of one attempt', () => {
    const d = decideRetry({ task: task(), error: boom, outcome: 'failed' }, DEFAULT_RETRY_OPTIONS);
    expect(d.retry).toBe(false);
    expect(d.reason).toMatch(/1 attempt/);
  });

  it('retries a failed attempt while attempts remain, with exponential delays', () => {
    const retry = { max_attempts: 4 };
    const delays = [1, 2, 3].map((attempt) => decideRetry({ task: task({ attempt, retry }), error: boom, outcome: 'failed' }, noJitter));
    expect(delays.map((d) => d.retry)).toEqual([true, true, true]);
    expect(delays.map((d) => d.delay_ms)).toEqual([1000, 2000, 4000]);
    expect(delays[0]?.reason).toBe('attempt 1 of 4 failed; retrying in 1000 ms');
  });

  it('stops when the attempt reaches max_attempts', () => {
    const d = decideRetry({ task: task({ attempt: 3, retry: { max_attempts: 3 } }), error: boom, outcome: 'failed' }, noJitter);
    expect(d).toEqual({ retry: false, reason: 'not retried: all 3 attempts used' });
  });

  it('never retries a non-retryable error, whatever the policy', () => {
    const error: SerializedError = { name: 'NonRetryableError', code: 'SJE_ERR_NON_RETRYABLE', message: 'bad input', retryable: false };
    const d = decideRetry({ task: task({ retry: { max_attempts: 10 } }), error, outcome: 'failed' }, noJitter);
    expect(d.retry).toBe(false);
    expect(d.reason).toContain('SJE_ERR_NON_RETRYABLE is not retryable');
  });

  it('never retries an unknown function', () => {
    const error: SerializedError = { name: 'SjeError', code: 'SJE_ERR_UNKNOWN_FUNCTION', message: 'no handler', retryable: false };
    expect(decideRetry({ task: task({ retry: { max_attempts: 5 } }), error, outcome: 'failed' }, noJitter).retry).toBe(false);
  });

  it('retries a run that failed without an error record', () => {
    expect(decideRetry({ task: task({ retry: { max_attempts: 2 } }), error: undefined, outcome: 'failed' }, noJitter).retry).toBe(true);
  });

  it('retries timeouts unless retry_timeouts is off', () => {
    const input = { task: task({ retry: { max_attempts: 2 } }), error: undefined, outcome: 'timed_out' as const };
    const yes = decideRetry(input, noJitter);
    expect(yes.retry).toBe(true);
    expect(yes.reason).toContain('timed out');
    const no = decideRetry(input, { ...noJitter, retry_timeouts: false });
    expect(no.retry).toBe(false);
    expect(no.reason).toContain('retry_timeouts');
  });

  it('uses the task fixed backoff and its own delay and cap', () => {
    const retry = { max_attempts: 5, backoff: 'fixed' as const, delay_ms: 700, jitter: false };
    expect(decideRetry({ task: task({ attempt: 3, retry }), error: boom, outcome: 'failed' }, DEFAULT_RETRY_OPTIONS).delay_ms).toBe(700);
    const capped = { max_attempts: 20, delay_ms: 1000, max_delay_ms: 5000, jitter: false };
    expect(decideRetry({ task: task({ attempt: 10, retry: capped }), error: boom, outcome: 'failed' }, DEFAULT_RETRY_OPTIONS).delay_ms).toBe(5000);
  });

  it('jitters the delay within [delay/2, delay] when the policy asks', () => {
    const retry = { max_attempts: 5, jitter: true };
    const low = decideRetry({ task: task({ attempt: 2, retry }), error: boom, outcome: 'failed' }, noJitter, () => 0);
    const high = decideRetry({ task: task({ attempt: 2, retry }), error: boom, outcome: 'failed' }, noJitter, () => 0.9999999);
    expect(low.delay_ms).toBe(1000);
    expect(high.delay_ms).toBe(2000);
  });
});
