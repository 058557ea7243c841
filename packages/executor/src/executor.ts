/**
 * The executor service: the REST API on an HTTP server, its runtime (broker,
 * plugins, metrics), start-up without waiting for the broker, and a graceful,
 * idempotent shutdown.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRuntime, loadConfig, type Logger, type ModuleImporter, type ServiceRuntime, type SjeConfig, type SjePlugin } from '@sje/core';
import type express from 'express';
import { createApp } from './app.js';
import { createApiServer, readApiTls, type ApiServer } from './internal/api-server.js';

/** Options of {@link createExecutor}. */
export interface ExecutorOptions {
  /** The configuration. @defaultValue the schema defaults (environment variables are read only by `main.ts`) */
  config?: SjeConfig;
  /** Use this logger instead of one built from the configuration. */
  logger?: Logger;
  /** Plugin objects registered before the configured ones. */
  plugins?: { plugin: SjePlugin; options?: Record<string, unknown> }[];
  /** Imports the plugins named in `config.plugins`. @defaultValue dynamic `import()` from this package */
  importer?: ModuleImporter;
  /** Port to listen on; `0` picks a free one. @defaultValue config.executor.port */
  port?: number;
  /** Environment the API keys named by `key_env` are read from. @defaultValue process.env */
  env?: NodeJS.ProcessEnv;
}

/** Options of {@link Executor.close}. */
export interface CloseOptions {
  /** How long in-flight requests may take to finish. @defaultValue config.executor.shutdown_grace_ms */
  graceMs?: number;
}

/** A built executor. */
export interface Executor {
  /** Starts connecting to the broker in the background and listens for HTTP. */
  start(): Promise<void>;
  /** The port listened on (the configured one before {@link Executor.start}). */
  readonly port: number;
  /** The express application. */
  readonly app: express.Express;
  /** The service runtime: configuration, logger, broker, metrics, plugins. */
  readonly runtime: ServiceRuntime;
  /**
   * Stops accepting connections, lets in-flight requests finish up to the
   * grace time, then closes its connections to the task-managers' ops
   * endpoints, the broker and the plugins. Idempotent.
   */
  close(options?: CloseOptions): Promise<void>;
}

/** Counts requests in flight and tells when there are none. */
class InFlight {
  private count = 0;
  private waiters: (() => void)[] = [];

  enter(): void {
    this.count += 1;
  }

  leave(): void {
    this.count -= 1;
    if (this.count === 0) for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves `true` once nothing is in flight, or `false` after `ms`. */
  async drained(ms: number): Promise<boolean> {
    if (this.count === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    return await new Promise<boolean>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.waiters.push(done);
      timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve(false);
      }, ms);
    });
  }
}

/**
 * Builds the executor: runtime, plugins and express app. Nothing connects or
 * listens until {@link Executor.start}.
 * @example
 * ```ts
 * const executor = await createExecutor({ config: loadConfig(), port: 0 });
 * await executor.start();
 * console.log(`listening on ${executor.port}`);
 * await executor.close();
 * ```
 */
export async function createExecutor(options: ExecutorOptions = {}): Promise<Executor> {
  const config = options.config ?? loadConfig({ env: {} });
  const runtimeOptions: Parameters<typeof createRuntime>[2] = {
    importer: options.importer ?? ((specifier: string) => import(specifier) as Promise<Record<string, unknown>>),
  };
  if (options.logger) runtimeOptions.logger = options.logger;
  if (options.plugins) runtimeOptions.plugins = options.plugins;
  const runtime = await createRuntime('executor', config, runtimeOptions);
  const { logger, broker, plugins } = runtime;

  let shuttingDown = false;
  const tls = readApiTls(config.executor.tls);
  const releases: (() => void)[] = [];
  const app = createApp({
    config,
    logger,
    broker,
    plugins,
    metrics: runtime.metrics,
    isShuttingDown: () => shuttingDown,
    env: options.env ?? process.env,
    onClose: (release) => releases.push(release),
  });
  const inFlight = new InFlight();
  let server: ApiServer | undefined;
  let port = options.port ?? config.executor.port;
  let closing: Promise<void> | undefined;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    inFlight.enter();
    res.once('close', () => inFlight.leave());
    if (shuttingDown) res.setHeader('Connection', 'close');
    app(req, res);
  };

  return {
    app,
    runtime,
    get port(): number {
      return port;
    },
    async start(): Promise<void> {
      if (server) return;
      if (closing) throw new Error('the executor was closed');
      await broker.start(0);
      const s = createApiServer(tls, handle, config.executor.keep_alive_timeout_ms, { request: app.request, response: app.response });
      server = s;
      try {
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject);
          s.listen(port, config.executor.host, () => {
            s.off('error', reject);
            resolve();
          });
        });
      } catch (err) {
        server = undefined;
        throw err;
      }
      port = (s.address() as AddressInfo).port;
      logger.info('executor listening', { host: config.executor.host, port, protocol: tls === undefined ? 'http' : 'https' });
      await plugins.run('onReady', { service: 'executor' });
    },
    close(closeOptions: CloseOptions = {}): Promise<void> {
      closing ??= (async () => {
        shuttingDown = true;
        const graceMs = closeOptions.graceMs ?? config.executor.shutdown_grace_ms;
        const s = server;
        if (s) {
          const closed = new Promise<void>((resolve) => s.close(() => resolve()));
          s.closeIdleConnections();
          const drained = await inFlight.drained(graceMs);
          if (!drained) logger.warn('shutdown grace time over; closing connections with requests in flight', { grace_ms: graceMs });
          s.closeAllConnections();
          await closed;
        }
        for (const release of releases.splice(0)) release();
        await broker.close();
        await plugins.close();
        logger.info('executor stopped');
      })();
      return closing;
    },
  };
}
