/**
 * Wraps the executor's broker so that every task-manager query made while
 * handling a request carries the caller's tenant: the task-manager then
 * answers as if other tenants' tasks and workflows did not exist. Every
 * route's queries go through it, whichever client class builds them.
 */
import type { Validator } from '@sje/core';
import type { BrokerPort } from '../../app-deps.js';
import { currentTenantFilter } from './principal.js';

/** Query types the task-manager filters by tenant. */
export const TENANT_SCOPED_QUERIES: ReadonlySet<string> = new Set([
  'get_tasks',
  'cancel_task',
  'get_workflow',
  'cancel_workflow',
  'decide_approval',
]);

/** `body` with the current caller's tenant, when it is a tenant-scoped query and the caller is scoped. */
export function withCallerTenant(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const type = (body as { type?: unknown }).type;
  if (typeof type !== 'string' || !TENANT_SCOPED_QUERIES.has(type)) return body;
  const tenant = currentTenantFilter();
  // An explicit tenant set by the caller's code is never widened; a scoped caller always gets its own.
  return tenant === undefined ? body : { ...body, tenant };
}

/**
 * The broker as routes see it: publishes pass through; requests are scoped
 * to the caller's tenant.
 * @example
 * ```ts
 * const broker = tenantScopedBroker(rt.broker);
 * await broker.request(broker.topology.routingKeys.query, { type: 'get_tasks', task_ids: [id] }, validators.reply, 3000);
 * ```
 */
export function tenantScopedBroker(broker: BrokerPort): BrokerPort {
  return {
    get connected(): boolean {
      return broker.connected;
    },
    get topology() {
      return broker.topology;
    },
    publish: (exchange, routingKey, body, options) => broker.publish(exchange, routingKey, body, options),
    request: <T>(routingKey: string, body: unknown, validate: Validator<T>, timeoutMs: number): Promise<T> =>
      broker.request(routingKey, withCallerTenant(body), validate, timeoutMs),
  };
}
