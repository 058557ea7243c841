import { describe, expect, it } from 'vitest';
import { ReliablePublisher } from './reliable-publisher.js';

describe('ReliablePublisher', () => {
  it('retries an item until it is confirmed', async () => {
    let failuresLeft = 3;
    const published: string[] = [];
    const retries: string[] = [];
    const p = new ReliablePublisher<string>(
      async (item) => {
        if (failuresLeft-- > 0) throw new Error('broker down');
        published.push(item);
      },
      10,
      (item) => retries.push(item),
    );
    await p.send('outcome-1');
    expect(published).toEqual(['outcome-1']);
    expect(retries).toEqual(['outcome-1', 'outcome-1', 'outcome-1']);
    expect(p.size).toBe(0);
  });

  it('kick() retries waiting items at once', async () => {
    let up = false;
    const p = new ReliablePublisher<string>(async () => {
      if (!up) throw new Error('down');
    }, 60_000);
    const sent = p.send('x');
    await new Promise((r) => setTimeout(r, 10));
    expect(p.size).toBe(1);
    expect(p.items()).toEqual(['x']);
    up = true;
    p.kick();
    await sent;
    expect(p.size).toBe(0);
  });

  it('drain() waits for every item, or reports false on timeout; stop() hands back the rest', async () => {
    let up = true;
    const p = new ReliablePublisher<number>(async () => {
      await new Promise((r) => setTimeout(r, 20));
      if (!up) throw new Error('down');
    }, 10);
    void p.send(1);
    void p.send(2);
    await expect(p.drain(1000)).resolves.toBe(true);
    up = false;
    void p.send(3);
    await expect(p.drain(100)).resolves.toBe(false);
    expect(p.stop()).toEqual([3]);
    expect(p.size).toBe(0);
  });

  it('catches a publisher that throws synchronously', async () => {
    let calls = 0;
    const p = new ReliablePublisher<string>((): Promise<void> => {
      calls += 1;
      if (calls === 1) throw new Error('sync failure');
      return Promise.resolve();
    }, 5);
    await p.send('a');
    expect(calls).toBe(2);
  });
});
