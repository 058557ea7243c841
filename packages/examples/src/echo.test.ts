import { describe, expect, it } from 'vitest';
import { echo } from './echo.js';

describe('echo', () => {
  it('returns its params unchanged', () => {
    const params = { a: 1, nested: { list: [1, 'two', null] } };
    expect(echo(params)).toEqual({ a: 1, nested: { list: [1, 'two', null] } });
  });

  it('returns an empty object for empty params', () => {
    expect(echo({})).toEqual({});
  });
});
