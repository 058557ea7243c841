import { describe, expect, it } from 'vitest';
import { SlotGate } from './slot-gate.js';

describe('SlotGate', () => {
  it('never hands out more slots than its capacity', async () => {
    const gate = new SlotGate(2);
    const got: number[] = [];
    const all = [0, 1, 2, 3, 4].map((i) => gate.acquire().then((ok) => ok && got.push(i)));
    await Promise.resolve();
    expect(gate.inUse).toBe(2);
    expect(gate.waiting).toBe(3);
    expect(got).toEqual([0, 1]);
    gate.release();
    await Promise.resolve();
    expect(got).toEqual([0, 1, 2]);
    expect(gate.inUse).toBe(2);
    gate.release();
    gate.release();
    gate.release();
    await Promise.all(all);
    expect(got).toEqual([0, 1, 2, 3, 4]);
    expect(gate.inUse).toBe(1);
  });

  it('reports saturation when full and when a slot frees', async () => {
    const events: boolean[] = [];
    const gate = new SlotGate(2, (s) => events.push(s));
    await gate.acquire();
    expect(events).toEqual([]);
    await gate.acquire();
    expect(events).toEqual([true]);
    const third = gate.acquire();
    expect(events).toEqual([true]);
    gate.release(); // goes to the waiter: still full
    await third;
    expect(events).toEqual([true]);
    gate.release();
    expect(events).toEqual([true, false]);
  });

  it('tryAcquire does not wait and does not jump the queue', async () => {
    const gate = new SlotGate(1);
    expect(gate.tryAcquire()).toBe(true);
    expect(gate.tryAcquire()).toBe(false);
    const waiter = gate.acquire();
    gate.release();
    await expect(waiter).resolves.toBe(true);
    expect(gate.tryAcquire()).toBe(false);
  });

  it('cancelWaiters resolves waiters with false and clears saturation', async () => {
    const events: boolean[] = [];
    const gate = new SlotGate(1, (s) => events.push(s));
    await gate.acquire();
    const w1 = gate.acquire();
    const w2 = gate.acquire();
    expect(gate.cancelWaiters()).toBe(2);
    await expect(w1).resolves.toBe(false);
    await expect(w2).resolves.toBe(false);
    gate.release();
    expect(gate.inUse).toBe(0);
    expect(events).toEqual([true, false]);
  });

  it('refuses a bad capacity and an unmatched release', () => {
    expect(() => new SlotGate(0)).toThrow(RangeError);
    expect(() => new SlotGate(1.5)).toThrow(RangeError);
    expect(() => new SlotGate(1).release()).toThrow(/without a matching acquire/);
  });
});
