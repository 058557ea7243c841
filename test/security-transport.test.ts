/**
 * Transport security and secrets against real services: HTTPS on the
 * executor, the ops token on the task-manager's and workers' ops endpoints,
 * least-privilege RabbitMQ users (one per service, in their own vhost, with
 * the permissions of docs/security.md), and no secret in any start-up or
 * request log line, nor in `sje config`.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { connect, type Channel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscribeTaskEvents } from '../packages/client/src/index.js';
import { ConfigError, createLogger, redactConfig, type SjeConfig, type TaskEvent } from '../packages/core/src/index.js';
import { createExecutor } from '../packages/executor/src/index.js';
import { createTaskManager } from '../packages/task-manager/src/index.js';
import { createWorker } from '../packages/worker/src/index.js';
import { getBrokerUrl, hasRabbitmqctl, rabbitmqctl } from './helpers/broker.js';
import { disposeTestConfig, REPO_ROOT, spawnService, testConfig, type SpawnedService } from './helpers/stack.js';
import { brokerPermissions, type BrokerUser } from './security-broker-permissions.js';
import { hasOpenssl, makeTestCertificates, type TestCertificates } from './security-certs.js';
import { apiKey, call, TEST_HANDLERS, waitForStatus, waitReady } from './security-support.js';

const silent = (service: string) => createLogger({ service, silent: true });

function httpsJson(url: string, ca: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    httpsGet(url, { ca }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown }));
    }).on('error', reject);
  });
}

describe.skipIf(!hasOpenssl())('HTTPS on the executor', () => {
  let certs: TestCertificates;
  beforeAll(() => {
    certs = makeTestCertificates();
  });
  afterAll(() => certs?.dispose());

  it('serves the API over TLS only when executor.tls is set', async () => {
    const { readFile } = await import('node:fs/promises');
    const config = await testConfig({ executor: { tls: { cert_file: certs.serverCert, key_file: certs.serverKey } } });
    const executor = await createExecutor({ config, port: 0, logger: silent('executor'), env: {} });
    await executor.start();
    try {
      const ca = await readFile(certs.caFile, 'utf8');
      const health = await httpsJson(`https://localhost:${executor.port}/healthz`, ca);
      expect(health).toEqual({ status: 200, body: { status: 'ok' } });
      // Plain HTTP to the same port gets no answer.
      await expect(fetch(`http://127.0.0.1:${executor.port}/healthz`)).rejects.toThrow();
      // A client that does not trust the CA refuses the server.
      await expect(httpsJson(`https://localhost:${executor.port}/healthz`, await readFile(certs.otherCaFile, 'utf8'))).rejects.toThrow();
    } finally {
      await executor.close({ graceMs: 100 });
      await disposeTestConfig(config);
    }
  });

  it('refuses to start with half a certificate or an unreadable file, naming the key', async () => {
    const config = await testConfig({ executor: { tls: { cert_file: certs.serverCert } } });
    await expect(createExecutor({ config, port: 0, logger: silent('executor') })).rejects.toThrow(/executor\.tls\.key_file/);
    config.executor.tls = { cert_file: certs.serverCert, key_file: join(certs.dir, 'gone.key') };
    const err = await createExecutor({ config, port: 0, logger: silent('executor') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('executor.tls.key_file');
    await disposeTestConfig(config);
  });
});

describe('ops token', () => {
  it('guards the task-manager and worker ops endpoints except /healthz and /readyz', async () => {
    const token = `ops-${randomUUID()}`;
    const config = await testConfig({ topology: { queue_type: 'classic' }, security: { ops_token: token } });
    const tm = await createTaskManager({ config, logger: silent('task-manager'), opsPort: 0 });
    await tm.start();
    const worker = await createWorker({ config, handlers: TEST_HANDLERS as never, logger: silent('worker'), opsPort: 0 });
    await worker.start();
    const executor = await createExecutor({ config, port: 0, logger: silent('executor'), env: {} });
    await executor.start();
    try {
      await waitReady(`http://127.0.0.1:${executor.port}`);
      const sub = await call(`http://127.0.0.1:${executor.port}`, 'POST', '/submit', { json: { function: 'echo', params: { x: 1 } } });
      await waitForStatus(`http://127.0.0.1:${executor.port}`, undefined, sub.body.task_id, ['succeeded']);
      for (const port of [tm.opsPort, worker.opsPort]) {
        const base = `http://127.0.0.1:${String(port)}`;
        expect((await call(base, 'GET', '/healthz')).status).toBe(200);
        expect((await call(base, 'GET', '/readyz')).status).toBe(200);
        const closed = await call(base, 'GET', '/metrics');
        expect(closed.status).toBe(401);
        expect(closed.body.error.code).toBe('SJE_ERR_UNAUTHORIZED');
        expect((await call(base, 'GET', '/metrics', { key: `${token}-not` })).status).toBe(401);
        expect((await call(base, 'GET', '/metrics', { key: token })).status).toBe(200);
      }
      const tmBase = `http://127.0.0.1:${String(tm.opsPort)}`;
      expect((await call(tmBase, 'GET', `/tasks/${sub.body.task_id}`)).status).toBe(401);
      const found = await call(tmBase, 'GET', `/tasks/${sub.body.task_id}`, { key: token });
      expect(found.status).toBe(200);
      expect(found.body.result).toEqual({ x: 1 });
    } finally {
      await executor.close({ graceMs: 100 });
      await worker.close({ graceMs: 100 });
      await tm.close();
      await disposeTestConfig(config);
    }
  });
});

/** Runs `sje config --config <file>` and returns what it printed. */
function sjeConfig(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(REPO_ROOT, 'packages/cli/src/main.ts'), 'config', '--config', file],
      { cwd: REPO_ROOT, env: { PATH: process.env['PATH'] ?? '' } },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`sje config failed: ${err.message}\n${stderr}`));
        else resolve(stdout + stderr);
      },
    );
  });
}

const ctl = await hasRabbitmqctl();
const local = /@(127\.0\.0\.1|localhost)(:\d+)?\/?$/.test(await getBrokerUrl());

/** What {@link runWithSecrets} needs: the base configuration and each broker user's URL. */
interface SecretsScenario {
  config: SjeConfig;
  urlFor: (user: BrokerUser) => string;
  /** Passwords in those URLs. */
  brokerPasswords: string[];
  services: SpawnedService[];
  /** Runs while the services are up (permission checks). */
  whileUp?: () => Promise<void>;
}

/**
 * Starts the three services as processes on a configuration full of
 * secrets (broker password, API key from the environment, ops token,
 * PostgreSQL password) at debug level, drives a few requests (a refused key,
 * a success, a failure, events, the ops endpoint), then checks that no
 * secret appears in any service's output, in `sje config` or in
 * `redactConfig`.
 */
async function runWithSecrets(scenario: SecretsScenario): Promise<void> {
  const { config, urlFor, services } = scenario;
  const key = apiKey('acme-app', ['submit', 'read', 'cancel'], 'acme');
  const opsToken = `ops-${randomBytes(16).toString('hex')}`;
  const pgPassword = `pg-${randomBytes(12).toString('hex')}`;
  const withSecrets = (user: BrokerUser): SjeConfig => {
    const c = structuredClone(config);
    c.amqp.url = urlFor(user);
    c.task_manager.postgres_url = `postgres://sje:${pgPassword}@127.0.0.1:5432/sje`;
    c.security.api_keys = [{ id: 'acme-app', key_env: 'ACME_API_KEY', scopes: ['submit', 'read', 'cancel'], tenant: 'acme' }];
    c.security.ops_token = opsToken;
    return c;
  };
  const env = { ACME_API_KEY: key.key };
  const tm = await spawnService('task-manager', withSecrets('task-manager'), { env });
  services.push(tm);
  const workerConfig = withSecrets('worker');
  workerConfig.worker.handlers = ['@sje/examples'];
  const worker = await spawnService('worker', workerConfig, { env });
  services.push(worker);
  const executor = await spawnService('executor', withSecrets('executor'), { env });
  services.push(executor);
  const api = executor.baseUrl;

  const events: TaskEvent[] = [];
  const sub = await subscribeTaskEvents({
    url: urlFor('events-subscriber'),
    prefix: config.topology.prefix,
    onEvent: (e) => events.push(e),
  });
  try {
    expect((await call(api, 'POST', '/submit', { key: 'sje_wrong_key_0123456789', json: { function: 'echo' } })).status).toBe(401);
    const ok = await call(api, 'POST', '/submit', { key: key.key, json: { function: 'echo', params: { hello: 'world' } } });
    expect(ok.status).toBe(201);
    const done = await waitForStatus(api, key.key, ok.body.task_id, ['succeeded', 'failed'], 30_000);
    expect(done).toMatchObject({ status: 'succeeded', result: { hello: 'world' }, tenant: 'acme' });
    const failing = await call(api, 'POST', '/submit', { key: key.key, json: { function: 'fail', params: { message: 'boom' } } });
    await waitForStatus(api, key.key, failing.body.task_id, ['failed'], 30_000);
    const deadline = Date.now() + 5000;
    while (!events.some((e) => e.task_id === ok.body.task_id && e.status === 'succeeded') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(events.filter((e) => e.task_id === ok.body.task_id).map((e) => e.status)).toContain('succeeded');
    expect((await call(`http://127.0.0.1:${tm.port}`, 'GET', '/metrics', { key: opsToken })).status).toBe(200);
    await scenario.whileUp?.();
  } finally {
    await sub.close();
  }
  for (const s of services) await s.stop();

  const secrets = [...scenario.brokerPasswords, key.key, key.entry.key_sha256!, opsToken, pgPassword];
  const file = join(config.task_manager.data_dir, 'with-secrets.yaml');
  await writeFile(file, JSON.stringify(withSecrets('executor')));
  const printed = await sjeConfig(file);
  expect(printed).toContain(':***@');
  expect(printed).toContain('postgres://sje:***@');
  const outputs: [string, string][] = [
    ...services.map((s): [string, string] => [s.name, s.output()]),
    ['sje config', printed],
    ['redactConfig', JSON.stringify(redactConfig(withSecrets('task-manager')))],
  ];
  for (const [name, text] of outputs) {
    expect(text.length, name).toBeGreaterThan(0);
    for (const secret of secrets) expect(text.includes(secret), `${name} shows a secret`).toBe(false);
  }
  // The logs did say what happened, naming the key by its id.
  expect(executor.output()).toContain('acme-app');
  expect(executor.output()).toContain('request refused: unknown API key');
}

describe.skipIf(!ctl || !local)('least-privilege broker users and secrets in logs', () => {
  const vhost = `sje-sec-${randomUUID().slice(0, 8)}`;
  const users = new Map<BrokerUser, { name: string; password: string }>();
  const services: SpawnedService[] = [];
  let config: SjeConfig;

  beforeAll(async () => {
    await rabbitmqctl(['add_vhost', vhost]);
    config = await testConfig({ topology: { queue_type: 'quorum' }, log: { level: 'debug', format: 'json' } });
    const permissions = brokerPermissions(config.topology.prefix);
    for (const user of Object.keys(permissions) as BrokerUser[]) {
      const entry = { name: `${vhost}-${user}`, password: `pw-${randomBytes(12).toString('hex')}` };
      users.set(user, entry);
      await rabbitmqctl(['add_user', entry.name, entry.password]);
      const p = permissions[user];
      await rabbitmqctl(['set_permissions', '-p', vhost, entry.name, p.configure, p.write, p.read]);
    }
  });

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    for (const { name } of users.values()) await rabbitmqctl(['delete_user', name]).catch(() => undefined);
    await rabbitmqctl(['delete_vhost', vhost]).catch(() => undefined);
    if (config) await disposeTestConfig(config);
  });

  function urlFor(user: BrokerUser): string {
    const u = users.get(user)!;
    return `amqp://${u.name}:${u.password}@127.0.0.1:5672/${encodeURIComponent(vhost)}`;
  }

  /** What the broker answers when `user` tries `fn` on a fresh channel. */
  async function attempt(user: BrokerUser, fn: (ch: Channel) => Promise<unknown>): Promise<string> {
    const conn = await connect(urlFor(user));
    conn.on('error', () => undefined);
    let channelError: string | undefined;
    try {
      const ch = await conn.createChannel();
      ch.on('error', (err: Error) => (channelError = err.message));
      await fn(ch);
      return channelError ?? 'allowed';
    } catch (err) {
      return channelError ?? (err as Error).message;
    } finally {
      await conn.close().catch(() => undefined);
    }
  }

  it('runs every service on its own user in its own vhost, each can do only its job, and no secret reaches a log line or `sje config`', async () => {
    await runWithSecrets({
      config,
      urlFor,
      brokerPasswords: [...users.values()].map((u) => u.password),
      services,
      whileUp: async () => {
        const t = config.topology.prefix;
        const denied = /ACCESS_REFUSED|access to .* refused/i;
        expect(await attempt('worker', (ch) => ch.consume(`${t}.task-manager.commands`, () => undefined))).toMatch(denied);
        expect(await attempt('executor', (ch) => ch.consume(`${t}.tasks.default`, () => undefined))).toMatch(denied);
        expect(await attempt('executor', (ch) => ch.bindQueue(`${t}.task-manager.queries`, `${t}.events`, '#'))).toMatch(denied);
        expect(
          await attempt('events-subscriber', async (ch) => {
            ch.publish(`${t}.commands`, 'command', Buffer.from('{}'));
            await new Promise((r) => setTimeout(r, 300));
            await ch.checkExchange(`${t}.commands`);
          }),
        ).toMatch(denied);
        expect(await attempt('events-subscriber', (ch) => ch.consume(`${t}.task-manager.queries`, () => undefined))).toMatch(denied);
        expect(await attempt('events-subscriber', (ch) => ch.deleteExchange(`${t}.events`))).toMatch(denied);
      },
    });
  });
});

// Without rabbitmqctl (or a remote test broker) no users can be made: the same check on the test broker's own URL.
describe.skipIf(ctl && local)('secrets in logs', () => {
  const services: SpawnedService[] = [];
  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
  });

  it('no secret reaches a log line or `sje config`', async () => {
    const config = await testConfig({ topology: { queue_type: 'quorum' }, log: { level: 'debug', format: 'json' } });
    const url = config.amqp.url;
    const password = /^[a-z]+:\/\/[^:/@]*:([^@]*)@/i.exec(url)?.[1];
    await runWithSecrets({
      config,
      urlFor: () => url,
      brokerPasswords: password !== undefined && password.length >= 8 ? [decodeURIComponent(password)] : [],
      services,
    });
    await disposeTestConfig(config);
  });
});
