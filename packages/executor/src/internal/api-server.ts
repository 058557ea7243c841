/**
 * The HTTP(S) server of the REST API: plain HTTP, or HTTPS when
 * `executor.tls.cert_file` and `executor.tls.key_file` are set (their files
 * are read at start-up).
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
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

/**
 * An HTTPS server when `tls` is given, else an HTTP one, keeping idle
 * keep-alive connections for `keepAliveTimeoutMs` (`executor.keep_alive_timeout_ms`).
 */
export function createApiServer(
  tls: ApiTlsMaterial | undefined,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  keepAliveTimeoutMs: number,
): ApiServer {
  const server = tls === undefined ? createHttpServer(handler) : createHttpsServer({ cert: tls.cert, key: tls.key }, handler);
  keepIdleConnections(server, keepAliveTimeoutMs);
  return server;
}
