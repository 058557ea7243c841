/**
 * Signal handling for service entry points: the first SIGTERM or SIGINT
 * closes the service gracefully and exits 0 (1 if closing failed); a second
 * signal exits at once with 1.
 * @module
 */
import type { Logger } from './logger.js';

/**
 * Installs the SIGTERM/SIGINT handlers of a service process. Only entry
 * points (`main.ts`) call it.
 * @example
 * ```ts
 * exitOnSignals(worker.runtime.logger, () => worker.close());
 * await worker.start();
 * ```
 */
export function exitOnSignals(logger: Logger, close: () => Promise<void>, details: Record<string, unknown> = {}): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn('second signal: exiting now', { signal });
      process.exit(1);
    }
    stopping = true;
    logger.info('shutting down', { signal, ...details });
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('shutdown failed', { err: err instanceof Error ? err.message : String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
