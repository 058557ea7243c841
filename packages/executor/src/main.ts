/**
 * The executor process: `tsx packages/executor/src/main.ts [--config FILE]`.
 * Reads the configuration (file, then `SJE_*` environment variables), starts
 * the service, and on SIGTERM/SIGINT finishes in-flight requests and exits 0.
 * @module
 */
import { parseArgs } from 'node:util';
import { configFileOptions, exitOnSignals, loadConfig, SjeError } from '@sje/core';
import { createExecutor } from './executor.js';

const USAGE = `usage: sje-executor [--config FILE]

  -c, --config FILE   YAML configuration over the defaults (SJE_* environment variables apply last)
  -h, --help          show this help`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const config = loadConfig(configFileOptions(values.config, { env: process.env }));
  const executor = await createExecutor({ config, importer: (specifier) => import(specifier) as Promise<Record<string, unknown>> });
  const graceMs = config.executor.shutdown_grace_ms;
  exitOnSignals(executor.runtime.logger, () => executor.close({ graceMs }), { grace_ms: graceMs });
  await executor.start();
}

main().catch((err: unknown) => {
  const message = err instanceof SjeError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
  process.stderr.write(`sje-executor: ${message}\n`);
  process.exit(1);
});
