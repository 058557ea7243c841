import { describe, expect, it } from 'vitest';
import { BrokerUnavailableError, ErrorCode, SjeError } from '@sje/core';
import { HttpErrorCode, httpStatusFor, toHttpError } from './http-errors.js';

describe('httpStatusFor', () => {
  it.each([
    [ErrorCode.INVALID_JSON, 400],
    [ErrorCode.VALIDATION, 400],
    [ErrorCode.DEPENDENCY_CYCLE, 400],
    [ErrorCode.UNKNOWN_DEPENDENCY, 400],
    [ErrorCode.NOT_FOUND, 404],
    [ErrorCode.TASK_NOT_FOUND, 404],
    [HttpErrorCode.METHOD_NOT_ALLOWED, 405],
    [ErrorCode.TASK_ID_CONFLICT, 409],
    [ErrorCode.TASK_ALREADY_FINAL, 409],
    [ErrorCode.PAYLOAD_TOO_LARGE, 413],
    [ErrorCode.BATCH_TOO_LARGE, 413],
    [ErrorCode.UNSUPPORTED_MEDIA_TYPE, 415],
    [ErrorCode.BROKER_UNAVAILABLE, 503],
    [ErrorCode.TASK_MANAGER_UNAVAILABLE, 503],
    [ErrorCode.SHUTTING_DOWN, 503],
  ])('%s → %i', (code, status) => {
    expect(httpStatusFor(code)).toBe(status);
  });
});

describe('toHttpError', () => {
  it('keeps code, message and data of a known SjeError', () => {
    const err = new SjeError(ErrorCode.VALIDATION, 'bad field', { data: { field: 'priority', reason: 'too big' } });
    expect(toHttpError(err)).toEqual({ status: 400, body: { error: { code: ErrorCode.VALIDATION, message: 'bad field', details: { field: 'priority', reason: 'too big' } } } });
    expect(toHttpError(new BrokerUnavailableError()).status).toBe(503);
  });

  it('hides anything unexpected behind a generic 500', () => {
    const plain = toHttpError(new Error('secret /etc/passwd at line 3'));
    expect(plain).toEqual({ status: 500, body: { error: { code: ErrorCode.INTERNAL, message: 'internal error' } } });
    expect(toHttpError(new SjeError('SJE_ERR_SOMETHING_ELSE', 'internal detail')).body.error.message).toBe('internal error');
  });

  it('gives an unknown code the status asked for (plugin vetoes are client errors)', () => {
    expect(toHttpError(new SjeError('ACME_QUOTA_EXCEEDED', 'quota exceeded'), 400)).toEqual({
      status: 400,
      body: { error: { code: 'ACME_QUOTA_EXCEEDED', message: 'quota exceeded' } },
    });
  });

  it('maps framework errors carrying an HTTP status', () => {
    expect(toHttpError(Object.assign(new Error('URI malformed'), { status: 400 })).body.error.code).toBe(ErrorCode.VALIDATION);
    expect(toHttpError(Object.assign(new Error('x'), { statusCode: 413 })).status).toBe(413);
  });
});
