import type { DispatchMessage } from '@sje/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LeaseBook } from './lease-book.js';
import { shareDelivery, type DeliveryPart } from './shared-delivery.js';

function task(lease: string, id = `task-${lease}`): DispatchMessage {
  return { type: 'dispatch', task_id: id, lease_id: lease, function: 'echo', params: {}, attempt: 1, queue: 'default', priority: 0, labels: {} };
}
const part = (): DeliveryPart => shareDelivery(1, () => undefined)[0]!;

describe('LeaseBook', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('tells a new lease, a repeat to acknowledge later and a repeat to acknowledge now', () => {
    const book = new LeaseBook(() => Promise.resolve());
    expect(book.admit(task('a'), part())).toBe('new');
    expect(book.admit(task('a'), part())).toBe('attached');
    expect(book.get('a')?.parts).toHaveLength(2);
    book.setState('a', 'running');
    expect(book.admit(task('a'), part())).toBe('duplicate');
    expect(book.get('a')?.parts).toHaveLength(2);
  });

  it('sends a claim, repeats it every resend interval until answered', async () => {
    const sent: string[] = [];
    const book = new LeaseBook((t) => (sent.push(t.lease_id), Promise.resolve()), 5000);
    book.admit(task('a'), part());
    const answer = book.claim('a');
    expect(sent).toEqual(['a']);
    vi.advanceTimersByTime(4999);
    expect(sent).toEqual(['a']);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual(['a', 'a']);
    vi.advanceTimersByTime(5000);
    expect(sent).toHaveLength(3);
    expect(book.answer('task-a', 'a', true)).toBe(true);
    await expect(answer).resolves.toBe(true);
    vi.advanceTimersByTime(20_000);
    expect(sent).toHaveLength(3);
  });

  it('repeats a claim whose publish failed', async () => {
    let fail = true;
    const errors: string[] = [];
    const sent: string[] = [];
    const book = new LeaseBook(
      (t) => {
        if (fail) return Promise.reject(new Error('no connection'));
        sent.push(t.lease_id);
        return Promise.resolve();
      },
      5000,
      (_t, err) => errors.push((err as Error).message),
    );
    book.admit(task('a'), part());
    void book.claim('a');
    await vi.advanceTimersByTimeAsync(0);
    expect(errors).toEqual(['no connection']);
    fail = false;
    await vi.advanceTimersByTimeAsync(5000);
    expect(sent).toEqual(['a']);
  });

  it('repeats a claim whose publish threw synchronously', async () => {
    let fail = true;
    const errors: string[] = [];
    const sent: string[] = [];
    const book = new LeaseBook(
      (t) => {
        if (fail) throw new Error('channel closed');
        sent.push(t.lease_id);
        return Promise.resolve();
      },
      5000,
      (_t, err) => errors.push((err as Error).message),
    );
    book.admit(task('a'), part());
    const answer = book.claim('a');
    await vi.advanceTimersByTimeAsync(0);
    expect(errors).toEqual(['channel closed']);
    fail = false;
    await vi.advanceTimersByTimeAsync(5000);
    expect(sent).toEqual(['a']);
    expect(book.answer('task-a', 'a', true)).toBe(true);
    await expect(answer).resolves.toBe(true);
  });

  it('resendAll re-sends pending claims at once', () => {
    const sent: string[] = [];
    const book = new LeaseBook((t) => (sent.push(t.lease_id), Promise.resolve()), 5000);
    book.admit(task('a'), part());
    book.admit(task('b'), part());
    void book.claim('a');
    sent.length = 0;
    book.resendAll();
    expect(sent).toEqual(['a']);
  });

  it('ignores an answer for another task, a lease not claimed, or a refusal twice', async () => {
    const book = new LeaseBook(() => Promise.resolve());
    book.admit(task('a'), part());
    expect(book.answer('task-a', 'a', true)).toBe(false); // not claimed yet
    const answer = book.claim('a');
    expect(book.answer('other-task', 'a', true)).toBe(false);
    expect(book.answer('task-a', 'zzz', true)).toBe(false);
    expect(book.answer('task-a', 'a', false)).toBe(true);
    expect(book.answer('task-a', 'a', true)).toBe(false);
    await expect(answer).resolves.toBe(false);
  });

  it('abandonClaims gives up pending claims; held() lists running and reporting leases', async () => {
    const book = new LeaseBook(() => Promise.resolve());
    book.admit(task('a'), part());
    book.admit(task('b'), part());
    book.admit(task('c'), part());
    const a = book.claim('a');
    book.setState('b', 'running');
    book.setState('c', 'reporting');
    expect(book.held()).toEqual([
      { task_id: 'task-b', lease_id: 'b' },
      { task_id: 'task-c', lease_id: 'c' },
    ]);
    book.abandonClaims();
    await expect(a).resolves.toBeUndefined();
    book.remove('b');
    expect(book.size).toBe(2);
  });

  it('counts its entries per state through admission, claim, run, report and removal', () => {
    const book = new LeaseBook(() => Promise.resolve());
    const counts = (): number[] => [book.count('waiting'), book.count('claiming'), book.count('running'), book.count('reporting')];
    book.admit(task('a'), part());
    book.admit(task('b'), part());
    book.admit(task('c'), part());
    book.admit(task('c'), part());
    expect(counts()).toEqual([3, 0, 0, 0]);
    void book.claim('a');
    void book.claim('b');
    void book.claim('b');
    expect(counts()).toEqual([1, 2, 0, 0]);
    book.setState('a', 'running');
    expect(counts()).toEqual([1, 1, 1, 0]);
    expect(book.count('running', 'claiming')).toBe(2);
    expect(book.inState('running', 'claiming').map((e) => e.task.lease_id).sort()).toEqual(['a', 'b']);
    book.setState('a', 'reporting');
    book.setState('zzz', 'running');
    expect(counts()).toEqual([1, 1, 0, 1]);
    book.remove('a');
    book.remove('a');
    book.remove('b');
    expect(counts()).toEqual([1, 0, 0, 0]);
    expect(book.inState('running')).toEqual([]);
    expect(book.size).toBe(1);
  });
});
