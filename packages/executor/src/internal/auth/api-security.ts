/**
 * Everything the REST API does for security, built once per app: API keys
 * and the authentication middleware, the per-key submit rate limit, tenant
 * scoping of task-manager queries and of the accepted-task memory, and the
 * submit admission checks (params size, registered functions).
 */
import type { RequestHandler, Response } from 'express';
import type { AppDeps } from '../../app-deps.js';
import type { AcceptedTask } from '../accepted-tasks.js';
import { resolveAuth, type AuthSettings } from './api-keys.js';
import { authMiddleware } from './auth-middleware.js';
import { FunctionCatalog } from './function-catalog.js';
import { visibleToCaller } from './principal.js';
import { RateLimiter } from './rate-limiter.js';
import { SubmitGuard } from './submit-guard.js';
import { tenantScopedBroker } from './tenant-scoped-broker.js';

/** The security parts of one app. */
export interface ApiSecurity {
  /** The app's dependencies with the broker scoped to the caller's tenant. */
  deps: AppDeps;
  auth: AuthSettings;
  /** Whether the caller may see an accepted (not yet recorded) task. */
  acceptedVisible: (task: AcceptedTask) => boolean;
  guard: SubmitGuard;
  /** The authentication middleware, answering refusals through `fail`. */
  middleware: (fail: (res: Response, err: unknown) => void) => RequestHandler;
}

/**
 * Builds the security parts from the configuration and logs how the API is
 * protected (a warning when it is open).
 * @throws ConfigError when an API key cannot be resolved.
 */
export function createApiSecurity(deps: AppDeps): ApiSecurity {
  const { config, logger } = deps;
  const security = config.security;
  const auth = resolveAuth(security, deps.env ?? process.env);
  if (auth.mode === 'none') {
    logger.warn('THE REST API IS OPEN: any client that can reach it may submit, read and cancel every task; configure security.api_keys', {
      reason: auth.reason,
    });
  } else {
    logger.info('REST API authentication on', { key_ids: auth.keys.map((k) => k.id), metrics_open: auth.metricsOpen });
  }
  const limiter = new RateLimiter({ perSecond: security.rate_limit.per_second, burst: security.rate_limit.burst });
  const broker = tenantScopedBroker(deps.broker);
  const guardOptions: ConstructorParameters<typeof SubmitGuard>[0] = { maxParamsBytes: security.max_params_bytes };
  if (security.strict_functions) {
    guardOptions.functions = new FunctionCatalog({
      broker,
      ttlMs: security.functions_cache_ms,
      timeoutMs: config.executor.query_timeout_ms,
    });
  }
  return {
    deps: { ...deps, broker },
    auth,
    acceptedVisible: (task) => visibleToCaller(task.tenant),
    guard: new SubmitGuard(guardOptions),
    middleware: (fail) => authMiddleware({ auth, limiter, logger, fail }),
  };
}
