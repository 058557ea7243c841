/**
 * Tenant isolation inside the executor, before the task-manager knows a
 * task: the accepted-task memory, the tenant stamped on submits, and the
 * tenant put on every query. The broker and task-manager are played in memory.
 */
import { createHash } from 'node:crypto';
import {
  BrokerUnavailableError,
  createLogger,
  createTopology,
  loadConfig,
  PluginHost,
  validators,
  type ApiKeyEntry,
  type SubmitCommand,
  type TaskManagerQuery,
  type TaskManagerReply,
  type Validator,
} from '@sje/core';
import { Registry } from 'prom-client';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import type { BrokerPort } from '../../app-deps.js';
import { createApp } from '../../app.js';

/** A task-manager that knows no task yet. */
class EmptyTaskManager implements BrokerPort {
  connected = true;
  readonly topology = createTopology({ prefix: 'unit' });
  readonly queries: TaskManagerQuery[] = [];
  readonly commands: unknown[] = [];

  async publish(_exchange: string, _routingKey: string, body: unknown): Promise<void> {
    if (!this.connected) throw new BrokerUnavailableError();
    this.commands.push(JSON.parse(JSON.stringify(body)) as unknown);
  }

  async request<T>(_routingKey: string, body: unknown, validate: Validator<T>): Promise<T> {
    const q = validators.query(body);
    if (!q.ok) throw new Error(`invalid query: ${q.reason}`);
    this.queries.push(q.value);
    const reply: TaskManagerReply =
      q.value.type === 'get_tasks'
        ? { type: 'tasks', tasks: q.value.task_ids.map(() => null) }
        : q.value.type === 'cancel_task'
          ? { type: 'cancel_result', task: null, changed: false }
          : q.value.type === 'decide_approval'
            ? { type: 'approval_result', task: null, changed: false }
            : q.value.type === 'get_functions'
              ? { type: 'functions', queues: {} }
              : { type: 'workflow', workflow: null };
    const check = validate(reply);
    if (!check.ok) throw new Error(check.reason);
    return check.value;
  }
}

function key(id: string, scopes: ApiKeyEntry['scopes'], tenant?: string): { token: string; entry: ApiKeyEntry } {
  const token = `${id}-token-0123456789abcdef`;
  const entry: ApiKeyEntry = { id, key_sha256: createHash('sha256').update(token).digest('hex'), scopes };
  if (tenant !== undefined) entry.tenant = tenant;
  return { token, entry };
}

const acme = key('acme', ['submit', 'read', 'cancel'], 'acme');
const globex = key('globex', ['submit', 'read', 'cancel'], 'globex');
const admin = key('root', ['admin']);

async function app(): Promise<{ app: ReturnType<typeof createApp>; tm: EmptyTaskManager }> {
  const config = loadConfig({ env: {}, overrides: { security: { api_keys: [acme.entry, globex.entry, admin.entry] } } });
  const logger = createLogger({ service: 'executor', silent: true });
  const metrics = new Registry();
  const tm = new EmptyTaskManager();
  return {
    app: createApp({
      config,
      logger,
      broker: tm,
      plugins: new PluginHost({ service: 'executor', logger, metrics, config }),
      metrics,
      env: {},
    }),
    tm,
  };
}

const bearer = (token: string): [string, string] => ['authorization', `Bearer ${token}`];

describe('tenant isolation before the task-manager records a task', () => {
  it("stamps the submitting key's tenant on the command and hides the accepted task from other tenants", async () => {
    const { app: a, tm } = await app();
    const res = await request(a)
      .post('/submit')
      .set(...bearer(acme.token))
      .send({ task_id: 'acme-1', function: 'echo' });
    expect(res.status).toBe(201);
    const submit = tm.commands.find((c) => (c as SubmitCommand).type === 'submit') as SubmitCommand;
    expect(submit.tasks.map((t) => t.tenant)).toEqual(['acme']);

    const own = await request(a)
      .get('/status/acme-1')
      .set(...bearer(acme.token));
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ task_id: 'acme-1', accepted: true });
    expect(
      (
        await request(a)
          .get('/status/acme-1')
          .set(...bearer(admin.token))
      ).status,
    ).toBe(200);

    const other = await request(a)
      .get('/status/acme-1')
      .set(...bearer(globex.token));
    const unknown = await request(a)
      .get('/status/nobody-1')
      .set(...bearer(globex.token));
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe(unknown.body.error.code);
    expect(
      (
        await request(a)
          .post('/cancel/acme-1')
          .set(...bearer(globex.token))
      ).status,
    ).toBe(404);
    expect(
      (
        await request(a)
          .post('/approve/acme-1')
          .set(...bearer(globex.token))
      ).status,
    ).toBe(404);
    const dep = await request(a)
      .post('/submit')
      .set(...bearer(globex.token))
      .send({ function: 'echo', depends_on: ['acme-1'] });
    expect(dep.status).toBe(400);
    expect(dep.body.error.code).toBe('SJE_ERR_UNKNOWN_DEPENDENCY');
    const taken = await request(a)
      .post('/submit')
      .set(...bearer(globex.token))
      .send({ task_id: 'acme-1', function: 'echo' });
    expect(taken.status).toBe(409);
    expect(taken.body.error).toEqual({
      code: 'SJE_ERR_TASK_ID_CONFLICT',
      message: 'task id already in use',
      details: { task_id: 'acme-1' },
    });
    expect(tm.commands.filter((c) => (c as { type: string }).type === 'cancel')).toHaveLength(0);

    expect(
      (
        await request(a)
          .post('/cancel/acme-1')
          .set(...bearer(acme.token))
      ).status,
    ).toBe(202);
    expect(tm.commands.filter((c) => (c as { type: string }).type === 'cancel')).toHaveLength(1);
  });

  it("puts the caller's tenant on every task-manager query, and none for an admin", async () => {
    const { app: a, tm } = await app();
    await request(a)
      .get('/status/x1')
      .set(...bearer(globex.token));
    await request(a)
      .post('/cancel/x1')
      .set(...bearer(globex.token));
    await request(a)
      .get('/workflows/w1')
      .set(...bearer(globex.token));
    await request(a)
      .post('/workflows/w1/cancel')
      .set(...bearer(globex.token));
    await request(a)
      .post('/approve/x1')
      .set(...bearer(globex.token));
    await request(a)
      .post('/reject/x1')
      .set(...bearer(globex.token));
    const scoped = tm.queries.filter((q) => q.type !== 'get_functions');
    expect(new Set(scoped.map((q) => q.type))).toEqual(
      new Set(['get_tasks', 'cancel_task', 'get_workflow', 'cancel_workflow', 'decide_approval']),
    );
    expect(scoped.every((q) => (q as { tenant?: string }).tenant === 'globex')).toBe(true);
    tm.queries.length = 0;
    await request(a)
      .get('/status/x1')
      .set(...bearer(admin.token));
    await request(a)
      .get('/workflows/w1')
      .set(...bearer(admin.token));
    expect(tm.queries.length).toBeGreaterThan(0);
    expect(tm.queries.every((q) => !('tenant' in q))).toBe(true);
  });
});
