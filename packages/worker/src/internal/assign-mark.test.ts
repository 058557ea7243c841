import { describe, expect, it } from 'vitest';
import { nextAssignMark } from './assign-mark.js';

/** The marks after each assign of `seqs`, from nothing. */
function marks(seqs: readonly { seq: number; base?: number; epoch?: string }[]): (number | string)[] {
  let mark: ReturnType<typeof nextAssignMark> | undefined;
  return seqs.map((m) => {
    mark = nextAssignMark(mark, { epoch: m.epoch ?? 'tm-1', seq: m.seq, ...(m.base === undefined ? {} : { base: m.base }) });
    return mark.epoch === 'tm-1' ? mark.seq : `${mark.epoch}:${mark.seq}`;
  });
}

describe('nextAssignMark', () => {
  it('moves over assigns taken in without a gap', () => {
    expect(marks([{ seq: 1, base: 1 }, { seq: 2, base: 1 }, { seq: 3, base: 1 }])).toEqual([1, 2, 3]);
  });

  it('stops before an assign that never arrived, whatever comes after it', () => {
    expect(marks([{ seq: 1, base: 1 }, { seq: 3, base: 1 }, { seq: 4, base: 1 }, { seq: 5, base: 1 }])).toEqual([1, 1, 1, 1]);
  });

  it('confirms nothing when the first assign of a run was lost', () => {
    expect(marks([{ seq: 2, base: 1 }, { seq: 3, base: 1 }])).toEqual([0, 0]);
  });

  it('starts again from a new base (the task-manager forgot the worker), past a gap of the old run', () => {
    expect(marks([{ seq: 1, base: 1 }, { seq: 3, base: 1 }, { seq: 10, base: 10 }, { seq: 11, base: 10 }])).toEqual([1, 1, 10, 11]);
  });

  it('ignores an assign seen again', () => {
    expect(marks([{ seq: 1, base: 1 }, { seq: 2, base: 1 }, { seq: 1, base: 1 }])).toEqual([1, 2, 2]);
  });

  it('starts afresh for another task-manager process', () => {
    expect(marks([{ seq: 5, base: 1 }, { seq: 1, base: 1, epoch: 'tm-2' }, { seq: 2, base: 1, epoch: 'tm-2' }])).toEqual([0, 'tm-2:1', 'tm-2:2']);
  });

  it('keeps the highest seq seen for a task-manager that sends no base', () => {
    expect(marks([{ seq: 1 }, { seq: 3 }, { seq: 2 }])).toEqual([1, 3, 3]);
  });
});
