import { describe, expect, it } from 'vitest';
import { HeldBacklog, type HeldTask } from './held-backlog.js';

let n = 0;
function task(extra: Partial<HeldTask> = {}): HeldTask {
  n += 1;
  return { task_id: `t-${n}`, lease_id: `l-${n}`, queue: 'default', function: 'echo', priority: 0, ...extra };
}

const ids = (it: Iterable<HeldTask>): string[] => [...it].map((t) => t.task_id);

describe('HeldBacklog', () => {
  it('hands out the highest priority first, oldest first within a priority, per pool', () => {
    const b = new HeldBacklog();
    const low1 = task();
    const high = task({ priority: 9 });
    const low2 = task();
    const mid = task({ priority: 4 });
    const other = task({ queue: 'gpu' });
    for (const t of [low1, high, low2, mid, other]) b.add(t);
    expect(ids(b.inOrder('default'))).toEqual([high.task_id, mid.task_id, low1.task_id, low2.task_id]);
    expect(ids(b.inOrder('default', 2))).toEqual([high.task_id, mid.task_id]);
    expect(ids(b.inOrder('gpu'))).toEqual([other.task_id]);
    expect([b.size, b.sizeOf('default'), b.sizeOf('gpu'), b.sizeOf('none')]).toEqual([5, 4, 1, 0]);
    expect([...b.queues()].sort()).toEqual(['default', 'gpu']);
    expect(b.queueOf(other.lease_id)).toBe('gpu');
  });

  it('removes by lease from anywhere, ignores unknown leases and a lease added twice', () => {
    const b = new HeldBacklog();
    const [a, m, z] = [task(), task(), task()];
    for (const t of [a, m, z, a]) b.add(t);
    expect(b.size).toBe(3);
    b.remove(m.lease_id);
    b.remove('unknown');
    expect(ids(b.inOrder('default'))).toEqual([a.task_id, z.task_id]);
    expect(b.queueOf(m.lease_id)).toBeUndefined();
    b.remove(a.lease_id);
    b.remove(z.lease_id);
    expect([b.size, b.sizeOf('default'), [...b.queues()]]).toEqual([0, 0, []]);
    expect(ids(b.inOrder('default'))).toEqual([]);
  });

  it('keeps order and counts over many additions and removals from the front (compaction)', () => {
    const b = new HeldBacklog();
    const all = Array.from({ length: 5000 }, () => task());
    for (const t of all) b.add(t);
    for (const t of all.slice(0, 3000)) b.remove(t.lease_id);
    const more = Array.from({ length: 10 }, () => task());
    for (const t of more) b.add(t);
    const order = ids(b.inOrder('default'));
    expect(order).toHaveLength(2010);
    expect(order.slice(0, 2)).toEqual([all[3000]!.task_id, all[3001]!.task_id]);
    expect(order.slice(-10)).toEqual(more.map((t) => t.task_id));
    expect(b.size).toBe(2010);
  });

  it('a lease removed and added again goes to the back', () => {
    const b = new HeldBacklog();
    const [first, second] = [task(), task()];
    b.add(first);
    b.add(second);
    b.remove(first.lease_id);
    b.add({ ...first });
    expect(ids(b.inOrder('default'))).toEqual([second.task_id, first.task_id]);
    expect(b.size).toBe(2);
  });
});
