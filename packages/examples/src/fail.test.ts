import { ErrorCode, NonRetryableError, serializeError } from '@sje/core';
import { describe, expect, it } from 'vitest';
import { fail } from './fail.js';

describe('fail', () => {
  it('throws a plain retryable Error with the message', () => {
    let thrown: unknown;
    try {
      fail({ message: 'boom' });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect(thrown).not.toBeInstanceOf(NonRetryableError);
    expect(serializeError(thrown)).toMatchObject({ message: 'boom', retryable: true, code: ErrorCode.HANDLER_ERROR });
  });

  it('throws a NonRetryableError when retryable is false', () => {
    let thrown: unknown;
    try {
      fail({ message: 'fatal', retryable: false });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(NonRetryableError);
    expect(serializeError(thrown)).toMatchObject({ message: 'fatal', retryable: false, code: ErrorCode.NON_RETRYABLE });
  });

  it('uses a default message', () => {
    expect(() => fail({})).toThrow('failed on purpose');
  });
});
