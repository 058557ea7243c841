import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeConfig, loadConfig, redactConfig, redactUrl } from './config.js';
import { ConfigError } from './errors.js';

const dir = mkdtempSync(join(tmpdir(), 'sje-config-security-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function file(text: string, ext = 'yaml'): string {
  const path = join(dir, `f${n++}.${ext}`);
  writeFileSync(path, text);
  return path;
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

const DIGEST = 'a'.repeat(64);

describe('security settings', () => {
  it('defaults: auth auto, no keys, open metrics, 256 KiB params, no rate limit, lax functions, no ops token', () => {
    const c = loadConfig({ env: {} });
    expect(c.security).toEqual({
      auth: 'auto',
      api_keys: [],
      metrics_open: true,
      max_params_bytes: 262_144,
      rate_limit: { per_second: 0, burst: 0 },
      strict_functions: false,
      functions_cache_ms: 5000,
      ops_token: '',
    });
    expect(c.worker.max_result_bytes).toBe(1_048_576);
    expect(c.amqp.tls).toEqual({ ca_file: '', cert_file: '', key_file: '', passphrase_env: '', servername: '', reject_unauthorized: true });
    expect(c.executor.tls).toEqual({ cert_file: '', key_file: '' });
  });

  it('reads API keys from YAML and from SJE_SECURITY_API_KEYS as JSON', () => {
    const yaml = file(
      `security:\n  api_keys:\n    - { id: web, key_env: WEB_KEY, scopes: [submit, read], tenant: acme }\n    - { id: ops, key_sha256: ${DIGEST}, scopes: [admin] }\n`,
    );
    expect(loadConfig({ file: yaml, env: {} }).security.api_keys).toEqual([
      { id: 'web', key_env: 'WEB_KEY', scopes: ['submit', 'read'], tenant: 'acme' },
      { id: 'ops', key_sha256: DIGEST, scopes: ['admin'] },
    ]);
    const env = { SJE_SECURITY_API_KEYS: JSON.stringify([{ id: 'k1', key_file: '/run/secrets/k1', scopes: ['read'], tenant: 't1' }]) };
    expect(loadConfig({ env }).security.api_keys).toEqual([{ id: 'k1', key_file: '/run/secrets/k1', scopes: ['read'], tenant: 't1' }]);
  });

  it.each([
    [[{ key_env: 'X', scopes: ['read'], tenant: 't' }], "needs an 'id'"],
    [[{ id: 'a', scopes: ['read'], tenant: 't' }], 'exactly one of key_sha256, key_file, key_env'],
    [[{ id: 'a', key_env: 'X', key_file: '/k', scopes: ['read'], tenant: 't' }], 'exactly one of'],
    [[{ id: 'a', key_sha256: 'abc', scopes: ['read'], tenant: 't' }], '64 hex digits'],
    [[{ id: 'a', key_env: 'X', scopes: ['write'], tenant: 't' }], 'scopes must be'],
    [[{ id: 'a', key_env: 'X', scopes: [], tenant: 't' }], 'scopes must be'],
    [[{ id: 'a', key_env: 'X', scopes: ['read'] }], 'needs a tenant'],
    [[{ id: 'a', key_env: 'X', scopes: ['read'], tenant: 'bad tenant' }], 'tenant must be'],
    [[{ id: 'a', key_env: 'X', scopes: ['read'], tenant: 't', key: 'oops' }], "unknown field 'key'"],
    [
      [
        { id: 'a', key_env: 'X', scopes: ['read'], tenant: 't' },
        { id: 'a', key_env: 'Y', scopes: ['read'], tenant: 't' },
      ],
      'appears twice',
    ],
  ])('refuses a bad key list %#', (keys, message) => {
    const err = configError(() => loadConfig({ env: {}, overrides: { security: { api_keys: keys as never } } }));
    expect(err.message).toContain('security.api_keys');
    expect(err.message).toContain(message);
  });

  it('coerces booleans and numbers from the environment and refuses bad values', () => {
    const c = loadConfig({
      env: {
        SJE_SECURITY_METRICS_OPEN: 'false',
        SJE_SECURITY_RATE_LIMIT_PER_SECOND: '2.5',
        SJE_AMQP_TLS_REJECT_UNAUTHORIZED: 'false',
        SJE_SECURITY_AUTH: 'keys',
      },
    });
    expect(c.security.metrics_open).toBe(false);
    expect(c.security.rate_limit.per_second).toBe(2.5);
    expect(c.amqp.tls.reject_unauthorized).toBe(false);
    expect(c.security.auth).toBe('keys');
    expect(configError(() => loadConfig({ env: { SJE_SECURITY_AUTH: 'maybe' } })).message).toContain('security.auth');
    expect(configError(() => loadConfig({ env: { SJE_SECURITY_RATE_LIMIT_PER_SECOND: '-1' } })).message).toContain(
      'security.rate_limit.per_second',
    );
  });

  it('names the new keys in the configuration reference', () => {
    const keys = describeConfig();
    const byKey = new Map(keys.map((k) => [k.key, k]));
    expect(byKey.get('security.api_keys')?.format).toBe('list of API keys');
    expect(byKey.get('security.metrics_open')?.format).toBe('boolean');
    expect(byKey.get('security.rate_limit.per_second')?.env).toBe('SJE_SECURITY_RATE_LIMIT_PER_SECOND');
    expect(byKey.get('amqp.tls.ca_file')?.env).toBe('SJE_AMQP_TLS_CA_FILE');
    for (const key of [
      'executor.tls.cert_file',
      'worker.max_result_bytes',
      'security.ops_token',
      'amqp.url_file',
      'security.strict_functions',
    ])
      expect(byKey.has(key), key).toBe(true);
  });
});

describe('amqp.url_file', () => {
  it('replaces amqp.url with the URL the file holds', () => {
    const urlFile = file('amqps://svc:pa55@mq.internal:5671/prod\n', 'url');
    expect(loadConfig({ env: {}, overrides: { amqp: { url_file: urlFile } } }).amqp.url).toBe('amqps://svc:pa55@mq.internal:5671/prod');
  });

  it('is a ConfigError naming the key when missing, not a URL, or set together with SJE_AMQP_URL', () => {
    const missing = configError(() => loadConfig({ env: {}, overrides: { amqp: { url_file: join(dir, 'nope.url') } } }));
    expect(missing.message).toContain('amqp.url_file');
    expect(missing.message).toContain('ENOENT');
    expect(missing.data).toMatchObject({ key: 'amqp.url_file' });
    expect(configError(() => loadConfig({ env: {}, overrides: { amqp: { url_file: file('hello', 'url') } } })).message).toContain(
      'amqp.url_file',
    );
    const both = configError(() =>
      loadConfig({ env: { SJE_AMQP_URL: 'amqp://a:b@h' }, overrides: { amqp: { url_file: file('amqp://c:d@h', 'url') } } }),
    );
    expect(both.message).toContain('SJE_AMQP_URL');
  });
});

describe('redaction', () => {
  it.each([
    ['amqp://guest:guest@127.0.0.1:5672', 'amqp://guest:***@127.0.0.1:5672'],
    ['amqps://app:s3cr%40t@mq:5671/prod', 'amqps://app:***@mq:5671/prod'],
    ['amqps://app:p@ss@mq:5671/prod', 'amqps://app:***@mq:5671/prod'],
    ['amqp://:onlypass@mq', 'amqp://:***@mq'],
    ['postgres://u:pw@db/sje?sslmode=require&password=other', 'postgres://u:***@db/sje?sslmode=require&password=***'],
    ['amqp://mq.internal:5672', 'amqp://mq.internal:5672'],
  ])('redactUrl(%s)', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });

  it('redactConfig hides every secret and keeps file paths and variable names', () => {
    const config = loadConfig({
      env: {},
      overrides: {
        amqp: { url: 'amqps://svc:amqp-secret-1@mq:5671', tls: { passphrase_env: 'TLS_PASS', key_file: '/etc/sje/client.key' } },
        task_manager: { postgres_url: 'postgres://sje:pg-secret-2@db/sje' },
        security: {
          api_keys: [
            { id: 'hashed', key_sha256: 'f'.repeat(64), scopes: ['admin'] },
            { id: 'from-file', key_file: '/run/secrets/k', scopes: ['read'], tenant: 'acme' },
          ],
          ops_token: 'ops-secret-3',
        },
      },
    });
    const text = JSON.stringify(redactConfig(config));
    for (const secret of ['amqp-secret-1', 'pg-secret-2', 'ops-secret-3', 'f'.repeat(64)]) expect(text).not.toContain(secret);
    const redacted = redactConfig(config);
    expect(redacted.security.api_keys[1]).toEqual({ id: 'from-file', key_file: '/run/secrets/k', scopes: ['read'], tenant: 'acme' });
    expect(redacted.amqp.tls.passphrase_env).toBe('TLS_PASS');
    expect(config.security.ops_token).toBe('ops-secret-3');
  });
});
