/**
 * API keys, scopes and tenant isolation against real services (in process,
 * real RabbitMQ): every route tried across two tenants and an admin, every
 * route tried without a key, and the events stream's tenant field.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscribeTaskEvents } from '../packages/client/src/index.js';
import { createExecutor } from '../packages/executor/src/index.js';
import { createLogger, type TaskEvent } from '../packages/core/src/index.js';
import { apiKey, call, startStack, waitForStatus, type Answer, type Stack, type TestKey } from './security-support.js';

const acme = apiKey('acme-app', ['submit', 'read', 'cancel'], 'acme');
const globex = apiKey('globex-app', ['submit', 'read', 'cancel'], 'globex');
const admin = apiKey('ops-admin', ['admin']);
const acmeReader = apiKey('acme-dashboard', ['read'], 'acme');
const acmeSubmitter = apiKey('acme-ingest', ['submit'], 'acme');
const OPS_TOKEN = `ops_${randomUUID()}`;

let stack: Stack;
let api: string;

beforeAll(async () => {
  stack = await startStack({
    security: { api_keys: [acme.entry, globex.entry, admin.entry, acmeReader.entry, acmeSubmitter.entry], ops_token: OPS_TOKEN },
  });
  api = stack.api;
});

afterAll(async () => {
  await stack?.close();
});

/** What a tenant owns: a waiting task, a workflow, and that workflow's approval gate. */
interface Owned {
  task: string;
  workflow: string;
  gate: string;
}

async function own(owner: TestKey): Promise<Owned> {
  const task = await call(api, 'POST', '/submit', {
    key: owner.key,
    json: { function: 'echo', params: { who: owner.id }, delay_ms: 600_000 },
  });
  expect(task.status).toBe(201);
  const gate = `gate-${randomUUID()}`;
  const wf = await call(api, 'POST', '/submit', {
    key: owner.key,
    json: {
      tasks: [
        { task_id: gate, kind: 'approval' },
        { function: 'echo', params: { after: gate }, depends_on: [gate] },
      ],
    },
  });
  expect(wf.status).toBe(201);
  await waitForStatus(api, owner.key, task.body.task_id, ['pending']);
  await waitForStatus(api, owner.key, gate, ['waiting_approval']);
  return { task: task.body.task_id, workflow: wf.body.workflow_id, gate };
}

/** Every route that names a task or workflow, as a request for the ids of `o`. */
function requests(o: Owned, probe: string): { name: string; method: string; path: string; json?: unknown }[] {
  return [
    { name: 'status of a task', method: 'GET', path: `/status/${o.task}` },
    { name: 'status of a gate', method: 'GET', path: `/status/${o.gate}` },
    { name: 'cancel a task', method: 'POST', path: `/cancel/${o.task}` },
    { name: 'cancel by workflow id', method: 'POST', path: `/cancel/${o.workflow}` },
    { name: 'read a workflow', method: 'GET', path: `/workflows/${o.workflow}` },
    { name: 'cancel a workflow', method: 'POST', path: `/workflows/${o.workflow}/cancel` },
    { name: 'approve a gate', method: 'POST', path: `/approve/${o.gate}` },
    { name: 'reject a gate', method: 'POST', path: `/reject/${o.gate}`, json: { comment: 'no' } },
    { name: 'depend on a task', method: 'POST', path: '/submit', json: { task_id: probe, function: 'echo', depends_on: [o.task] } },
    {
      name: 'depend on a gate in a batch',
      method: 'POST',
      path: '/submit',
      json: { tasks: [{ task_id: probe, function: 'echo', depends_on: [o.gate] }] },
    },
  ];
}

/** The answer with the ids of `o` replaced by placeholders, to compare with the answer for unknown ids. */
function normalized(a: Answer, o: Owned): unknown {
  let text = JSON.stringify({ status: a.status, body: a.body });
  for (const [name, id] of Object.entries(o)) text = text.split(id).join(`<${name}>`);
  return JSON.parse(text);
}

async function snapshot(owner: TestKey, o: Owned): Promise<unknown> {
  const task = await call(api, 'GET', `/status/${o.task}`, { key: owner.key });
  const gate = await call(api, 'GET', `/status/${o.gate}`, { key: owner.key });
  const wf = await call(api, 'GET', `/workflows/${o.workflow}`, { key: owner.key });
  return {
    task: [task.status, task.body.status],
    gate: [gate.status, gate.body.status],
    workflow: [wf.status, wf.body.status, wf.body.counts],
  };
}

describe('tenant isolation', () => {
  it('another tenant gets exactly the answers of unknown ids on every route, and changes nothing', async () => {
    const [ofAcme, ofGlobex] = await Promise.all([own(acme), own(globex)]);
    const unknown: Owned = { task: `unknown-${randomUUID()}`, workflow: `unknown-${randomUUID()}`, gate: `unknown-${randomUUID()}` };
    for (const [owner, other, owned] of [
      [acme, globex, ofAcme],
      [globex, acme, ofGlobex],
    ] as const) {
      const before = await snapshot(owner, owned);
      const probe = `probe-${randomUUID()}`;
      const theirs = requests(owned, probe);
      const none = requests(unknown, probe);
      for (const [i, req] of theirs.entries()) {
        const crossed = await call(api, req.method, req.path, { key: other.key, ...(req.json === undefined ? {} : { json: req.json }) });
        const missing = await call(api, none[i]!.method, none[i]!.path, {
          key: other.key,
          ...(none[i]!.json === undefined ? {} : { json: none[i]!.json }),
        });
        expect(crossed.status, `${other.id}: ${req.name}`).toBeGreaterThanOrEqual(400);
        expect(crossed.status, `${other.id}: ${req.name}`).not.toBe(403);
        expect(normalized(crossed, owned), `${other.id}: ${req.name}`).toEqual(normalized(missing, unknown));
      }
      expect(await snapshot(owner, owned), `${owner.id}'s tasks after ${other.id}'s attempts`).toEqual(before);
    }
  });

  it('the owner reads, approves, rejects and cancels its own tasks and workflows', async () => {
    const o = await own(acme);
    const status = await call(api, 'GET', `/status/${o.task}`, { key: acme.key });
    expect(status.status).toBe(200);
    expect(status.body.tenant).toBe('acme');
    const wf = await call(api, 'GET', `/workflows/${o.workflow}`, { key: acme.key });
    expect(wf.status).toBe(200);
    expect(wf.body.tenant).toBe('acme');
    expect((await call(api, 'POST', `/approve/${o.gate}`, { key: acme.key })).status).toBe(200);
    const done = await call(api, 'GET', `/workflows/${o.workflow}`, { key: acme.key });
    expect(done.body.tasks.find((t: { task_id: string }) => t.task_id === o.gate).status).toBe('succeeded');
    expect((await call(api, 'POST', `/cancel/${o.task}`, { key: acme.key })).body).toEqual({ task_id: o.task, status: 'cancelled' });

    const second = await own(acme);
    expect((await call(api, 'POST', `/reject/${second.gate}`, { key: acme.key })).status).toBe(200);
    const third = await own(acme);
    const cancelled = await call(api, 'POST', `/workflows/${third.workflow}/cancel`, { key: acme.key });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
  });

  it('an admin key sees and acts on every tenant', async () => {
    const [a, g] = await Promise.all([own(acme), own(globex)]);
    for (const [o, tenant] of [
      [a, 'acme'],
      [g, 'globex'],
    ] as const) {
      const s = await call(api, 'GET', `/status/${o.task}`, { key: admin.key });
      expect(s.status).toBe(200);
      expect(s.body.tenant).toBe(tenant);
      expect((await call(api, 'GET', `/workflows/${o.workflow}`, { key: admin.key })).status).toBe(200);
    }
    expect((await call(api, 'POST', `/approve/${a.gate}`, { key: admin.key })).status).toBe(200);
    expect((await call(api, 'POST', `/reject/${g.gate}`, { key: admin.key })).status).toBe(200);
    expect((await call(api, 'POST', `/cancel/${a.task}`, { key: admin.key })).body.status).toBe('cancelled');
    expect((await call(api, 'POST', `/workflows/${g.workflow}/cancel`, { key: admin.key })).status).toBe(200);
    // An admin may make a task depend on any tenant's task.
    const dep = await call(api, 'POST', '/submit', { key: admin.key, json: { function: 'echo', depends_on: [g.task] } });
    expect(dep.status).toBe(201);
    expect((await call(api, 'GET', `/status/${dep.body.task_id}`, { key: acme.key })).status).toBe(404);
  });

  it('a task belongs to the tenant of the key that submitted it, whatever the body says', async () => {
    const sneaky = await call(api, 'POST', '/submit', { key: acme.key, json: { function: 'echo', tenant: 'globex' } });
    expect(sneaky.status).toBe(400);
    expect(sneaky.body.error.code).toBe('SJE_ERR_VALIDATION');
    const ok = await call(api, 'POST', '/submit', { key: acmeSubmitter.key, json: { function: 'echo', params: { n: 1 } } });
    expect(ok.status).toBe(201);
    const done = await waitForStatus(api, acmeReader.key, ok.body.task_id, ['succeeded']);
    expect(done.tenant).toBe('acme');
    expect(done.result).toEqual({ n: 1 });
    expect((await call(api, 'GET', `/status/${ok.body.task_id}`, { key: globex.key })).status).toBe(404);
  });

  it('client-chosen ids: the same tenant repeats idempotently, any other use is one generic 409', async () => {
    const id = `order-${randomUUID()}`;
    const spec = { task_id: id, function: 'echo', params: { amount: 12 } };
    expect((await call(api, 'POST', '/submit', { key: acme.key, json: spec })).status).toBe(201);
    await waitForStatus(api, acme.key, id, ['succeeded']);
    expect((await call(api, 'POST', '/submit', { key: acme.key, json: spec })).status).toBe(200);

    const sameSpec = await call(api, 'POST', '/submit', { key: globex.key, json: spec });
    const otherSpec = await call(api, 'POST', '/submit', { key: globex.key, json: { ...spec, params: { amount: 13 } } });
    const inBatch = await call(api, 'POST', '/submit', { key: globex.key, json: { tasks: [spec] } });
    for (const res of [sameSpec, otherSpec, inBatch]) {
      expect(res.status).toBe(409);
      expect(res.body.error).toEqual({ code: 'SJE_ERR_TASK_ID_CONFLICT', message: 'task id already in use', details: { task_id: id } });
    }
    // The owner's own conflict has the same message, and names the differing fields of its own task.
    const own = await call(api, 'POST', '/submit', { key: acme.key, json: { ...spec, params: { amount: 13 } } });
    expect(own.status).toBe(409);
    expect(own.body.error).toEqual({
      code: 'SJE_ERR_TASK_ID_CONFLICT',
      message: 'task id already in use',
      details: { task_id: id, fields: ['params'] },
    });
    // A just-accepted id (before the task-manager records it) is refused across tenants too.
    const fresh = `order-${randomUUID()}`;
    const [first, second] = await Promise.all([
      call(api, 'POST', '/submit', { key: acme.key, json: { task_id: fresh, function: 'echo' } }),
      new Promise((r) => setTimeout(r, 5)).then(() =>
        call(api, 'POST', '/submit', { key: globex.key, json: { task_id: fresh, function: 'echo' } }),
      ),
    ]);
    expect(first.status).toBe(201);
    expect(second.status).toBe(409);
    expect((await waitForStatus(api, acme.key, fresh, ['succeeded'])).tenant).toBe('acme');
  });
});

describe('scopes and keys', () => {
  it("a key without the route's scope gets 403; the scope it has works on its own tenant only", async () => {
    const o = await own(acme);
    const forbidden = [
      [acmeReader, 'POST', '/submit', { function: 'echo' }],
      [acmeReader, 'POST', `/cancel/${o.task}`, undefined],
      [acmeReader, 'POST', `/workflows/${o.workflow}/cancel`, undefined],
      [acmeReader, 'POST', `/approve/${o.gate}`, undefined],
      [acmeReader, 'POST', `/reject/${o.gate}`, undefined],
      [acmeSubmitter, 'GET', `/status/${o.task}`, undefined],
      [acmeSubmitter, 'GET', `/workflows/${o.workflow}`, undefined],
      [acmeSubmitter, 'POST', `/cancel/${o.task}`, undefined],
    ] as const;
    for (const [key, method, path, json] of forbidden) {
      const res = await call(api, method, path, { key: key.key, ...(json === undefined ? {} : { json }) });
      expect(res.status, `${key.id} ${method} ${path}`).toBe(403);
      expect(res.body.error.code).toBe('SJE_ERR_FORBIDDEN');
    }
    expect((await call(api, 'GET', `/status/${o.task}`, { key: acmeReader.key })).status).toBe(200);
    expect((await call(api, 'GET', `/workflows/${o.workflow}`, { key: acmeReader.key })).status).toBe(200);
    expect((await snapshot(acme, o)) as { task: unknown[] }).toMatchObject({ task: [200, 'pending'], gate: [200, 'waiting_approval'] });
  });

  it('no route but /healthz, /readyz and (open) /metrics answers without a valid key', async () => {
    const o = await own(acme);
    const routes: [string, string][] = [
      ['POST', '/submit'],
      ['GET', '/submit'],
      ['GET', `/status/${o.task}`],
      ['HEAD', `/status/${o.task}`],
      ['POST', `/cancel/${o.task}`],
      ['GET', `/workflows/${o.workflow}`],
      ['POST', `/workflows/${o.workflow}/cancel`],
      ['POST', `/approve/${o.gate}`],
      ['POST', `/reject/${o.gate}`],
      ['DELETE', '/status/x'],
      ['GET', '/no-such-route'],
      ['GET', '/'],
    ];
    for (const [method, path] of routes) {
      for (const key of [undefined, 'not-a-key', `${acme.key}x`]) {
        const res = await call(api, method, path, key === undefined ? {} : { key });
        expect(res.status, `${method} ${path} with ${key ?? 'no key'}`).toBe(401);
        expect(res.headers.get('www-authenticate'), `${method} ${path}`).toMatch(/^Bearer realm="sje"/);
        if (method !== 'HEAD') expect(res.body.error.code).toBe('SJE_ERR_UNAUTHORIZED');
      }
    }
    for (const path of ['/healthz', '/readyz', '/metrics']) expect((await call(api, 'GET', path)).status, path).toBe(200);
    expect((await snapshot(acme, o)) as { task: unknown[] }).toMatchObject({ task: [200, 'pending'], gate: [200, 'waiting_approval'] });
  });

  it('with metrics_open false, /metrics needs an API key or the ops token', async () => {
    const config = structuredClone(stack.config);
    config.security.metrics_open = false;
    const executor = await createExecutor({ config, port: 0, logger: createLogger({ service: 'executor', silent: true }), env: {} });
    await executor.start();
    try {
      const base = `http://127.0.0.1:${executor.port}`;
      expect((await call(base, 'GET', '/metrics')).status).toBe(401);
      expect((await call(base, 'GET', '/metrics', { key: 'nope' })).status).toBe(401);
      expect((await call(base, 'GET', '/metrics', { key: acmeReader.key })).status).toBe(200);
      expect((await call(base, 'GET', '/metrics', { key: OPS_TOKEN })).status).toBe(200);
      // The ops token opens /metrics only, not the API.
      expect((await call(base, 'POST', '/submit', { key: OPS_TOKEN, json: { function: 'echo' } })).status).toBe(401);
      expect((await call(base, 'GET', '/healthz')).status).toBe(200);
    } finally {
      await executor.close({ graceMs: 100 });
    }
  });
});

describe('events', () => {
  it('carry the tenant, and a subscription can keep to one tenant', async () => {
    const seen: TaskEvent[] = [];
    const sub = await subscribeTaskEvents({
      url: stack.config.amqp.url,
      prefix: stack.config.topology.prefix,
      tenant: 'globex',
      onEvent: (e) => seen.push(e),
    });
    try {
      const a = await call(api, 'POST', '/submit', { key: acme.key, json: { function: 'echo' } });
      const g = await call(api, 'POST', '/submit', { key: globex.key, json: { function: 'echo' } });
      await waitForStatus(api, acme.key, a.body.task_id, ['succeeded']);
      await waitForStatus(api, globex.key, g.body.task_id, ['succeeded']);
      const deadline = Date.now() + 5000;
      while (!seen.some((e) => e.task_id === g.body.task_id && e.status === 'succeeded') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      const mine = seen.filter((e) => e.task_id === g.body.task_id).map((e) => e.status);
      expect(mine).toEqual(['pending', 'queued', 'running', 'succeeded']);
      expect(seen.every((e) => e.tenant === 'globex')).toBe(true);
      expect(seen.some((e) => e.task_id === a.body.task_id)).toBe(false);
    } finally {
      await sub.close();
    }
  });
});
