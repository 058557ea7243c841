/**
 * Finds the API key of a request: `Authorization: Bearer <key>`, hashed with
 * SHA-256 and compared with every configured digest in constant time.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { sha256, type ResolvedApiKey } from './api-keys.js';

/** The bearer token of an `Authorization` header, or undefined when there is none or it is not a bearer token. */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const header = headers.authorization;
  if (typeof header !== 'string') return undefined;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m?.[1];
}

/**
 * The key whose digest equals the token's, or undefined. Every key is
 * compared (no early exit), so the time taken says nothing about which key
 * came close.
 */
export function findKey(keys: readonly ResolvedApiKey[], token: string): ResolvedApiKey | undefined {
  const digest = sha256(token);
  let found: ResolvedApiKey | undefined;
  for (const key of keys) {
    if (timingSafeEqual(key.digest, digest) && found === undefined) found = key;
  }
  return found;
}

/** Whether `token` is the ops token whose digest is `opsTokenDigest`. */
export function isOpsToken(opsTokenDigest: Buffer | undefined, token: string): boolean {
  return opsTokenDigest !== undefined && timingSafeEqual(opsTokenDigest, sha256(token));
}
