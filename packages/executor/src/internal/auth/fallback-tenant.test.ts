/**
 * `/status` read from the task-managers' ops endpoints (while the broker is
 * away) keeps to the caller's tenant: that endpoint serves every tenant.
 */
import { describe, expect, it } from 'vitest';
import { TaskStoreFallback } from '../task-store-fallback.js';
import { ANONYMOUS, runAs, type Principal } from './principal.js';

const view = { task_id: 't1', function: 'echo', status: 'succeeded', tenant: 'acme' };
const fetchView: typeof fetch = async () =>
  new Response(JSON.stringify(view), { status: 200, headers: { 'content-type': 'application/json' } });

const caller = (tenant: string, admin = false): Principal => ({
  keyId: tenant,
  tenant,
  scopes: new Set(admin ? ['admin'] : ['read']),
  allTenants: admin,
});

describe('TaskStoreFallback and tenants', () => {
  it("answers another tenant's task as unknown, and gives it to its tenant, an admin, and an open API", async () => {
    const fallback = new TaskStoreFallback({ urls: ['http://tm.invalid'], fetch: fetchView });
    expect(await runAs(caller('globex'), () => fallback.getTask('t1'))).toBeNull();
    expect(await runAs(caller('acme'), () => fallback.getTask('t1'))).toEqual(view);
    expect(await runAs(caller('ops', true), () => fallback.getTask('t1'))).toEqual(view);
    expect(await runAs(ANONYMOUS, () => fallback.getTask('t1'))).toEqual(view);
  });
});
