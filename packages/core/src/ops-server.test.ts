import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { startOpsServer, type OpsServer } from './ops-server.js';

let server: OpsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(token?: string): Promise<string> {
  const options: Parameters<typeof startOpsServer>[0] = {
    host: '127.0.0.1',
    port: 0,
    registry: new Registry(),
    readiness: () => ({ ready: true, checks: {} }),
    routes: async (path) => (path === '/tasks/t1' ? { status: 200, body: { task_id: 't1' }, headers: { 'x-sje-topology-prefix': 'sje' } } : undefined),
  };
  if (token !== undefined) options.token = token;
  server = await startOpsServer(options);
  return `http://127.0.0.1:${server.port}`;
}

describe('ops server token', () => {
  it('without a token, every route answers anyone', async () => {
    const base = await start();
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
    expect((await fetch(`${base}/tasks/t1`)).status).toBe(200);
  });

  it("sends a route's own headers with its answer, and keeps the JSON content type", async () => {
    const res = await fetch(`${await start()}/tasks/t1`);
    expect(res.headers.get('x-sje-topology-prefix')).toBe('sje');
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ task_id: 't1' });
  });

  it('with a token, only /healthz and /readyz answer without it', async () => {
    const token = 'ops-token-for-the-test-0123456789';
    const base = await start(token);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    for (const path of ['/metrics', '/tasks/t1', '/tasks/unknown', '/other']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('SJE_ERR_UNAUTHORIZED');
      expect((await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}x` } })).status, path).toBe(401);
      expect((await fetch(`${base}${path}`, { headers: { authorization: token } })).status, path).toBe(401);
    }
    const ok = { headers: { authorization: `Bearer ${token}` } };
    expect((await fetch(`${base}/metrics`, ok)).status).toBe(200);
    expect(await (await fetch(`${base}/tasks/t1`, ok)).json()).toEqual({ task_id: 't1' });
    expect((await fetch(`${base}/tasks/unknown`, ok)).status).toBe(404);
  });
});
