/**
 * Who is calling: the principal of an API request, kept for the duration of
 * the request in an `AsyncLocalStorage`, so that every query the request
 * makes to the task-manager is scoped to the caller's tenant without each
 * route having to pass it along.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ApiKeyScope } from '@sje/core';

/** The caller of one request. */
export interface Principal {
  /** Id of the API key used; undefined when the API runs without authentication. */
  keyId: string | undefined;
  /** The key's tenant: the owner of what the caller submits. */
  tenant: string | undefined;
  /** What the key may do (`admin` implies every scope). */
  scopes: ReadonlySet<ApiKeyScope>;
  /**
   * Sees every tenant's tasks: an `admin` key, or any caller when the API
   * runs without authentication.
   */
  allTenants: boolean;
}

/** The caller of an API that runs without authentication (`security.auth: none`). */
export const ANONYMOUS: Principal = Object.freeze({
  keyId: undefined,
  tenant: undefined,
  scopes: new Set<ApiKeyScope>(['submit', 'read', 'cancel', 'admin']),
  allTenants: true,
});

const storage = new AsyncLocalStorage<Principal>();

/** Runs `fn` (and everything it starts) on behalf of `principal`. */
export function runAs<T>(principal: Principal, fn: () => T): T {
  return storage.run(principal, fn);
}

/** The principal of the request being handled, if any. */
export function currentPrincipal(): Principal | undefined {
  return storage.getStore();
}

/** Whether `principal` holds `scope` (directly or through `admin`). */
export function hasScope(principal: Principal, scope: ApiKeyScope): boolean {
  return principal.scopes.has('admin') || principal.scopes.has(scope);
}

/**
 * The tenant filter of the current request: the caller's tenant, or
 * undefined when it may see every tenant (admin, no authentication, or code
 * that runs outside any request).
 */
export function currentTenantFilter(): string | undefined {
  const p = currentPrincipal();
  return p === undefined || p.allTenants ? undefined : p.tenant;
}

/**
 * Whether the current caller may see something owned by `owner` (a task or
 * workflow tenant): an unscoped caller sees everything, a tenant only its own.
 */
export function visibleToCaller(owner: string | undefined): boolean {
  const filter = currentTenantFilter();
  return filter === undefined || filter === owner;
}

/**
 * Runs `fn` without the tenant filter, for the checks that must see every
 * tenant's ids to refuse a conflicting one (the caller's principal stays
 * known to `fn` through its own variables, not through this context).
 */
export function runUnscoped<T>(fn: () => T): T {
  const p = currentPrincipal();
  return p === undefined ? fn() : storage.run({ ...p, allTenants: true }, fn);
}
