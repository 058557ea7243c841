/**
 * `/status` read from the task-managers' ops endpoints keeps to the caller's
 * tenant: that endpoint serves every tenant.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpsTaskReader } from '../ops-task-reader.js';
import { ANONYMOUS, runAs, type Principal } from './principal.js';

const view = { task_id: 't1', function: 'echo', status: 'succeeded', tenant: 'acme' };
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(view));
});
let url = '';
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const caller = (tenant: string, admin = false): Principal => ({
  keyId: tenant,
  tenant,
  scopes: new Set(admin ? ['admin'] : ['read']),
  allTenants: admin,
});

describe('OpsTaskReader and tenants', () => {
  it("answers another tenant's task as unknown, and gives it to its tenant, an admin, and an open API", async () => {
    const reader = new OpsTaskReader({ urls: [url] });
    expect(await runAs(caller('globex'), () => reader.getTask('t1'))).toBeNull();
    expect(await runAs(caller('acme'), () => reader.getTask('t1'))).toEqual(view);
    expect(await runAs(caller('ops', true), () => reader.getTask('t1'))).toEqual(view);
    expect(await runAs(ANONYMOUS, () => reader.getTask('t1'))).toEqual(view);
    reader.close();
  });
});
