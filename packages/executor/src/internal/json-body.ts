/**
 * Reads a JSON request body: checks the media type, enforces the size limit
 * while reading, decodes strict UTF-8 and parses with `JSON.parse` (which
 * makes a `__proto__` key an ordinary own property, never a prototype).
 */
import type { IncomingMessage } from 'node:http';
import { ErrorCode, SjeError } from '@sje/core';

const JSON_TYPE = /^application\/(?:[a-z0-9!#$&^_.+-]+\+)?json$/;

/** Whether a `Content-Type` header names JSON (`application/json`, `application/*+json`) in UTF-8. */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const [type = '', ...params] = header.split(';').map((s) => s.trim().toLowerCase());
  if (!JSON_TYPE.test(type)) return false;
  for (const param of params) {
    const [key, value = ''] = param.split('=').map((s) => s.trim());
    if (key === 'charset' && !['utf-8', 'utf8', '"utf-8"'].includes(value)) return false;
  }
  return true;
}

/**
 * Reads and parses the body of `req`.
 * @throws SjeError `UNSUPPORTED_MEDIA_TYPE`, `PAYLOAD_TOO_LARGE` or `INVALID_JSON`.
 */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  if (!isJsonContentType(req.headers['content-type'])) {
    throw new SjeError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, 'the request body must be JSON (Content-Type: application/json; charset=utf-8)', {
      data: { content_type: req.headers['content-type'] ?? null },
    });
  }
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'identity') {
    throw new SjeError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, `content encoding '${encoding}' is not supported`, { data: { content_encoding: encoding } });
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const raw = await readLimited(req, limit);
  if (raw.length === 0) throw new SjeError(ErrorCode.INVALID_JSON, 'the request body is empty');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new SjeError(ErrorCode.INVALID_JSON, 'the request body is not valid UTF-8');
  }
  const depth = nestingDepth(text);
  if (depth > MAX_JSON_DEPTH) {
    throw new SjeError(ErrorCode.VALIDATION, `the request body nests objects or arrays ${depth} levels deep; at most ${MAX_JSON_DEPTH} are accepted`, {
      data: { field: '(body)', max_depth: MAX_JSON_DEPTH },
    });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new SjeError(ErrorCode.INVALID_JSON, `the request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** Deepest nesting of objects and arrays a request body may have. */
export const MAX_JSON_DEPTH = 64;

/**
 * The deepest nesting of `{`/`[` in JSON text, ignoring brackets inside
 * strings (one pass, before parsing, so a hostile body costs nothing more).
 * A string's contents are skipped with `indexOf`, not character by
 * character: in a body with large params they are most of the text.
 */
export function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) i = closingQuote(text, i);
    else if (c === 0x7b || c === 0x5b) {
      depth += 1;
      if (depth > max) max = depth;
    } else if (c === 0x7d || c === 0x5d) depth -= 1;
  }
  return max;
}

/** Where the string opened by the quote at `open` ends: its closing quote, or the end of the text. */
function closingQuote(text: string, open: number): number {
  for (let from = open + 1; ; ) {
    const quote = text.indexOf('"', from);
    if (quote === -1) return text.length;
    // A quote after an odd number of backslashes is escaped.
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === 0x5c) backslashes += 1;
    if (backslashes % 2 === 0) return quote;
    from = quote + 1;
  }
}

function tooLarge(limit: number): SjeError {
  return new SjeError(ErrorCode.PAYLOAD_TOO_LARGE, `the request body is larger than ${limit} bytes`, { data: { limit } });
}

function readLimited(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        // Discard the rest so the connection can carry the answer.
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(new SjeError(ErrorCode.INVALID_JSON, `the request body could not be read: ${err.message}`));
    };
    const onAborted = (): void => {
      cleanup();
      reject(new SjeError(ErrorCode.INVALID_JSON, 'the request was aborted before its body was complete'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}
