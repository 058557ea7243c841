import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BrokerUnavailableError, ErrorCode, SjeError } from '@sje/core';
import { afterEach, describe, expect, it } from 'vitest';
import { isQueryUnavailable, TaskStoreFallback } from './task-store-fallback.js';

const servers: Server[] = [];

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A URL where nothing listens (a port that was free a moment ago). */
async function deadUrl(): Promise<string> {
  const url = await serve(() => undefined);
  const server = servers.pop()!;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return url;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

describe('TaskStoreFallback', () => {
  it('skips task-managers that refuse, hang or answer nonsense, and returns the first real answer', async () => {
    const seen: string[] = [];
    const hanging = await serve((req) => seen.push(`hang ${req.url}`));
    const wrongPort = await serve((req, res) => {
      seen.push(`wrong ${req.url}`);
      json(res, 404, { error: { code: 'SJE_ERR_NOT_FOUND', message: 'no route' } });
    });
    const notTheTask = await serve((_req, res) => json(res, 200, { task_id: 'another', function: 'echo', status: 'queued' }));
    const good = await serve((req, res) => {
      seen.push(`good ${req.url} ${req.headers['authorization']}`);
      json(res, 200, { task_id: 'a:b.1', function: 'echo', status: 'running', attempt: 1 });
    });
    const fallback = new TaskStoreFallback({
      urls: [await deadUrl(), hanging, `${wrongPort}/`, notTheTask, good],
      timeoutMs: 300,
      opsToken: 's3cret',
    });
    const t0 = Date.now();
    const view = await fallback.getTask('a:b.1');
    expect(view).toEqual({ task_id: 'a:b.1', function: 'echo', status: 'running', attempt: 1 });
    // The hanging one cost its timeout, not more.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(seen).toEqual(['hang /tasks/a%3Ab.1', 'wrong /tasks/a%3Ab.1', 'good /tasks/a%3Ab.1 Bearer s3cret']);
  });

  it("returns null on the task-manager's own 404, and undefined when nobody answers", async () => {
    const unknown = await serve((_req, res) => json(res, 404, { error: { code: ErrorCode.TASK_NOT_FOUND, message: 'task x not found' } }));
    expect(await new TaskStoreFallback({ urls: [unknown] }).getTask('x')).toBeNull();
    const broken = await serve((_req, res) => json(res, 503, { error: { code: 'SJE_ERR_SHUTTING_DOWN', message: 'bye' } }));
    expect(await new TaskStoreFallback({ urls: [await deadUrl(), broken], timeoutMs: 200 }).getTask('x')).toBeUndefined();
    const none = new TaskStoreFallback({ urls: [] });
    expect(none.enabled).toBe(false);
    expect(await none.getTask('x')).toBeUndefined();
  });

  it('sends no Authorization header without an ops token', async () => {
    let auth: string | undefined = 'unset';
    const url = await serve((req, res) => {
      auth = req.headers['authorization'];
      json(res, 200, { task_id: 'x', function: 'f', status: 'queued' });
    });
    await new TaskStoreFallback({ urls: [url], opsToken: '' }).getTask('x');
    expect(auth).toBeUndefined();
  });
});

describe('isQueryUnavailable', () => {
  it('is true for a missing broker and a task-manager that did not answer, false for real answers', () => {
    expect(isQueryUnavailable(new BrokerUnavailableError())).toBe(true);
    expect(isQueryUnavailable(new SjeError(ErrorCode.TASK_MANAGER_UNAVAILABLE, 'no answer'))).toBe(true);
    expect(isQueryUnavailable(new SjeError(ErrorCode.TASK_NOT_FOUND, 'nope'))).toBe(false);
    expect(isQueryUnavailable(new SjeError(ErrorCode.MESSAGE_INVALID, 'bad reply'))).toBe(false);
    expect(isQueryUnavailable(new Error('boom'))).toBe(false);
  });
});
