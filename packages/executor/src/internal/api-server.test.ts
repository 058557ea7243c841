import { Agent, IncomingMessage, request, ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createApiServer, messageClassesFor } from './api-server.js';

interface Answer {
  status: number;
  body: unknown;
  socketReused: boolean;
}

/** One request on a keep-alive agent's connection; resolves with the parsed JSON answer. */
function send(port: number, method: string, path: string, agent: Agent, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent, headers: { 'x-caller': 'test' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown, socketReused: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** An express app with a route that reads params, headers and a streamed body, and one that fails into the error handler. */
function testApp(): express.Express {
  const app = express();
  app.post('/items/:id', (req: Request, res: Response) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (text += c));
    req.on('end', () => res.status(201).json({ id: req.params['id'], caller: req.get('x-caller'), body: text, path: req.path }));
  });
  app.get('/fails', (_req: Request, _res: Response, next: NextFunction) => next(new Error('broken')));
  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(418).json({ error: err.message });
  });
  return app;
}

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = undefined;
});

/** Serves `app` through createApiServer, noting the prototypes each request and response had before express saw them. */
async function serve(app: express.Express, withPrototypes: boolean): Promise<{ port: number; seen: { req: object | null; res: object | null }[] }> {
  const seen: { req: object | null; res: object | null }[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    seen.push({ req: Object.getPrototypeOf(req) as object | null, res: Object.getPrototypeOf(res) as object | null });
    app(req, res);
  };
  server = createApiServer(undefined, handler, 5000, withPrototypes ? { request: app.request, response: app.response } : undefined);
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, seen };
}

describe('createApiServer', () => {
  it('hands express requests and responses born with its prototypes, which it serves as usual over a kept-alive connection', async () => {
    const app = testApp();
    const { port, seen } = await serve(app, true);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const created = await send(port, 'POST', '/items/42', agent, 'hello');
      expect(created).toMatchObject({ status: 201, body: { id: '42', caller: 'test', body: 'hello', path: '/items/42' } });
      const failed = await send(port, 'GET', '/fails', agent);
      expect(failed).toEqual({ status: 418, body: { error: 'broken' }, socketReused: true });
    } finally {
      agent.destroy();
    }
    expect(seen).toHaveLength(2);
    for (const s of seen) {
      expect(s.req).toBe(app.request);
      expect(s.res).toBe(app.response);
    }
    // Still Node's messages underneath.
    expect(app.request).toBeInstanceOf(IncomingMessage);
    expect(app.response).toBeInstanceOf(ServerResponse);
  });

  it("without prototypes keeps Node's own classes", async () => {
    const app = testApp();
    const { port, seen } = await serve(app, false);
    const agent = new Agent({ keepAlive: false });
    try {
      expect((await send(port, 'POST', '/items/7', agent, '')).status).toBe(201);
    } finally {
      agent.destroy();
    }
    expect(seen[0]).toEqual({ req: IncomingMessage.prototype, res: ServerResponse.prototype });
  });
});

describe('messageClassesFor', () => {
  it('gives up, leaving the server Node\'s classes, when those are ES classes that cannot be called on an object', () => {
    class Request {}
    class Reply {}
    const base = { IncomingMessage: Request, ServerResponse: Reply } as unknown as Parameters<typeof messageClassesFor>[1];
    expect(messageClassesFor({ request: {}, response: {} }, base)).toBeUndefined();
  });

  it('builds objects with the given prototypes, initialised by the constructors given', () => {
    function Base(this: { made?: unknown[] }, ...args: unknown[]): void {
      this.made = args;
    }
    const request = { kind: 'request' };
    const response = { kind: 'response' };
    const base = { IncomingMessage: Base, ServerResponse: Base } as unknown as Parameters<typeof messageClassesFor>[1];
    const classes = messageClassesFor({ request, response }, base)!;
    const req = new classes.IncomingMessage('socket' as never) as unknown as { made: unknown[] };
    const Response = classes.ServerResponse as unknown as new (...args: unknown[]) => { made: unknown[] };
    const res = new Response('req', { x: 1 });
    expect(Object.getPrototypeOf(req)).toBe(request);
    expect(req.made).toEqual(['socket']);
    expect(Object.getPrototypeOf(res)).toBe(response);
    expect(res.made).toEqual(['req', { x: 1 }]);
  });
});
