/**
 * The HTTP(S) server of the REST API: plain HTTP, or HTTPS when
 * `executor.tls.cert_file` and `executor.tls.key_file` are set (their files
 * are read at start-up).
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, IncomingMessage, ServerResponse, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { ConfigError, keepIdleConnections, type SjeConfig } from '@sje/core';

/** Certificate and key of the REST API. */
export interface ApiTlsMaterial {
  cert: Buffer;
  key: Buffer;
}

/** The server of the REST API (HTTP or HTTPS). */
export type ApiServer = HttpServer | HttpsServer;

function readPem(key: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError(`${key}: cannot read ${file} (${reason})`, { key, file });
  }
}

/**
 * Reads `executor.tls`: undefined when neither file is set (plain HTTP).
 * @throws ConfigError naming the key when only one is set or a file cannot be read.
 */
export function readApiTls(tls: SjeConfig['executor']['tls']): ApiTlsMaterial | undefined {
  if (tls.cert_file === '' && tls.key_file === '') return undefined;
  if (tls.cert_file === '' || tls.key_file === '') {
    const missing = tls.cert_file === '' ? 'cert_file' : 'key_file';
    throw new ConfigError(`executor.tls.${missing} is needed too: HTTPS needs both cert_file and key_file`, {
      key: `executor.tls.${missing}`,
    });
  }
  return { cert: readPem('executor.tls.cert_file', tls.cert_file), key: readPem('executor.tls.key_file', tls.key_file) };
}

/** The prototypes an express app gives every request and response it handles (`app.request`, `app.response`). */
export interface AppPrototypes {
  request: object;
  response: object;
}

/** A server's classes of requests and responses (`http.createServer` options). */
export interface MessageClasses {
  IncomingMessage: typeof IncomingMessage;
  ServerResponse: typeof ServerResponse;
}

/** A constructor of Node's that runs as a plain function on an object made elsewhere (Node's own message classes are such functions). */
type ConstructorFunction = (this: unknown, ...args: unknown[]) => void;

/** Whether `ctor` can be called on an object made elsewhere: a plain function, not an ES class. */
function callable(ctor: unknown): ctor is ConstructorFunction {
  return typeof ctor === 'function' && !Function.prototype.toString.call(ctor).startsWith('class');
}

/**
 * Node's request and response classes, made to build their objects with the
 * app's prototypes. Express sets the prototype of every request and response
 * it handles; done to fresh objects of Node's own classes, that change left
 * about 3.8 MB alive at each of the executor's young-generation collections
 * and made them take ~5 ms instead of ~0.5 ms (4,000 `/healthz` requests; see
 * docs/performance.md, *Requests born with express's prototypes*). An
 * object born with its prototype makes express's change a no-op. Each
 * object is made by `new` and initialised by Node's constructor called on
 * it (`Reflect.construct` with another `new.target` left several times as
 * much alive). `undefined` when Node's classes cannot be called so
 * (ES classes): the server then keeps Node's own. `base` is for tests.
 */
export function messageClassesFor(prototypes: AppPrototypes, base: MessageClasses = { IncomingMessage, ServerResponse }): MessageClasses | undefined {
  const request: unknown = base.IncomingMessage;
  const response: unknown = base.ServerResponse;
  if (!callable(request) || !callable(response)) return undefined;
  const initRequest: ConstructorFunction = request;
  const initResponse: ConstructorFunction = response;
  function AppRequest(this: unknown, ...args: unknown[]): void {
    initRequest.call(this, ...args);
  }
  AppRequest.prototype = prototypes.request;
  function AppResponse(this: unknown, ...args: unknown[]): void {
    initResponse.call(this, ...args);
  }
  AppResponse.prototype = prototypes.response;
  return { IncomingMessage: AppRequest as unknown as typeof IncomingMessage, ServerResponse: AppResponse as unknown as typeof ServerResponse };
}

/**
 * An HTTPS server when `tls` is given, else an HTTP one, keeping idle
 * keep-alive connections for `keepAliveTimeoutMs` (`executor.keep_alive_timeout_ms`).
 * With `prototypes`, its requests and responses are born with them (see {@link messageClassesFor}).
 */
export function createApiServer(
  tls: ApiTlsMaterial | undefined,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  keepAliveTimeoutMs: number,
  prototypes?: AppPrototypes,
): ApiServer {
  const classes = (prototypes === undefined ? undefined : messageClassesFor(prototypes)) ?? {};
  const server = tls === undefined ? createHttpServer(classes, handler) : createHttpsServer({ ...classes, cert: tls.cert, key: tls.key }, handler);
  keepIdleConnections(server, keepAliveTimeoutMs);
  return server;
}
