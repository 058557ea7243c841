import { describe, expect, it } from 'vitest';
import { routeAccess } from './route-access.js';

describe('routeAccess', () => {
  it.each([
    ['GET', '/healthz', { kind: 'public' }],
    ['GET', '/READYZ/', { kind: 'public' }],
    ['POST', '/healthz', { kind: 'public' }],
    ['GET', '/metrics', { kind: 'metrics' }],
    ['POST', '/submit', { kind: 'scope', scope: 'submit' }],
    ['POST', '/Submit/', { kind: 'scope', scope: 'submit' }],
    ['GET', '/status/abc', { kind: 'scope', scope: 'read' }],
    ['HEAD', '/status/abc', { kind: 'scope', scope: 'read' }],
    ['GET', '/STATUS/abc/', { kind: 'scope', scope: 'read' }],
    ['GET', '/workflows/w1', { kind: 'scope', scope: 'read' }],
    ['POST', '/cancel/abc', { kind: 'scope', scope: 'cancel' }],
    ['POST', '/workflows/w1/cancel', { kind: 'scope', scope: 'cancel' }],
    ['POST', '/workflows/w1/CANCEL/', { kind: 'scope', scope: 'cancel' }],
    ['POST', '/approve/abc', { kind: 'scope', scope: 'cancel' }],
    ['POST', '/reject/abc', { kind: 'scope', scope: 'cancel' }],
    // Anything else needs a key before it may learn that the route does not exist.
    ['GET', '/submit', { kind: 'any-key' }],
    ['POST', '/status/abc', { kind: 'any-key' }],
    ['DELETE', '/cancel/abc', { kind: 'any-key' }],
    ['GET', '/nothing-here', { kind: 'any-key' }],
    ['GET', '/healthz/x', { kind: 'any-key' }],
    ['GET', '/%68ealthz', { kind: 'any-key' }],
  ])('%s %s', (method, path, expected) => {
    expect(routeAccess(method, path)).toEqual(expected);
  });
});
