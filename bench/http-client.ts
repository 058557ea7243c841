/**
 * The benchmarks' HTTP client: node:http with keep-alive connections.
 * `fetch` costs the benchmark's own process about 1 ms of CPU per request on
 * the project's 2-core machine — CPU the services under test would otherwise have.
 */
import { Agent, request } from 'node:http';
import { CLIENT_IDLE_SOCKET_MS } from '../packages/core/src/index.js';

/** A finished request. */
export interface HttpAnswer {
  status: number;
  text: string;
}

/** Keep-alive HTTP requests through one agent. */
export class HttpClient {
  /**
   * Idle sockets are closed after `CLIENT_IDLE_SOCKET_MS` (4 s), before any server closes them (Node's
   * default keep-alive timeout is 5 s; SJE's servers keep 65 s): a request
   * sent on a socket the server is closing that moment fails with
   * ECONNRESET, and the phases are separated by pauses of a few seconds.
   */
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256, timeout: CLIENT_IDLE_SOCKET_MS });

  /** Sends a request (JSON body when given) and reads the whole answer. */
  send(method: 'GET' | 'POST', url: string, body?: unknown): Promise<HttpAnswer> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {};
    return new Promise((resolve, reject) => {
      const req = request(url, { method, agent: this.agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }
}
