/**
 * The executor's API keys: resolved once at start-up from
 * `security.api_keys` (a digest, a file or an environment variable per key)
 * into SHA-256 digests, and the authentication mode that follows from them.
 * Keys themselves are never kept in clear or logged; only their ids are.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError, type ApiKeyEntry, type ApiKeyScope, type SecurityConfig } from '@sje/core';

/** Shortest key accepted from a file or an environment variable. */
export const MIN_KEY_LENGTH = 16;

/** A configured key, ready to be compared. */
export interface ResolvedApiKey {
  id: string;
  /** SHA-256 of the key. */
  digest: Buffer;
  scopes: ReadonlySet<ApiKeyScope>;
  tenant: string | undefined;
}

/** How the REST API authenticates callers. */
export interface AuthSettings {
  /** `keys`: every route but the health checks needs a key; `none`: the API is open. */
  mode: 'keys' | 'none';
  keys: ResolvedApiKey[];
  /** `GET /metrics` answers without a key. */
  metricsOpen: boolean;
  /** SHA-256 of `security.ops_token`, which also opens `GET /metrics`; undefined when unset. */
  opsTokenDigest: Buffer | undefined;
  /** Why the mode is what it is (for the start-up log). */
  reason: string;
}

/** SHA-256 of a text, as bytes. */
export function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function keyText(entry: ApiKeyEntry, index: number, env: NodeJS.ProcessEnv): string {
  const where = `security.api_keys[${index}] (id '${entry.id}')`;
  let text: string | undefined;
  if (entry.key_file !== undefined) {
    try {
      text = readFileSync(entry.key_file, 'utf8').trim();
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new ConfigError(`${where}: cannot read key_file ${entry.key_file} (${reason})`, {
        key: `security.api_keys[${index}].key_file`,
        key_id: entry.id,
      });
    }
  } else if (entry.key_env !== undefined) {
    text = env[entry.key_env]?.trim();
    if (text === undefined || text === '') {
      throw new ConfigError(`${where}: environment variable ${entry.key_env} (key_env) is not set`, {
        key: `security.api_keys[${index}].key_env`,
        key_id: entry.id,
      });
    }
  }
  if (text === undefined) throw new ConfigError(`${where}: no key source`, { key: `security.api_keys[${index}]`, key_id: entry.id });
  if (text.length < MIN_KEY_LENGTH) {
    throw new ConfigError(
      `${where}: the key is shorter than ${MIN_KEY_LENGTH} characters; use a long random key (e.g. openssl rand -hex 32)`,
      {
        key: `security.api_keys[${index}]`,
        key_id: entry.id,
      },
    );
  }
  if (/\s/.test(text))
    throw new ConfigError(`${where}: the key contains white space`, { key: `security.api_keys[${index}]`, key_id: entry.id });
  return text;
}

/** Resolves one configured key into its digest. */
function resolveKey(entry: ApiKeyEntry, index: number, env: NodeJS.ProcessEnv): ResolvedApiKey {
  const digest = entry.key_sha256 !== undefined ? Buffer.from(entry.key_sha256, 'hex') : sha256(keyText(entry, index, env));
  return { id: entry.id, digest, scopes: new Set(entry.scopes), tenant: entry.tenant };
}

/**
 * Resolves `security` into the API's authentication settings.
 * @throws ConfigError naming the key when a key cannot be read, is too
 *   short, two ids share one key, or `auth: keys` has no key.
 * @example
 * ```ts
 * const auth = resolveAuth(config.security, process.env);
 * if (auth.mode === 'none') logger.warn('the REST API is open');
 * ```
 */
export function resolveAuth(security: SecurityConfig, env: NodeJS.ProcessEnv): AuthSettings {
  const opsTokenDigest = security.ops_token === '' ? undefined : sha256(security.ops_token);
  const base = { metricsOpen: security.metrics_open, opsTokenDigest };
  if (security.auth === 'none') {
    return { ...base, mode: 'none', keys: [], reason: 'security.auth is none' };
  }
  const keys = security.api_keys.map((entry, i) => resolveKey(entry, i, env));
  const seen = new Map<string, string>();
  for (const k of keys) {
    const hex = k.digest.toString('hex');
    const other = seen.get(hex);
    if (other !== undefined)
      throw new ConfigError(`security.api_keys: keys '${other}' and '${k.id}' are the same key`, { key: 'security.api_keys' });
    seen.set(hex, k.id);
  }
  if (keys.length === 0) {
    if (security.auth === 'keys')
      throw new ConfigError('security.auth is keys but security.api_keys is empty: no client could call the API', {
        key: 'security.api_keys',
      });
    return { ...base, mode: 'none', keys: [], reason: 'no API key is configured (security.api_keys)' };
  }
  return { ...base, mode: 'keys', keys, reason: `${keys.length} API key(s) configured` };
}
