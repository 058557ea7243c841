/**
 * Entry point of the task-manager process: reads `--config FILE` and the
 * environment, installs signal handlers, starts.
 */
import { parseArgs } from 'node:util';
import { configFileOptions, loadConfig } from '@sje/core';
import { createTaskManager } from './task-manager.js';

const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } }, allowPositionals: false });
const config = loadConfig(configFileOptions(values.config));
const tm = await createTaskManager({ config, importer: (spec) => import(spec) as Promise<Record<string, unknown>> });

let stopping = false;
const stop = (signal: string): void => {
  if (stopping) process.exit(1);
  stopping = true;
  tm.runtime.logger.info('stopping', { signal });
  tm.close().then(
    () => process.exit(0),
    (err: unknown) => {
      tm.runtime.logger.error('shutdown failed', { err: String(err) });
      process.exit(1);
    },
  );
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

try {
  await tm.start();
} catch (err) {
  tm.runtime.logger.error('task-manager failed to start', { err: err instanceof Error ? err.message : String(err) });
  process.exit(1);
}
