import { describe, expect, it } from 'vitest';
import { isValidTaskId, TASK_ID_PATTERN, uuidv7 } from './ids.js';

const UUIDV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidv7', () => {
  it('has the RFC 9562 version 7 layout (version nibble 7, variant 10)', () => {
    for (let i = 0; i < 1000; i++) expect(uuidv7()).toMatch(UUIDV7);
  });

  it('carries the current Unix time in milliseconds in its first 48 bits', () => {
    const before = Date.now();
    const id = uuidv7();
    const after = Date.now();
    const ms = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(after + 1);
  });

  it('is strictly increasing within a process, even many in one millisecond', () => {
    const ids = Array.from({ length: 20_000 }, () => uuidv7());
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('is a valid task id', () => {
    expect(isValidTaskId(uuidv7())).toBe(true);
  });
});

describe('task ids', () => {
  it('accepts 1-200 characters of [A-Za-z0-9._:-]', () => {
    for (const id of ['a', 'Z9', 'order-42', 'tenant:job.1_x', 'a'.repeat(200), '...', '-_:.']) expect(isValidTaskId(id)).toBe(true);
  });

  it('rejects empty, too long, other characters and non-strings', () => {
    for (const id of ['', 'a'.repeat(201), 'has space', 'slash/id', 'ünïcode', 'new\nline', 'a#b', 'q?x']) expect(isValidTaskId(id)).toBe(false);
    for (const id of [undefined, null, 42, {}, ['a']]) expect(isValidTaskId(id)).toBe(false);
  });

  it('exports the pattern the schemas use', () => {
    expect(new RegExp(TASK_ID_PATTERN).test('ok-1')).toBe(true);
    expect(new RegExp(TASK_ID_PATTERN).test('not ok')).toBe(false);
  });
});
