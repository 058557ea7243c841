import { describe, expect, it } from 'vitest';
import type { RunReport } from '@sje/core';
import { ReportCoalescer } from './report-coalescer.js';

const report = (n: number): RunReport => ({ type: 'progress', task_id: `t${n}`, lease_id: 'l', progress: n, at: 'now' });

describe('ReportCoalescer', () => {
  it('sends a report at once when nothing is in flight', async () => {
    const sent: unknown[] = [];
    const c = new ReportCoalescer(async (m) => void sent.push(m), 1);
    await c.send(report(1));
    expect(sent).toEqual([report(1)]);
  });

  it('batches reports that arrive while a publish awaits its confirm, and resolves each when its batch is confirmed', async () => {
    const sent: unknown[] = [];
    const confirms: (() => void)[] = [];
    const c = new ReportCoalescer((m) => {
      sent.push(m);
      return new Promise<void>((r) => confirms.push(r));
    }, 1);
    const first = c.send(report(1));
    const rest = [c.send(report(2)), c.send(report(3)), c.send(report(4))];
    expect(sent).toHaveLength(1);
    expect(c.backlog).toBe(3);
    confirms.shift()!();
    await first;
    await new Promise((r) => setImmediate(r));
    expect(sent[1]).toEqual({ type: 'reports', reports: [report(2), report(3), report(4)] });
    confirms.shift()!();
    await Promise.all(rest);
  });

  it('rejects every report of a failed publish', async () => {
    const c = new ReportCoalescer(async () => {
      throw new Error('broker away');
    }, 1);
    await expect(c.send(report(1))).rejects.toThrow('broker away');
  });
});
