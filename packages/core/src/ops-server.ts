/**
 * A small HTTP endpoint every non-HTTP service exposes: `/healthz` (the
 * process is alive), `/readyz` (connected and able to work) and `/metrics`
 * (Prometheus text). With a token, everything but `/healthz` and `/readyz`
 * needs `Authorization: Bearer <token>`.
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { keepIdleConnections } from './http-keep-alive.js';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { ErrorCode } from './errors.js';

/** What `/readyz` reports. */
export interface Readiness {
  ready: boolean;
  checks: Record<string, boolean | string>;
}

/** Options of {@link startOpsServer}. */
export interface OpsServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  registry: Registry;
  readiness: () => Readiness;
  /**
   * Extra read-only GET routes: return an answer (with extra headers, if
   * any) for a path this service serves, or undefined for 404.
   */
  routes?: (path: string) => Promise<{ status: number; body: unknown; headers?: Record<string, string> } | undefined>;
  /**
   * When non-empty, every path but `/healthz` and `/readyz` answers 401
   * unless the request carries `Authorization: Bearer <token>`
   * (`security.ops_token`). @defaultValue '' (open)
   */
  token?: string;
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Whether `req` carries `Bearer <token>`; compared in constant time. */
export function hasBearerToken(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return false;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (!m || m[1] === undefined) return false;
  return timingSafeEqual(digest(m[1]), digest(token));
}

/** A running ops endpoint. */
export interface OpsServer {
  /** The port it listens on. */
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `/healthz`, `/readyz` and `/metrics`. */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown, type = 'application/json', headers?: Record<string, string>): void => {
      res.writeHead(status, { ...headers, 'content-type': type });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') return send(405, { error: { code: 'SJE_ERR_METHOD_NOT_ALLOWED', message: 'only GET is served here' } });
    if (path === '/healthz') return send(200, { status: 'ok' });
    if (path === '/readyz') {
      const r = options.readiness();
      return send(r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'not_ready', checks: r.checks });
    }
    if (options.token !== undefined && options.token !== '' && !hasBearerToken(req, options.token)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="sje-ops"');
      return send(401, { error: { code: ErrorCode.UNAUTHORIZED, message: 'this endpoint needs Authorization: Bearer <ops token>' } });
    }
    if (path === '/metrics') {
      options.registry
        .metrics()
        .then((text) => send(200, text, options.registry.contentType))
        .catch((err: unknown) => send(500, { error: { code: 'SJE_ERR_INTERNAL', message: String(err) } }));
      return;
    }
    const notFound = (): void => send(404, { error: { code: 'SJE_ERR_NOT_FOUND', message: `no route ${path}` } });
    if (!options.routes) return notFound();
    options
      .routes(path ?? '/')
      .then((answer) => (answer ? send(answer.status, answer.body, 'application/json', answer.headers) : notFound()))
      .catch((err: unknown) => send(500, { error: { code: 'SJE_ERR_INTERNAL', message: err instanceof Error ? err.message : String(err) } }));
  });
  keepIdleConnections(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
