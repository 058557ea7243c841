/**
 * The worker process: `tsx packages/worker/src/main.ts [--config FILE]`.
 * Reads the configuration (file, then `SJE_*` variables), loads the handler
 * modules and plugins it names, starts the worker and shuts it down on
 * SIGTERM/SIGINT (a second signal exits at once).
 * @module
 */
import { parseArgs } from 'node:util';
import { configFileOptions, createLogger, exitOnSignals, loadConfig, type ModuleImporter } from '@sje/core';
import { loadHandlerModules } from './handler-modules.js';
import { createWorker } from './worker.js';

const USAGE = `usage: sje-worker [--config FILE]

  -c, --config FILE   YAML configuration loaded over the defaults (then SJE_* variables apply)
  -h, --help          show this help
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const config = loadConfig(configFileOptions(values.config));
  const logger = createLogger({ service: 'worker', level: config.log.level, format: config.log.format });
  const importer: ModuleImporter = (specifier) => import(specifier) as Promise<Record<string, unknown>>;
  const handlers = await loadHandlerModules(config.worker.handlers, importer);
  const worker = await createWorker({ handlers, config, logger, importer });

  exitOnSignals(logger, () => worker.close());

  await worker.start();
  logger.info('worker ready', { worker_id: worker.id, ops_port: worker.opsPort ?? null, pid: process.pid });
}

main().catch((err: unknown) => {
  process.stderr.write(`sje-worker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
