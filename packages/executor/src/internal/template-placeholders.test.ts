import { describe, expect, it } from 'vitest';
import { findPlaceholders, formatPath, substitute } from './template-placeholders.js';

const values: Record<string, unknown> = { date: '2024-05-01', n: 3, list: [1, 2], cfg: { deep: true }, flag: false };
const lookup = (name: string): unknown => {
  if (!Object.hasOwn(values, name)) throw new Error(`missing ${name}`);
  return values[name];
};

describe('substitute', () => {
  it('replaces a whole-string placeholder by the JSON value, keeping its type', () => {
    expect(substitute({ a: '${params.n}', b: '${params.list}', c: '${params.cfg}', d: '${params.flag}' }, lookup)).toEqual({
      a: 3,
      b: [1, 2],
      c: { deep: true },
      d: false,
    });
  });

  it('replaces a placeholder inside a longer string by its text', () => {
    expect(substitute('load-${params.date}-x${params.n}', lookup)).toBe('load-2024-05-01-x3');
    expect(substitute('cfg=${params.cfg} list=${params.list}', lookup)).toBe('cfg={"deep":true} list=[1,2]');
  });

  it('walks arrays and nested objects, leaves keys, other values and non-placeholders alone', () => {
    const input = {
      '${params.n}': ['${params.n}', 7, null, { x: 'a ${params.date}' }],
      other: '$params.n',
      dollar: '${ params.n }',
      unknown: '${other.x}',
    };
    expect(substitute(input, lookup)).toEqual({
      '${params.n}': [3, 7, null, { x: 'a 2024-05-01' }],
      other: '$params.n',
      dollar: '${ params.n }',
      unknown: '${other.x}',
    });
  });

  it('does not substitute again inside a value, and copies values so instances share nothing', () => {
    const tricky: Record<string, unknown> = { v: '${params.n}', obj: { k: 1 } };
    const resolve = (name: string): unknown => tricky[name === 'n' ? 'v' : 'obj'];
    const out = substitute({ a: '${params.n}', b: '${params.o}' }, resolve) as Record<string, unknown>;
    expect(out['a']).toBe('${params.n}');
    (out['b'] as Record<string, unknown>)['k'] = 2;
    expect(tricky['obj']).toEqual({ k: 1 });
  });

  it('tells the resolver where the placeholder sits', () => {
    const seen: string[] = [];
    substitute({ params: { rows: ['${params.n}'] }, labels: { d: 'x-${params.date}' } }, (name, path, whole) => {
      seen.push(`${name}@${formatPath(path)}:${String(whole)}`);
      return 1;
    });
    expect(seen).toEqual(['n@params.rows[0]:true', 'date@labels.d:false']);
  });

  it('propagates the resolver error for a missing value', () => {
    expect(() => substitute({ a: '${params.nope}' }, lookup)).toThrow('missing nope');
  });
});

describe('findPlaceholders', () => {
  it('lists every placeholder with its path', () => {
    expect(findPlaceholders({ task_id: 'a', params: { d: '${params.date}', t: '${params.a}/${params.b}' } })).toEqual([
      { name: 'date', path: ['params', 'd'], whole: true },
      { name: 'a', path: ['params', 't'], whole: false },
      { name: 'b', path: ['params', 't'], whole: false },
    ]);
  });
});
