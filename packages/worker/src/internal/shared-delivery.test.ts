import { describe, expect, it } from 'vitest';
import { shareDelivery } from './shared-delivery.js';

describe('shareDelivery', () => {
  it('acknowledges a single task as soon as it settles', () => {
    const calls: boolean[] = [];
    const [part] = shareDelivery(1, (requeue) => calls.push(requeue));
    expect(calls).toEqual([]);
    part!.settle('done');
    expect(calls).toEqual([false]);
    expect(part!.settled).toBe(true);
  });

  it('acknowledges a group only when its last task settles, once', () => {
    const calls: boolean[] = [];
    const parts = shareDelivery(3, (requeue) => calls.push(requeue));
    parts[2]!.settle('done');
    parts[0]!.settle('done');
    // A part settled twice counts once.
    parts[0]!.settle('done');
    expect(calls).toEqual([]);
    parts[1]!.settle('done');
    expect(calls).toEqual([false]);
    parts[1]!.settle('give-back');
    expect(calls).toEqual([false]);
  });

  it('requeues the whole group once all are settled when any task was given back', () => {
    const calls: boolean[] = [];
    const parts = shareDelivery(3, (requeue) => calls.push(requeue));
    parts[0]!.settle('done');
    parts[1]!.settle('give-back');
    expect(calls).toEqual([]);
    parts[2]!.settle('done');
    expect(calls).toEqual([true]);
  });

  it('refuses an empty delivery', () => {
    expect(() => shareDelivery(0, () => undefined)).toThrow(RangeError);
  });
});
