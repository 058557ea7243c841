import { describe, expect, it } from 'vitest';
import defaultExport, * as examples from './index.js';

describe('@sje/examples exports', () => {
  it('exposes every handler by its task function name, as named exports, the handlers record and the default export', () => {
    const names = ['echo', 'sleep', 'fail', 'calculate_data', 'fib', 'sum'];
    expect(Object.keys(examples.handlers).sort()).toEqual([...names].sort());
    expect(defaultExport).toBe(examples.handlers);
    for (const name of names) {
      const named = (examples as Record<string, unknown>)[name];
      expect(typeof named).toBe('function');
      expect(named).toBe((examples.handlers as Record<string, unknown>)[name]);
    }
  });
});
