/**
 * Entry point of the task-manager process: reads `--config FILE` and the
 * environment, installs signal handlers, starts.
 */
import { parseArgs } from 'node:util';
import { configFileOptions, exitOnSignals, loadConfig } from '@sje/core';
import { createTaskManager } from './task-manager.js';

const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } }, allowPositionals: false });
const config = loadConfig(configFileOptions(values.config));
const tm = await createTaskManager({ config, importer: (spec) => import(spec) as Promise<Record<string, unknown>> });

exitOnSignals(tm.runtime.logger, () => tm.close());

try {
  await tm.start();
} catch (err) {
  tm.runtime.logger.error('task-manager failed to start', { err: err instanceof Error ? err.message : String(err) });
  process.exit(1);
}
