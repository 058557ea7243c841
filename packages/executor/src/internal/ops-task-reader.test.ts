import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BrokerUnavailableError, ErrorCode, SjeError } from '@sje/core';
import { afterEach, describe, expect, it } from 'vitest';
import { isQueryUnavailable, OpsTaskReader, PREFIX_HEADER } from './ops-task-reader.js';

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

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

describe('OpsTaskReader', () => {
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
    const reader = new OpsTaskReader({
      urls: [await deadUrl(), hanging, `${wrongPort}/`, notTheTask, good],
      timeoutMs: 300,
      opsToken: 's3cret',
    });
    const t0 = Date.now();
    const view = await reader.getTask('a:b.1');
    expect(view).toEqual({ task_id: 'a:b.1', function: 'echo', status: 'running', attempt: 1 });
    // The hanging one cost its timeout, not more.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(seen).toEqual(['hang /tasks/a%3Ab.1', 'wrong /tasks/a%3Ab.1', 'good /tasks/a%3Ab.1 Bearer s3cret']);
  });

  it("returns null on the task-manager's own 404, and undefined when nobody answers", async () => {
    const unknown = await serve((_req, res) => json(res, 404, { error: { code: ErrorCode.TASK_NOT_FOUND, message: 'task x not found' } }));
    expect(await new OpsTaskReader({ urls: [unknown] }).getTask('x')).toBeNull();
    const broken = await serve((_req, res) => json(res, 503, { error: { code: 'SJE_ERR_SHUTTING_DOWN', message: 'bye' } }));
    expect(await new OpsTaskReader({ urls: [await deadUrl(), broken], timeoutMs: 200 }).getTask('x')).toBeUndefined();
    const none = new OpsTaskReader({ urls: [] });
    expect(none.enabled).toBe(false);
    expect(await none.getTask('x')).toBeUndefined();
  });

  it('sends no Authorization header without an ops token', async () => {
    let auth: string | undefined = 'unset';
    const url = await serve((req, res) => {
      auth = req.headers['authorization'];
      json(res, 200, { task_id: 'x', function: 'f', status: 'queued' });
    });
    await new OpsTaskReader({ urls: [url], opsToken: '' }).getTask('x');
    expect(auth).toBeUndefined();
  });

  it('asks the URL that answered last first, and sets aside one that answered 503 (a standby) for first reads', async () => {
    const clock = 1_000;
    const seen: string[] = [];
    const standby = await serve((_req, res) => {
      seen.push('standby');
      json(res, 503, { error: { code: ErrorCode.TASK_MANAGER_UNAVAILABLE, message: 'this task-manager is a standby' } });
    });
    const active = await serve((req, res) => {
      seen.push('active');
      json(res, 200, { task_id: decodeURIComponent((req.url ?? '').slice('/tasks/'.length)), function: 'echo', status: 'queued' });
    });
    const reader = new OpsTaskReader({ urls: [standby, active], restMs: 500, now: () => clock });
    expect((await reader.getTask('t1', { skipResting: true }))?.task_id).toBe('t1');
    expect(seen).toEqual(['standby', 'active']);
    // The active one answered last: asked first, the standby not at all.
    expect((await reader.getTask('t2', { skipResting: true }))?.task_id).toBe('t2');
    expect(seen).toEqual(['standby', 'active', 'active']);
    // The active one goes away while the standby still rests: a first read asks only the active one, and finds nobody.
    const activeServer = servers.pop()!;
    activeServer.closeAllConnections();
    await new Promise<void>((resolve) => activeServer.close(() => resolve()));
    expect(await reader.getTask('t3', { skipResting: true })).toBeUndefined();
    expect(seen).toEqual(['standby', 'active', 'active']);
    reader.close();
  });

  it('takes the standby again once its rest is over, and a last-resort read asks every URL not yet tried', async () => {
    let clock = 1_000;
    let standbyAnswers = 503;
    const seen: string[] = [];
    const standby = await serve((_req, res) => {
      seen.push('standby');
      if (standbyAnswers === 503) json(res, 503, { error: { code: ErrorCode.TASK_MANAGER_UNAVAILABLE, message: 'standby' } });
      else json(res, 200, { task_id: 't1', function: 'echo', status: 'succeeded' });
    });
    const reader = new OpsTaskReader({ urls: [standby], restMs: 500, now: () => clock });
    expect(await reader.getTask('t1', { skipResting: true })).toBeUndefined();
    expect(seen).toEqual(['standby']);
    // Resting: a first read skips it without asking ...
    const tried = new Set<string>();
    expect(await reader.getTask('t1', { skipResting: true, tried })).toBeUndefined();
    expect(seen).toEqual(['standby']);
    expect(tried.size).toBe(0);
    // ... a last-resort read still asks it; it took over meanwhile.
    standbyAnswers = 200;
    expect((await reader.getTask('t1', { tried }))?.status).toBe('succeeded');
    expect(seen).toEqual(['standby', 'standby']);
    // A URL already tried for this request is not asked twice.
    expect(await reader.getTask('t1', { tried })).toBeUndefined();
    expect(seen).toEqual(['standby', 'standby']);
    // Past its rest, first reads take it again.
    standbyAnswers = 503;
    expect(await reader.getTask('t1', { skipResting: true })).toBeUndefined();
    clock += 501;
    standbyAnswers = 200;
    expect((await reader.getTask('t1', { skipResting: true }))?.status).toBe('succeeded');
    reader.close();
  });

  it('doubles the rest of a URL that keeps failing, up to the longest rest, and forgets it once the URL answers', async () => {
    let clock = 0;
    let answer = 503;
    let asked = 0;
    const url = await serve((_req, res) => {
      asked += 1;
      if (answer === 503) json(res, 503, { error: { code: ErrorCode.TASK_MANAGER_UNAVAILABLE, message: 'standby' } });
      else json(res, 200, { task_id: 'x', function: 'f', status: 'queued' });
    });
    const reader = new OpsTaskReader({ urls: [url], restMs: 100, maxRestMs: 350, now: () => clock });
    /** When, from now, a first read asks the URL again (it fails each time). */
    const nextAsk = async (): Promise<number> => {
      const from = clock;
      const before = asked;
      for (;;) {
        await reader.getTask('x', { skipResting: true });
        if (asked > before) return clock - from;
        clock += 10;
      }
    };
    await reader.getTask('x', { skipResting: true });
    expect(asked).toBe(1);
    expect(await nextAsk()).toBe(100);
    expect(await nextAsk()).toBe(200);
    expect(await nextAsk()).toBe(350);
    expect(await nextAsk()).toBe(350);
    answer = 200;
    clock += 350;
    expect((await reader.getTask('x', { skipResting: true }))?.status).toBe('queued');
    answer = 503;
    expect(await reader.getTask('x', { skipResting: true })).toBeUndefined();
    expect(await nextAsk()).toBe(100);
    reader.close();
  });

  it("does not use the answers of a task-manager of another deployment (another topology prefix)", async () => {
    const other = await serve((_req, res) => json(res, 404, { error: { code: ErrorCode.TASK_NOT_FOUND, message: 'no' } }, { [PREFIX_HEADER]: 'other' }));
    const ours = await serve((_req, res) => json(res, 200, { task_id: 'x', function: 'f', status: 'running' }, { [PREFIX_HEADER]: 'sje' }));
    const legacy = await serve((_req, res) => json(res, 200, { task_id: 'x', function: 'f', status: 'queued' }));
    expect((await new OpsTaskReader({ urls: [other, ours], prefix: 'sje' }).getTask('x'))?.status).toBe('running');
    expect(await new OpsTaskReader({ urls: [other], prefix: 'sje' }).getTask('x')).toBeUndefined();
    // A task-manager that does not name its prefix is taken at its word.
    expect((await new OpsTaskReader({ urls: [legacy], prefix: 'sje' }).getTask('x'))?.status).toBe('queued');
  });

  it('keeps one connection alive across reads, and sends again on a fresh one when the kept one was closed under it', async () => {
    const connections: number[] = [];
    let requests = 0;
    const url = await serve((req, res) => {
      requests += 1;
      // The second request arrives on the kept-alive connection: drop it unanswered, as a server closing an idle connection would.
      if (requests === 2) {
        req.socket.destroy();
        return;
      }
      json(res, 200, { task_id: 'x', function: 'f', status: 'queued' });
    });
    servers.at(-1)?.on('connection', () => connections.push(requests));
    const reader = new OpsTaskReader({ urls: [url] });
    try {
      expect((await reader.getTask('x'))?.status).toBe('queued');
      expect((await reader.getTask('x'))?.status).toBe('queued');
      expect(requests).toBe(3);
      // One connection for the first two requests, a new one for the retry.
      expect(connections).toEqual([0, 2]);
      expect((await reader.getTask('x'))?.status).toBe('queued');
      expect(connections).toEqual([0, 2]);
    } finally {
      reader.close();
    }
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

describe('OpsTaskReader connections', () => {
  it('closes a kept-alive connection once idle for idleSocketMs, before the ops endpoint would', async () => {
    let closedAt: number | undefined;
    let lastAnswer = 0;
    const url = await serve((req, res) => {
      req.socket.once('close', () => (closedAt = Date.now()));
      lastAnswer = Date.now();
      json(res, 200, { task_id: 'x', function: 'f', status: 'running', attempt: 1, history: [] });
    });
    // The ops endpoint would keep the connection for 10 s.
    servers[servers.length - 1]!.keepAliveTimeout = 10_000;
    const reader = new OpsTaskReader({ urls: [url], idleSocketMs: 200 });
    try {
      expect((await reader.getTask('x'))?.status).toBe('running');
      const deadline = Date.now() + 3000;
      while (closedAt === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(closedAt).toBeDefined();
      expect((closedAt ?? 0) - lastAnswer).toBeGreaterThanOrEqual(150);
    } finally {
      reader.close();
    }
  });
});
