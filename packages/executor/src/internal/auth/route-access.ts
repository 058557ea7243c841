/**
 * What each route of the REST API needs from its caller. Paths are matched
 * the way express routes them (case-insensitive, an optional trailing slash,
 * `HEAD` as `GET`), so no spelling of a route escapes its check; a path not
 * listed here needs a valid key of any scope (it answers 404 or 405 only to a
 * known caller).
 */
import type { ApiKeyScope } from '@sje/core';

/** What a request needs. */
export type RouteAccess =
  /** Answers anyone: `/healthz`, `/readyz`. */
  | { kind: 'public' }
  /** `/metrics`: anyone when `security.metrics_open`, else any key or the ops token. */
  | { kind: 'metrics' }
  /** A key holding `scope` (or `admin`). */
  | { kind: 'scope'; scope: ApiKeyScope }
  /** Any valid key. */
  | { kind: 'any-key' };

const ID = '[^/]+';

/** Routes and their scopes: method (null = any) and path pattern. */
const TABLE: readonly { method: 'GET' | 'POST' | null; pattern: RegExp; access: RouteAccess }[] = [
  { method: null, pattern: /^\/(?:healthz|readyz)\/?$/i, access: { kind: 'public' } },
  { method: null, pattern: /^\/metrics\/?$/i, access: { kind: 'metrics' } },
  { method: 'POST', pattern: /^\/submit\/?$/i, access: { kind: 'scope', scope: 'submit' } },
  { method: 'GET', pattern: new RegExp(`^/status/${ID}/?$`, 'i'), access: { kind: 'scope', scope: 'read' } },
  { method: 'GET', pattern: new RegExp(`^/workflows(?:/.*)?$`, 'i'), access: { kind: 'scope', scope: 'read' } },
  { method: 'POST', pattern: new RegExp(`^/cancel/${ID}/?$`, 'i'), access: { kind: 'scope', scope: 'cancel' } },
  { method: 'POST', pattern: new RegExp(`^/workflows/${ID}/cancel/?$`, 'i'), access: { kind: 'scope', scope: 'cancel' } },
  { method: 'POST', pattern: new RegExp(`^/(?:approve|reject)/${ID}/?$`, 'i'), access: { kind: 'scope', scope: 'cancel' } },
];

/**
 * What `method path` needs. `path` is the request path without the query
 * string, as received (not decoded).
 * @example
 * ```ts
 * routeAccess('POST', '/submit'); // { kind: 'scope', scope: 'submit' }
 * routeAccess('GET', '/healthz'); // { kind: 'public' }
 * ```
 */
export function routeAccess(method: string, path: string): RouteAccess {
  const m = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
  for (const row of TABLE) {
    if ((row.method === null || row.method === m) && row.pattern.test(path)) return row.access;
  }
  return { kind: 'any-key' };
}
