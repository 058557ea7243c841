import { describe, expect, it } from 'vitest';
import { isJsonContentType, MAX_JSON_DEPTH, nestingDepth } from './json-body.js';

describe('nestingDepth', () => {
  it('counts the deepest object/array nesting', () => {
    expect(nestingDepth('{"a":1}')).toBe(1);
    expect(nestingDepth('{"a":[{"b":[]}]}')).toBe(4);
    expect(nestingDepth('1')).toBe(0);
  });

  it('ignores brackets inside strings, including escaped quotes', () => {
    expect(nestingDepth('{"a":"[[[{{{"}')).toBe(1);
    expect(nestingDepth('{"a":"\\"[[[","b":[1]}')).toBe(2);
  });

  it('flags hostile nesting beyond the limit', () => {
    const deep = '['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1);
    expect(nestingDepth(deep)).toBeGreaterThan(MAX_JSON_DEPTH);
  });
});

describe('isJsonContentType', () => {
  it('accepts JSON media types in UTF-8 only', () => {
    expect(isJsonContentType('application/json')).toBe(true);
    expect(isJsonContentType('application/json; charset=utf-8')).toBe(true);
    expect(isJsonContentType('application/problem+json')).toBe(true);
    expect(isJsonContentType('application/json; charset=latin1')).toBe(false);
    expect(isJsonContentType('text/plain')).toBe(false);
    expect(isJsonContentType(undefined)).toBe(false);
  });
});
