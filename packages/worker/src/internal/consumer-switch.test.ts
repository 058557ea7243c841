import type { ConsumerHandle } from '@sje/core';
import { describe, expect, it } from 'vitest';
import { ConsumerSwitch } from './consumer-switch.js';

function fakeHandle(log: string[], name: string, delayMs = 5): ConsumerHandle & { consuming: number } {
  const h = {
    consuming: 0,
    pause: async () => {
      await new Promise((r) => setTimeout(r, delayMs));
      log.push(`${name}:pause`);
      h.consuming = 0;
    },
    resume: async () => {
      await new Promise((r) => setTimeout(r, delayMs));
      log.push(`${name}:resume`);
      h.consuming += 1;
    },
    setPrefetch: () => Promise.resolve(),
  };
  return h;
}

describe('ConsumerSwitch', () => {
  it('applies only changes, to every handle', async () => {
    const log: string[] = [];
    const a = fakeHandle(log, 'a');
    const b = fakeHandle(log, 'b');
    const sw = new ConsumerSwitch([a, b], false);
    await sw.set(false);
    expect(log).toEqual([]);
    await sw.set(true);
    expect(log.sort()).toEqual(['a:resume', 'b:resume']);
    expect(sw.on).toBe(true);
  });

  it('coalesces a burst of calls and never resumes a consumer twice', async () => {
    const log: string[] = [];
    const a = fakeHandle(log, 'a');
    const sw = new ConsumerSwitch([a], false);
    const calls = [sw.set(true), sw.set(false), sw.set(true), sw.set(true), sw.set(false), sw.set(true)];
    await Promise.all(calls);
    await sw.settle();
    expect(a.consuming).toBe(1);
    // Changes run one after another: never two resumes without a pause between.
    for (let i = 1; i < log.length; i++) expect(log[i]).not.toBe(log[i - 1]);
    expect(log.at(-1)).toBe('a:resume');
  });

  it('stays off after lockOff', async () => {
    const log: string[] = [];
    const a = fakeHandle(log, 'a');
    const sw = new ConsumerSwitch([a], true);
    await sw.lockOff();
    await sw.set(true);
    expect(log).toEqual(['a:pause']);
    expect(sw.on).toBe(false);
  });

  it('reports a failed change and carries on', async () => {
    const errors: unknown[] = [];
    const handle: ConsumerHandle = {
      pause: () => Promise.reject(new Error('channel closed')),
      resume: () => Promise.resolve(),
      setPrefetch: () => Promise.resolve(),
    };
    const sw = new ConsumerSwitch([handle], true, (e) => errors.push(e));
    await sw.set(false);
    expect(errors).toHaveLength(1);
    await sw.set(true);
    expect(errors).toHaveLength(1);
  });
});
