import { afterEach, describe, expect, it, vi } from 'vitest';
import { ReceiptBook } from './receipt-book.js';

describe('ReceiptBook', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('numbers receipts and resolves each true when its answer comes', async () => {
    const book = new ReceiptBook(1000);
    const a = book.open();
    const b = book.open();
    expect(b.seq).toBe(a.seq + 1);
    book.stored(b.seq);
    await expect(b.stored).resolves.toBe(true);
    expect(book.size).toBe(1);
    book.stored(a.seq);
    await expect(a.stored).resolves.toBe(true);
    expect(book.size).toBe(0);
  });

  it('resolves false after the time limit, and ignores an answer that comes later', async () => {
    vi.useFakeTimers();
    const book = new ReceiptBook(1000);
    const r = book.open();
    let settled: boolean | undefined;
    void r.stored.then((v) => (settled = v));
    await vi.advanceTimersByTimeAsync(999);
    expect(settled).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toBe(false);
    book.stored(r.seq);
    expect(book.size).toBe(0);
  });

  it('gives up one receipt, or all of them, at once', async () => {
    const book = new ReceiptBook(60_000);
    const a = book.open();
    const b = book.open();
    const c = book.open();
    book.cancel(a.seq);
    await expect(a.stored).resolves.toBe(false);
    book.cancelAll();
    await expect(Promise.all([b.stored, c.stored])).resolves.toEqual([false, false]);
    expect(book.size).toBe(0);
  });
});
