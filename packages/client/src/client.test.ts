import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, SjeError } from '@sje/core';
import { createClient } from './client.js';
import { ClientErrorCode, SjeHttpError } from './errors.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

type Reply = { status: number; body?: unknown; raw?: string; headers?: Record<string, string> } | 'hang';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A tiny executor stand-in: records requests, answers from `route`. */
async function fakeExecutor(route: (req: Seen, n: number) => Reply): Promise<{ baseUrl: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() };
      seen.push(entry);
      const reply = route(entry, seen.length);
      if (reply === 'hang') return;
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(reply.raw ?? (reply.body === undefined ? '' : JSON.stringify(reply.body)));
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, seen };
}

async function caught(promise: Promise<unknown>): Promise<SjeError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof SjeError) return err;
    throw err;
  }
  throw new Error('expected an SjeError');
}

const view = (status: string) => ({ task_id: 't1', function: 'f', queue: 'default', priority: 0, status, attempt: 1, params: {}, depends_on: [], labels: {}, created_at: 'x', history: [] });

describe('createClient', () => {
  it('submits one task as JSON with the API key', async () => {
    const { baseUrl, seen } = await fakeExecutor(() => ({ status: 201, body: { task_id: 't1', status: 'queued' } }));
    const client = createClient({ baseUrl, apiKey: 'k-123' });
    expect(await client.submit({ function: 'resize', params: { w: 10 } })).toEqual({ task_id: 't1', status: 'queued' });
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/submit', body: '{"function":"resize","params":{"w":10}}' });
    expect(seen[0]!.headers['content-type']).toBe('application/json');
    expect(seen[0]!.headers['authorization']).toBe('Bearer k-123');
  });

  it('submits a batch under tasks and reads the workflow answer', async () => {
    const answer = { workflow_id: 'w1', tasks: [{ task_id: 'a', status: 'queued' }, { task_id: 'b', status: 'pending' }] };
    const { baseUrl, seen } = await fakeExecutor(() => ({ status: 201, body: answer }));
    const client = createClient({ baseUrl });
    expect(await client.submitBatch([{ task_id: 'a', function: 'f' }, { task_id: 'b', function: 'g', depends_on: ['a'] }])).toEqual(answer);
    expect(JSON.parse(seen[0]!.body)).toEqual({ tasks: [{ task_id: 'a', function: 'f' }, { task_id: 'b', function: 'g', depends_on: ['a'] }] });
    expect(seen[0]!.headers['authorization']).toBeUndefined();
  });

  it('reads status and cancels, escaping the task id in the path', async () => {
    const { baseUrl, seen } = await fakeExecutor((req) =>
      req.method === 'GET' ? { status: 200, body: view('running') } : { status: 202, body: { task_id: 'a:b c', status: 'pending', accepted: true, cancel_requested: true } },
    );
    const client = createClient({ baseUrl });
    expect((await client.status('a:b c')).status).toBe('running');
    expect(await client.cancel('a:b c')).toEqual({ task_id: 'a:b c', status: 'pending', cancel_requested: true });
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['GET /status/a%3Ab%20c', 'POST /cancel/a%3Ab%20c']);
  });

  it('turns an error answer into SjeHttpError with status, code, details and Retry-After', async () => {
    const { baseUrl } = await fakeExecutor((req) =>
      req.url === '/submit'
        ? { status: 400, body: { error: { code: ErrorCode.VALIDATION, message: 'bad priority', details: { field: 'priority', reason: 'too big' } } } }
        : { status: 503, body: { error: { code: ErrorCode.TASK_MANAGER_UNAVAILABLE, message: 'later' } }, headers: { 'retry-after': '2' } },
    );
    const client = createClient({ baseUrl });
    const bad = await caught(client.submit({ function: 'f', priority: 99 }));
    expect(bad).toBeInstanceOf(SjeHttpError);
    expect(bad).toMatchObject({ status: 400, code: ErrorCode.VALIDATION, message: 'bad priority', details: { field: 'priority', reason: 'too big' }, retryable: false });
    const busy = await caught(client.status('t1'));
    expect(busy).toMatchObject({ status: 503, code: ErrorCode.TASK_MANAGER_UNAVAILABLE, retryAfterMs: 2000, retryable: true });
  });

  it('reports answers that are not SJE JSON', async () => {
    const { baseUrl } = await fakeExecutor((req) => (req.url === '/submit' ? { status: 502, raw: '<html>bad gateway</html>' } : { status: 200, raw: 'ok' }));
    const client = createClient({ baseUrl });
    expect(await caught(client.submit({ function: 'f' }))).toMatchObject({ status: 502, code: ClientErrorCode.BAD_RESPONSE, retryable: true });
    expect((await caught(client.status('t1'))).code).toBe(ClientErrorCode.BAD_RESPONSE);
  });

  it('gives up after timeoutMs and reports unreachable executors', async () => {
    const { baseUrl } = await fakeExecutor(() => 'hang');
    const started = Date.now();
    const slow = await caught(createClient({ baseUrl, timeoutMs: 150 }).status('t1'));
    expect(slow).toMatchObject({ code: ClientErrorCode.REQUEST_TIMEOUT, retryable: true });
    expect(Date.now() - started).toBeLessThan(2000);
    const closed = await fakeExecutor(() => ({ status: 200, body: {} }));
    const server = servers.pop()!;
    await new Promise((r) => server.close(r));
    expect(await caught(createClient({ baseUrl: closed.baseUrl }).status('t1'))).toMatchObject({ code: ClientErrorCode.NETWORK, retryable: true });
  });
});

describe('waitFor', () => {
  it('polls through "accepted", 404 and 503 answers until a final status', async () => {
    const script: Reply[] = [
      { status: 404, body: { error: { code: ErrorCode.TASK_NOT_FOUND, message: 'not yet' } } },
      { status: 200, body: { task_id: 't1', function: 'f', status: 'pending', attempt: 0, accepted: true } },
      { status: 503, body: { error: { code: ErrorCode.TASK_MANAGER_UNAVAILABLE, message: 'busy' } } },
      { status: 200, body: view('running') },
      { status: 200, body: { ...view('succeeded'), result: { ok: 1 } } },
    ];
    const { baseUrl, seen } = await fakeExecutor((_req, n) => script[n - 1] ?? { status: 500, body: {} });
    const done = await createClient({ baseUrl }).waitFor('t1', { intervalMs: 10, timeoutMs: 5000 });
    expect(done.status).toBe('succeeded');
    expect(done.result).toEqual({ ok: 1 });
    expect(seen).toHaveLength(5);
  });

  it('throws WAIT_TIMEOUT with the last status when the task does not finish', async () => {
    const { baseUrl } = await fakeExecutor(() => ({ status: 200, body: view('running') }));
    const err = await caught(createClient({ baseUrl }).waitFor('t1', { intervalMs: 20, timeoutMs: 120 }));
    expect(err.code).toBe(ClientErrorCode.WAIT_TIMEOUT);
    expect(err.data).toEqual({ task_id: 't1', last_status: 'running' });
  });

  it('stops at a 404 once the grace time is over, and at non-retryable errors at once', async () => {
    const { baseUrl, seen } = await fakeExecutor(() => ({ status: 404, body: { error: { code: ErrorCode.TASK_NOT_FOUND, message: 'no' } } }));
    const err = await caught(createClient({ baseUrl }).waitFor('t1', { intervalMs: 10, notFoundGraceMs: 0 }));
    expect(err).toMatchObject({ status: 404, code: ErrorCode.TASK_NOT_FOUND });
    expect(seen).toHaveLength(1);
  });

  it('stops when its signal aborts', async () => {
    const { baseUrl } = await fakeExecutor(() => ({ status: 200, body: view('queued') }));
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('page closed')), 50);
    await expect(createClient({ baseUrl }).waitFor('t1', { intervalMs: 1000, signal: controller.signal })).rejects.toThrow('page closed');
  });
});
