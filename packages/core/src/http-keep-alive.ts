/**
 * How long SJE's HTTP servers keep an idle keep-alive connection, and how long
 * its HTTP clients keep one. A client that sends a request on a connection at
 * the moment the server closes it for idleness gets a reset (ECONNRESET) and
 * cannot tell whether the request arrived; the usual cure is a server that
 * waits longer than the clients and load balancers in front of it (60 s for
 * many), and clients that close their idle connections before any server does.
 */
import type { Server } from 'node:http';

/** Idle keep-alive connections stay open this long on SJE's servers (Node's default is 5 s). */
export const SERVER_KEEP_ALIVE_TIMEOUT_MS = 65_000;

/** SJE's HTTP clients close a connection idle this long: before Node's default 5 s of a server that was not told otherwise. */
export const CLIENT_IDLE_SOCKET_MS = 4_000;

/**
 * Sets how long `server` keeps idle keep-alive connections. The time a
 * request may take to send its headers (`headersTimeout`, 60 s) is left as
 * Node sets it: it runs from a request's first byte, not during the idle wait.
 */
export function keepIdleConnections(server: Pick<Server, 'keepAliveTimeout'>, ms: number = SERVER_KEEP_ALIVE_TIMEOUT_MS): void {
  server.keepAliveTimeout = ms;
}
