import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, SjeError } from '@sje/core';
import { createClient } from './client.js';
import { ClientErrorCode, SjeHttpError } from './errors.js';

interface Seen {
  method: string;
  url: string;
  body: string;
}

type Reply = { status: number; body?: unknown };

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
      const entry: Seen = { method: req.method ?? '', url: req.url ?? '', body: Buffer.concat(chunks).toString() };
      seen.push(entry);
      const reply = route(entry, seen.length);
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
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

const workflow = (status: string) => ({ workflow_id: 'wf/1', status, counts: {}, total: 2, tasks: [], edges: [], created_at: 'x' });

describe('workflow methods', () => {
  it('submits a template by name with its params', async () => {
    const { baseUrl, seen } = await fakeExecutor(() => ({
      status: 201,
      body: { workflow_id: 'w', tasks: [{ task_id: 'w.a', status: 'queued' }] },
    }));
    const result = await createClient({ baseUrl }).submitTemplate('daily_etl', { date: '2024-05-01' });
    expect(result).toEqual({ workflow_id: 'w', tasks: [{ task_id: 'w.a', status: 'queued' }] });
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/submit' });
    expect(JSON.parse(seen[0]!.body)).toEqual({ workflow: 'daily_etl', params: { date: '2024-05-01' } });
  });

  it('reads and cancels a workflow, escaping its id', async () => {
    const { baseUrl, seen } = await fakeExecutor((req) => ({
      status: 200,
      body: workflow(req.method === 'POST' ? 'cancelled' : 'running'),
    }));
    const client = createClient({ baseUrl });
    expect((await client.workflow('wf/1')).status).toBe('running');
    expect((await client.cancelWorkflow('wf/1')).status).toBe('cancelled');
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['GET /workflows/wf%2F1', 'POST /workflows/wf%2F1/cancel']);
  });

  it('approves with a comment and rejects without one', async () => {
    const { baseUrl, seen } = await fakeExecutor((req) => ({
      status: 200,
      body: { task_id: 'g', status: req.url.startsWith('/approve') ? 'succeeded' : 'failed' },
    }));
    const client = createClient({ baseUrl });
    expect(await client.approve('g', 'ok by me')).toEqual({ task_id: 'g', status: 'succeeded' });
    expect(await client.reject('g')).toEqual({ task_id: 'g', status: 'failed' });
    expect(seen.map((s) => [s.url, s.body])).toEqual([
      ['/approve/g', '{"comment":"ok by me"}'],
      ['/reject/g', ''],
    ]);
  });

  it('raises the 409 of a gate that is not waiting', async () => {
    const { baseUrl } = await fakeExecutor(() => ({
      status: 409,
      body: { error: { code: ErrorCode.NOT_WAITING_APPROVAL, message: 'no', details: { status: 'succeeded' } } },
    }));
    const err = await caught(createClient({ baseUrl }).approve('g'));
    expect(err).toBeInstanceOf(SjeHttpError);
    expect(err).toMatchObject({ status: 409, code: ErrorCode.NOT_WAITING_APPROVAL, details: { status: 'succeeded' } });
  });

  it('reports a workflow cancelled through cancel(id)', async () => {
    const { baseUrl } = await fakeExecutor(() => ({ status: 200, body: workflow('cancelled') }));
    const result = await createClient({ baseUrl }).cancel('wf/1');
    expect(result.status).toBe('cancelled');
    expect(result.workflow?.workflow_id).toBe('wf/1');
  });

  it('waits for a workflow through a not-yet-recorded 404 and a 503 until it is final', async () => {
    const script: Reply[] = [
      { status: 404, body: { error: { code: ErrorCode.WORKFLOW_NOT_FOUND, message: 'not yet' } } },
      { status: 503, body: { error: { code: ErrorCode.TASK_MANAGER_UNAVAILABLE, message: 'busy' } } },
      { status: 200, body: workflow('running') },
      { status: 200, body: workflow('partially_succeeded') },
    ];
    const { baseUrl, seen } = await fakeExecutor((_req, n) => script[n - 1] ?? { status: 500, body: {} });
    const done = await createClient({ baseUrl }).waitForWorkflow('wf/1', { intervalMs: 10, timeoutMs: 5000 });
    expect(done.status).toBe('partially_succeeded');
    expect(seen).toHaveLength(4);
  });

  it('gives up waiting for a workflow with WAIT_TIMEOUT and the last status', async () => {
    const { baseUrl } = await fakeExecutor(() => ({ status: 200, body: workflow('running') }));
    const err = await caught(createClient({ baseUrl }).waitForWorkflow('wf/1', { intervalMs: 20, timeoutMs: 120 }));
    expect(err.code).toBe(ClientErrorCode.WAIT_TIMEOUT);
    expect(err.data).toEqual({ workflow_id: 'wf/1', last_status: 'running' });
  });
});
