import { describe, expect, it } from 'vitest';
import { OutputCapture, trimUtf8End, trimUtf8Start } from './output-capture.js';

function capture(
  maxBytes: number,
  extra: { tailBytes?: number; maxLineBytes?: number } = {},
): { out: OutputCapture; lines: string[]; truncations: number[] } {
  const lines: string[] = [];
  const truncations: number[] = [];
  const out = new OutputCapture({ maxBytes, onLine: (l) => lines.push(l), onTruncate: () => truncations.push(1), ...extra });
  return { out, lines, truncations };
}

describe('OutputCapture', () => {
  it('joins lines split across chunks and strips CR', () => {
    const { out, lines } = capture(1000);
    out.push(Buffer.from('alp'));
    out.push(Buffer.from('ha\r\nbeta\n\ngam'));
    out.push(Buffer.from('ma'));
    out.end();
    expect(lines).toEqual(['alpha', 'beta', '', 'gamma']);
    expect(out.result()).toEqual({ text: 'alpha\r\nbeta\n\ngamma', truncated: false, bytes: 18 });
  });

  it('keeps maxBytes, flags the truncation once, and logs only kept lines', () => {
    const { out, lines, truncations } = capture(8);
    out.push(Buffer.from('one\ntwo\nthree\n'));
    out.push(Buffer.from('four\n'));
    out.end();
    expect(out.result()).toEqual({ text: 'one\ntwo\n', truncated: true, bytes: 19 });
    expect(lines).toEqual(['one', 'two']);
    expect(truncations).toHaveLength(1);
  });

  it('never cuts a character in half at the cap', () => {
    const { out } = capture(4);
    out.push(Buffer.from('abcé')); // é is 2 bytes: 5 bytes in all
    expect(out.result().text).toBe('abc');
  });

  it('remembers the tail of the stream, past the cap', () => {
    const { out } = capture(2, { tailBytes: 6 });
    out.push(Buffer.from('0123456789'));
    out.push(Buffer.from('ab'));
    expect(out.tail()).toBe('6789ab');
  });

  it('passes a very long line on in pieces', () => {
    const { out, lines } = capture(100, { maxLineBytes: 4 });
    out.push(Buffer.from('abcdefghij\nxy\n'));
    expect(lines).toEqual(['abcd', 'efgh', 'ij', 'xy']);
  });
});

describe('UTF-8 trimming', () => {
  it('drops an incomplete sequence at the end, keeps complete ones', () => {
    const euro = Buffer.from('€'); // 3 bytes
    expect(trimUtf8End(Buffer.concat([Buffer.from('a'), euro.subarray(0, 2)])).toString()).toBe('a');
    expect(trimUtf8End(Buffer.concat([Buffer.from('a'), euro])).toString()).toBe('a€');
  });

  it('drops continuation bytes at the start', () => {
    const euro = Buffer.from('€');
    expect(trimUtf8Start(Buffer.concat([euro.subarray(1), Buffer.from('z')])).toString()).toBe('z');
  });
});
