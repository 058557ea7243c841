import { describe, expect, it } from 'vitest';
import { BrokerUnavailableError, ConfigError, ErrorCode, NonRetryableError, restoreError, serializeError, SjeError } from './errors.js';

describe('errors', () => {
  it('SjeError keeps code, retryable, data and cause', () => {
    const cause = new Error('root');
    const err = new SjeError(ErrorCode.TASK_NOT_FOUND, 'task x not found', { data: { task_id: 'x' }, retryable: true, cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('SjeError');
    expect(err.code).toBe('SJE_ERR_TASK_NOT_FOUND');
    expect(err.retryable).toBe(true);
    expect(err.data).toEqual({ task_id: 'x' });
    expect(err.cause).toBe(cause);
    expect(new SjeError(ErrorCode.INTERNAL, 'x').retryable).toBe(false);
  });

  it('NonRetryableError is never retryable, whatever the options say', () => {
    const err = new NonRetryableError('bad input', { retryable: true } as never);
    expect(err).toBeInstanceOf(SjeError);
    expect(err.retryable).toBe(false);
    expect(err.code).toBe(ErrorCode.NON_RETRYABLE);
    expect(err.name).toBe('NonRetryableError');
    expect(new NonRetryableError('x', { code: 'APP_ERR_X' }).code).toBe('APP_ERR_X');
    expect(serializeError(err).retryable).toBe(false);
  });

  it('BrokerUnavailableError and ConfigError carry their codes', () => {
    expect(new BrokerUnavailableError()).toMatchObject({ code: ErrorCode.BROKER_UNAVAILABLE, retryable: true, name: 'BrokerUnavailableError' });
    expect(new ConfigError('bad key', { key: 'a.b' })).toMatchObject({ code: ErrorCode.CONFIG_INVALID, retryable: false, data: { key: 'a.b' } });
  });

  it('round-trips an SjeError through JSON', () => {
    const original = new SjeError(ErrorCode.TASK_TIMEOUT, 'took too long', { retryable: true, data: { timeout_ms: 5 } });
    const wire = JSON.parse(JSON.stringify(serializeError(original))) as ReturnType<typeof serializeError>;
    expect(wire).toEqual({ name: 'SjeError', code: 'SJE_ERR_TASK_TIMEOUT', message: 'took too long', retryable: true, data: { timeout_ms: 5 } });
    const restored = restoreError(wire);
    expect(restored).toBeInstanceOf(SjeError);
    expect(restored).toMatchObject({ name: 'SjeError', code: original.code, message: original.message, retryable: true, data: { timeout_ms: 5 } });
    expect(serializeError(restored)).toEqual(wire);
  });

  it('round-trips a NonRetryableError keeping its name and retryable false', () => {
    const restored = restoreError(serializeError(new NonRetryableError('no')));
    expect(restored.name).toBe('NonRetryableError');
    expect(restored.retryable).toBe(false);
    expect(restored.code).toBe(ErrorCode.NON_RETRYABLE);
  });

  it('serializes plain errors as retryable handler errors, keeping a string code, without stack', () => {
    const plain = serializeError(new TypeError('boom'));
    expect(plain).toEqual({ name: 'TypeError', code: ErrorCode.HANDLER_ERROR, message: 'boom', retryable: true });
    const withCode = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    expect(serializeError(withCode).code).toBe('ECONNREFUSED');
    expect(serializeError(Object.assign(new Error('n'), { code: 42 })).code).toBe(ErrorCode.HANDLER_ERROR);
    expect(serializeError('just a string')).toEqual({ name: 'Error', code: ErrorCode.HANDLER_ERROR, message: 'just a string', retryable: true });
    expect(JSON.stringify(serializeError(new Error('x')))).not.toContain('stack');
  });

  it('has unique, prefixed codes', () => {
    const codes = Object.values(ErrorCode);
    expect(new Set(codes).size).toBe(codes.length);
    for (const c of codes) expect(c).toMatch(/^SJE_ERR_[A-Z_]+$/);
  });
});
