import type { RunReport } from '@sje/core';
import { describe, expect, it } from 'vitest';
import { TurnCoalescer } from './turn-coalescer.js';

const claim = (n: number): RunReport => ({ type: 'started', task_id: `t${n}`, lease_id: `l${n}`, worker_id: 'w', host: 'h', at: 'now' });

describe('TurnCoalescer', () => {
  it('sends a report made alone in its turn as it is', async () => {
    const sent: unknown[] = [];
    const c = new TurnCoalescer(async (m) => void sent.push(m));
    await c.send(claim(1));
    expect(sent).toEqual([claim(1)]);
  });

  it('sends the reports of one turn as one message, and those of the next turn without waiting for the first confirm', async () => {
    const sent: unknown[] = [];
    const confirms: (() => void)[] = [];
    const c = new TurnCoalescer((m) => {
      sent.push(m);
      return new Promise<void>((r) => confirms.push(r));
    });
    const first = [c.send(claim(1)), c.send(claim(2)), c.send(claim(3))];
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual([{ type: 'reports', reports: [claim(1), claim(2), claim(3)] }]);
    const second = c.send(claim(4));
    await new Promise((r) => setImmediate(r));
    // Not held back by the unconfirmed first message.
    expect(sent).toHaveLength(2);
    expect(sent[1]).toEqual(claim(4));
    confirms.forEach((r) => r());
    await Promise.all([...first, second]);
  });

  it('splits a turn larger than the batch size, and rejects the reports of a failed publish', async () => {
    const sent: { reports?: unknown[] }[] = [];
    const c = new TurnCoalescer(async (m) => {
      sent.push(m as { reports?: unknown[] });
      if (sent.length === 2) throw new Error('broker gone');
    }, 2);
    const results = await Promise.allSettled([1, 2, 3].map((n) => c.send(claim(n))));
    expect(sent.map((m) => m.reports?.length ?? 1)).toEqual([2, 1]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
  });
});
