import { describe, expect, it } from 'vitest';
import { PublishCoalescer } from './publish-coalescer.js';

/** A publish whose confirms the test hands out one by one. */
function heldPublish(): { sent: unknown[]; confirm: () => void; fail: (err: Error) => void; publish: (m: unknown) => Promise<void> } {
  const sent: unknown[] = [];
  const pending: { resolve: () => void; reject: (err: Error) => void }[] = [];
  return {
    sent,
    confirm: () => pending.shift()!.resolve(),
    fail: (err) => pending.shift()!.reject(err),
    publish: (m) => {
      sent.push(m);
      return new Promise<void>((resolve, reject) => pending.push({ resolve, reject }));
    },
  };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('PublishCoalescer', () => {
  it('sends up to maxInFlight items at once, alone, and batches the rest until a confirm returns', async () => {
    const p = heldPublish();
    const c = new PublishCoalescer<number, number[]>({ publish: p.publish, combine: (items) => [...items], maxInFlight: 2 });
    const all = [1, 2, 3, 4, 5].map((n) => c.send(n));
    expect(p.sent).toEqual([[1], [2]]);
    expect(c.backlog).toBe(3);
    p.confirm();
    await tick();
    expect(p.sent).toEqual([[1], [2], [3, 4, 5]]);
    p.confirm();
    p.confirm();
    await Promise.all(all);
    expect(c.backlog).toBe(0);
  });

  it('keeps a batch within maxItems and maxWeight', async () => {
    const p = heldPublish();
    const c = new PublishCoalescer<number, number[]>({ publish: p.publish, combine: (items) => [...items], maxInFlight: 1, maxItems: 3, maxWeight: 10, weight: (n) => n });
    const all = [1, 1, 1, 1, 1, 2, 6, 3].map((n) => c.send(n));
    for (let i = 0; i < 4; i++) {
      p.confirm();
      await tick();
    }
    expect(p.sent).toEqual([[1], [1, 1, 1], [1, 2, 6], [3]]);
    await Promise.all(all);
  });

  it('sends an item that fills a message on its own at once, even with publishes in flight', async () => {
    const p = heldPublish();
    const c = new PublishCoalescer<number, number[]>({ publish: p.publish, combine: (items) => [...items], maxInFlight: 1, maxWeight: 10, weight: (n) => n });
    const all = [1, 2, 10, 3].map((n) => c.send(n));
    expect(p.sent).toEqual([[1], [10]]);
    p.confirm();
    await tick();
    expect(p.sent).toEqual([[1], [10], [2, 3]]);
    p.confirm();
    p.confirm();
    await Promise.all(all);
  });

  it('sends an item that must travel alone in a message of its own, after the items before it', async () => {
    const p = heldPublish();
    const c = new PublishCoalescer<string, string[]>({ publish: p.publish, combine: (items) => [...items], maxInFlight: 1, alone: (s) => s.startsWith('!') });
    const all = ['a', 'b', 'c', '!x', 'd', 'e'].map((s) => c.send(s));
    for (let i = 0; i < 4; i++) {
      p.confirm();
      await tick();
    }
    expect(p.sent).toEqual([['a'], ['b', 'c'], ['!x'], ['d', 'e']]);
    await Promise.all(all);
  });

  it('rejects every item of a publish that failed, and goes on with the next', async () => {
    const p = heldPublish();
    const c = new PublishCoalescer<string, string[]>({ publish: p.publish, combine: (items) => [...items], maxInFlight: 1 });
    const first = c.send('a');
    const second = c.send('b');
    const third = c.send('c');
    p.fail(new Error('broker away'));
    await expect(first).rejects.toThrow('broker away');
    await tick();
    expect(p.sent).toEqual([['a'], ['b', 'c']]);
    p.fail(new Error('still away'));
    await expect(second).rejects.toThrow('still away');
    await expect(third).rejects.toThrow('still away');
  });
});
