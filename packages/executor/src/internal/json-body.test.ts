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
    // A string ending in an escaped backslash ends at the quote after it; three backslashes escape the quote.
    expect(nestingDepth('{"a":"x\\\\","b":[[1]]}')).toBe(3);
    expect(nestingDepth('{"a":"\\\\\\"[[","b":[1]}')).toBe(2);
    // An unterminated string runs to the end of the text.
    expect(nestingDepth('{"a":"[[[')).toBe(1);
  });

  it('agrees with the depth of the parsed value for generated bodies', () => {
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pieces = ['[', ']', '{', '}', '"', '\\', 'x', 'é', ' '];
    const value = (depth: number): unknown => {
      const kind = random(depth > 6 ? 2 : 4);
      if (kind === 0) return Array.from({ length: random(12) }, () => pieces[random(pieces.length)]).join('');
      if (kind === 1) return random(1000);
      if (kind === 2) return Array.from({ length: random(4) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: random(4) }, (_, i) => [`k${i}${pieces[random(pieces.length)]}`, value(depth + 1)]));
    };
    const depthOf = (v: unknown): number =>
      typeof v === 'object' && v !== null ? 1 + Math.max(0, ...Object.values(v as Record<string, unknown>).map(depthOf)) : 0;
    for (let i = 0; i < 500; i++) {
      const v = value(0);
      expect(nestingDepth(JSON.stringify(v))).toBe(depthOf(v));
    }
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
