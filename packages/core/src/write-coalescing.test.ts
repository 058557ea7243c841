import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { coalesceWrites } from './write-coalescing.js';

/** A stream that records each underlying write as the list of chunks it carried. */
function recorder(): { stream: Writable; writes: string[][] } {
  const writes: string[][] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      writes.push([chunk.toString()]);
      cb();
    },
    writev(chunks, cb) {
      writes.push(chunks.map((c) => (c.chunk as Buffer).toString()));
      cb();
    },
  });
  return { stream, writes };
}

describe('coalesceWrites', () => {
  it('sends the writes of one turn as one writev, in order, and a later turn’s separately', async () => {
    const { stream, writes } = recorder();
    coalesceWrites(stream);
    stream.write('a');
    stream.write('b');
    stream.write('c');
    expect(writes).toEqual([]);
    await new Promise((r) => setImmediate(r));
    stream.write('d');
    await new Promise((r) => setImmediate(r));
    expect(writes).toEqual([['a', 'b', 'c'], ['d']]);
  });

  it('without it, every write is its own', async () => {
    const { stream, writes } = recorder();
    stream.write('a');
    stream.write('b');
    await new Promise((r) => setImmediate(r));
    expect(writes.length).toBeGreaterThan(1);
  });
});
