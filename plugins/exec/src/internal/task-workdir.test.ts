import { describe, expect, it } from 'vitest';
import { isInside, workdirName } from './task-workdir.js';

describe('workdirName', () => {
  it('keeps a plain task id', () => {
    expect(workdirName('0190a6e2-7c1e-7abc-8def-0123456789ab')).toBe('0190a6e2-7c1e-7abc-8def-0123456789ab');
  });

  it('never yields . or .. or a path', () => {
    for (const id of ['.', '..', '...', '../etc', 'a/b', 'a:b']) {
      const name = workdirName(id);
      expect(name).toMatch(/^[A-Za-z0-9_][A-Za-z0-9._-]*$/);
      expect(name).not.toContain('/');
    }
  });

  it('gives ids that differ only in unsafe characters different directories', () => {
    expect(workdirName('job:1')).not.toBe(workdirName('job_1'));
    expect(workdirName('job:1')).not.toBe(workdirName('job.1'));
  });

  it('bounds the length of long ids, keeping them apart', () => {
    const a = `${'x'.repeat(150)}a`;
    const b = `${'x'.repeat(150)}b`;
    expect(workdirName(a).length).toBeLessThanOrEqual(117);
    expect(workdirName(a)).not.toBe(workdirName(b));
  });
});

describe('isInside', () => {
  it('tells inside from outside', () => {
    expect(isInside('/w/t', '/w/t')).toBe(true);
    expect(isInside('/w/t', '/w/t/a/b')).toBe(true);
    expect(isInside('/w/t', '/w/t/..hidden')).toBe(true);
    expect(isInside('/w/t', '/w')).toBe(false);
    expect(isInside('/w/t', '/w/tt')).toBe(false);
    expect(isInside('/w/t', '/etc')).toBe(false);
  });
});
