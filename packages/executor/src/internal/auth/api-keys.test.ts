import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, type ApiKeyEntry, type DeepPartial, type SecurityConfig } from '@sje/core';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveAuth } from './api-keys.js';
import { bearerToken, findKey, isOpsToken } from './authenticator.js';

const dir = mkdtempSync(join(tmpdir(), 'sje-api-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hex = (text: string): string => createHash('sha256').update(text).digest('hex');

function security(overrides: DeepPartial<SecurityConfig>): SecurityConfig {
  return loadConfig({ env: {}, overrides: { security: overrides } }).security;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('resolveAuth', () => {
  it('auto: open without keys, keys as soon as one is configured', () => {
    expect(resolveAuth(security({}), {}).mode).toBe('none');
    const keys: ApiKeyEntry[] = [{ id: 'web', key_sha256: hex('k'.repeat(32)), scopes: ['read'], tenant: 'acme' }];
    const auth = resolveAuth(security({ api_keys: keys }), {});
    expect(auth.mode).toBe('keys');
    expect(auth.keys.map((k) => [k.id, k.tenant, [...k.scopes]])).toEqual([['web', 'acme', ['read']]]);
  });

  it('none ignores keys; keys without any key refuses to start', () => {
    const keys: ApiKeyEntry[] = [{ id: 'web', key_sha256: hex('k'.repeat(32)), scopes: ['read'], tenant: 'acme' }];
    expect(resolveAuth(security({ auth: 'none', api_keys: keys }), {}).mode).toBe('none');
    expect(configError(() => resolveAuth(security({ auth: 'keys' }), {})).message).toContain('security.api_keys is empty');
  });

  it('reads keys from a digest, a file and an environment variable, and finds each by its bearer token', () => {
    const fromFile = 'file-key-0123456789abcdef';
    const fromEnv = 'env-key-0123456789abcdef';
    const fromHash = 'hash-key-0123456789abcdef';
    const keyFile = join(dir, 'key.txt');
    writeFileSync(keyFile, `  ${fromFile}\n`);
    const auth = resolveAuth(
      security({
        api_keys: [
          { id: 'f', key_file: keyFile, scopes: ['submit'], tenant: 't1' },
          { id: 'e', key_env: 'SJE_TEST_KEY', scopes: ['read'], tenant: 't2' },
          { id: 'h', key_sha256: hex(fromHash).toUpperCase(), scopes: ['admin'] },
        ],
      }),
      { SJE_TEST_KEY: fromEnv },
    );
    expect(findKey(auth.keys, fromFile)?.id).toBe('f');
    expect(findKey(auth.keys, fromEnv)?.id).toBe('e');
    expect(findKey(auth.keys, fromHash)?.id).toBe('h');
    expect(findKey(auth.keys, 'not-a-key-0123456789abcdef')).toBeUndefined();
    expect(findKey(auth.keys, `${fromFile}x`)).toBeUndefined();
    // Nothing of the keys themselves is kept.
    expect(JSON.stringify(auth.keys.map((k) => ({ ...k, digest: k.digest.toString('hex') })))).not.toMatch(/file-key|env-key|hash-key/);
  });

  it('refuses unreadable, unset, short or duplicate keys, naming the key', () => {
    const missing = configError(() =>
      resolveAuth(security({ api_keys: [{ id: 'f', key_file: join(dir, 'none'), scopes: ['read'], tenant: 't' }] }), {}),
    );
    expect(missing.message).toContain("security.api_keys[0] (id 'f')");
    expect(missing.message).toContain('ENOENT');
    expect(
      configError(() => resolveAuth(security({ api_keys: [{ id: 'e', key_env: 'NOPE', scopes: ['read'], tenant: 't' }] }), {})).message,
    ).toContain('NOPE');
    expect(
      configError(() => resolveAuth(security({ api_keys: [{ id: 'e', key_env: 'K', scopes: ['read'], tenant: 't' }] }), { K: 'short' }))
        .message,
    ).toContain('shorter');
    const dup = configError(() =>
      resolveAuth(
        security({
          api_keys: [
            { id: 'a', key_env: 'K', scopes: ['read'], tenant: 't' },
            { id: 'b', key_sha256: hex('same-key-0123456789abcdef'), scopes: ['admin'] },
          ],
        }),
        { K: 'same-key-0123456789abcdef' },
      ),
    );
    expect(dup.message).toContain("keys 'a' and 'b' are the same key");
    expect(dup.message).not.toContain('same-key-0123456789abcdef');
  });
});

describe('bearer tokens', () => {
  it('reads only well-formed bearer headers', () => {
    expect(bearerToken({ authorization: 'Bearer abc' })).toBe('abc');
    expect(bearerToken({ authorization: 'bearer   abc ' })).toBe('abc');
    expect(bearerToken({ authorization: 'Basic abc' })).toBeUndefined();
    expect(bearerToken({ authorization: 'Bearer a b' })).toBeUndefined();
    expect(bearerToken({ authorization: 'Bearer' })).toBeUndefined();
    expect(bearerToken({})).toBeUndefined();
  });

  it('matches the ops token only when one is set', () => {
    const auth = resolveAuth(security({ ops_token: 'ops-0123456789' }), {});
    expect(isOpsToken(auth.opsTokenDigest, 'ops-0123456789')).toBe(true);
    expect(isOpsToken(auth.opsTokenDigest, 'ops-012345678')).toBe(false);
    expect(isOpsToken(resolveAuth(security({}), {}).opsTokenDigest, '')).toBe(false);
  });
});
