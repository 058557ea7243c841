/**
 * The express middleware in front of every route: finds the caller's API key,
 * checks the route's scope, applies the per-key submit rate limit, and runs
 * the rest of the request as that principal (see `principal.ts`).
 */
import { ErrorCode, SjeError, type Logger } from '@sje/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AuthSettings, ResolvedApiKey } from './api-keys.js';
import { bearerToken, findKey, isOpsToken } from './authenticator.js';
import { ANONYMOUS, hasScope, runAs, type Principal } from './principal.js';
import type { RateLimiter } from './rate-limiter.js';
import { routeAccess, type RouteAccess } from './route-access.js';

/** What {@link authMiddleware} needs. */
export interface AuthMiddlewareOptions {
  auth: AuthSettings;
  limiter: RateLimiter;
  logger: Logger;
  /** Answers with the JSON error of `err`. */
  fail: (res: Response, err: unknown) => void;
}

/** Bucket of the submit rate limit when the API runs without keys. */
const ANONYMOUS_BUCKET = '(anonymous)';

function principalOf(key: ResolvedApiKey): Principal {
  return { keyId: key.id, tenant: key.tenant, scopes: key.scopes, allTenants: key.scopes.has('admin') };
}

function unauthorized(res: Response, message: string, invalidToken: boolean): SjeError {
  res.setHeader('WWW-Authenticate', invalidToken ? 'Bearer realm="sje", error="invalid_token"' : 'Bearer realm="sje"');
  return new SjeError(ErrorCode.UNAUTHORIZED, message);
}

/**
 * Builds the middleware.
 * @example
 * ```ts
 * app.use(authMiddleware({ auth: resolveAuth(config.security, env), limiter, logger, fail }));
 * ```
 */
export function authMiddleware(options: AuthMiddlewareOptions): RequestHandler {
  const { auth, limiter, logger } = options;

  /** Applies the submit rate limit; false when the request was answered 429. */
  const limit = (access: RouteAccess, res: Response, principal: Principal): boolean => {
    if (access.kind !== 'scope' || access.scope !== 'submit') return true;
    const decision = limiter.take(principal.keyId ?? ANONYMOUS_BUCKET);
    if (decision.allowed) return true;
    res.setHeader('Retry-After', String(decision.retryAfterS));
    logger.info('submit rate limit reached', { key_id: principal.keyId ?? null, retry_after_s: decision.retryAfterS });
    options.fail(
      res,
      new SjeError(ErrorCode.RATE_LIMITED, `too many submits for this key; retry in ${decision.retryAfterS} s`, {
        retryable: true,
        data: { retry_after_s: decision.retryAfterS },
      }),
    );
    return false;
  };

  return (req: Request, res: Response, next: NextFunction): void => {
    const access = routeAccess(req.method, req.path);
    if (access.kind === 'public') return next();
    if (access.kind === 'metrics' && auth.metricsOpen) return next();
    if (auth.mode === 'none') {
      if (!limit(access, res, ANONYMOUS)) return;
      runAs(ANONYMOUS, next);
      return;
    }
    const token = bearerToken(req.headers);
    if (token === undefined) {
      options.fail(res, unauthorized(res, 'this API needs an API key: Authorization: Bearer <key>', false));
      return;
    }
    if (access.kind === 'metrics' && isOpsToken(auth.opsTokenDigest, token)) return next();
    const key = findKey(auth.keys, token);
    if (key === undefined) {
      logger.info('request refused: unknown API key', { method: req.method, path: req.path });
      options.fail(res, unauthorized(res, 'the API key is not valid', true));
      return;
    }
    const principal = principalOf(key);
    if (access.kind === 'scope' && !hasScope(principal, access.scope)) {
      logger.info('request refused: missing scope', { key_id: key.id, method: req.method, path: req.path, scope: access.scope });
      options.fail(
        res,
        new SjeError(ErrorCode.FORBIDDEN, `the API key '${key.id}' lacks the '${access.scope}' scope`, { data: { scope: access.scope } }),
      );
      return;
    }
    if (!limit(access, res, principal)) return;
    runAs(principal, next);
  };
}
