/**
 * Captures one output stream of a run: keeps its first `maxBytes` (and says
 * when more was dropped), remembers its last few KiB for error reports, and
 * hands each complete kept line to a callback for logging.
 */

/** What was kept of one stream. */
export interface CapturedOutput {
  /** The kept bytes as UTF-8 text. */
  text: string;
  /** Whether bytes past the cap were dropped. */
  truncated: boolean;
  /** Bytes the program wrote to the stream in all. */
  bytes: number;
}

/** Options of {@link OutputCapture}. */
export interface OutputCaptureOptions {
  /** Bytes kept. */
  maxBytes: number;
  /** Called with each kept line (without its line break). */
  onLine?: (line: string) => void;
  /** Called once, when the first byte past the cap arrives. */
  onTruncate?: () => void;
  /** Bytes remembered from the end of the stream. @defaultValue 4096 */
  tailBytes?: number;
  /** A line longer than this is passed on in pieces. @defaultValue 8192 */
  maxLineBytes?: number;
}

const NEWLINE = 0x0a;

/** Drops an incomplete UTF-8 sequence at the end of `buf`. */
export function trimUtf8End(buf: Buffer): Buffer {
  let i = buf.length - 1;
  while (i >= 0 && buf.length - i < 4 && ((buf[i] ?? 0) & 0xc0) === 0x80) i--;
  if (i < 0) return buf;
  const lead = buf[i] ?? 0;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return buf.length - i < need ? buf.subarray(0, i) : buf;
}

/** Drops UTF-8 continuation bytes at the start of `buf` (a cut in mid-character). */
export function trimUtf8Start(buf: Buffer): Buffer {
  let i = 0;
  while (i < 3 && i < buf.length && ((buf[i] ?? 0) & 0xc0) === 0x80) i++;
  return buf.subarray(i);
}

/**
 * One stream's capture.
 * @example
 * ```ts
 * const out = new OutputCapture({ maxBytes: 1024, onLine: (l) => log.info('exec output', { line: l }) });
 * child.stdout.on('data', (c: Buffer) => out.push(c));
 * child.stdout.on('end', () => out.end());
 * ```
 */
export class OutputCapture {
  private readonly kept: Buffer[] = [];
  private keptBytes = 0;
  private seen = 0;
  private tailBuf: Buffer = Buffer.alloc(0);
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private truncated = false;
  private readonly tailBytes: number;
  private readonly maxLineBytes: number;

  constructor(private readonly options: OutputCaptureOptions) {
    this.tailBytes = options.tailBytes ?? 4096;
    this.maxLineBytes = options.maxLineBytes ?? 8192;
  }

  /** Takes the next chunk of the stream. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.seen += chunk.length;
    this.tailBuf =
      this.tailBuf.length + chunk.length <= this.tailBytes
        ? Buffer.concat([this.tailBuf, chunk])
        : Buffer.concat([this.tailBuf, chunk]).subarray(-this.tailBytes);
    const room = this.options.maxBytes - this.keptBytes;
    if (room > 0) {
      const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
      this.kept.push(part);
      this.keptBytes += part.length;
      this.split(part);
    }
    if (chunk.length > room && !this.truncated) {
      this.truncated = true;
      this.flushLine();
      this.options.onTruncate?.();
    }
  }

  /** The stream ended: passes on a last line without a line break. */
  end(): void {
    this.flushLine();
  }

  /** What was kept. */
  result(): CapturedOutput {
    const buf = Buffer.concat(this.kept);
    return { text: (this.truncated ? trimUtf8End(buf) : buf).toString('utf8'), truncated: this.truncated, bytes: this.seen };
  }

  /** The last bytes of the stream (up to `tailBytes`), as text. */
  tail(): string {
    const cut = this.seen > this.tailBuf.length ? trimUtf8Start(this.tailBuf) : this.tailBuf;
    return cut.toString('utf8');
  }

  private split(part: Buffer): void {
    if (!this.options.onLine) return;
    let start = 0;
    for (let nl = part.indexOf(NEWLINE, start); nl !== -1; nl = part.indexOf(NEWLINE, start)) {
      this.addPending(part.subarray(start, nl));
      this.flushLine(true);
      start = nl + 1;
    }
    if (start < part.length) this.addPending(part.subarray(start));
  }

  private addPending(piece: Buffer): void {
    if (piece.length === 0) return;
    this.pending.push(piece);
    this.pendingBytes += piece.length;
    while (this.pendingBytes > this.maxLineBytes) {
      const all = Buffer.concat(this.pending);
      const head = trimUtf8End(all.subarray(0, this.maxLineBytes));
      const cut = head.length > 0 ? head.length : this.maxLineBytes;
      this.options.onLine?.(all.subarray(0, cut).toString('utf8'));
      const rest = all.subarray(cut);
      this.pending = rest.length > 0 ? [rest] : [];
      this.pendingBytes = rest.length;
    }
  }

  /** Emits the pending line; `always` emits an empty line too (a bare line break). */
  private flushLine(always = false): void {
    if (!this.options.onLine) return;
    if (this.pendingBytes === 0 && !always) return;
    let line = Buffer.concat(this.pending).toString('utf8');
    if (line.endsWith('\r')) line = line.slice(0, -1);
    this.pending = [];
    this.pendingBytes = 0;
    this.options.onLine(line);
  }
}
