/**
 * `@sje/plugin-logging`: one structured line per task lifecycle step, through
 * the service's winston logger — submits (executor), state transitions and
 * worker arrivals/departures (task-manager), handler runs with `run_ms`
 * (worker). Failures are logged at `warn`. Params and results stay out of the
 * logs unless asked for.
 *
 * @example
 * ```yaml
 * plugins:
 *   - name: logging
 *     options: { level: info, include_params: false, include_results: false }
 * ```
 * ```ts
 * import logging from '@sje/plugin-logging';
 * await host.register(logging, { level: 'debug' });
 * ```
 * @module
 */
import { createLoggingPlugin } from './logging-plugin.js';

export { createLoggingPlugin } from './logging-plugin.js';
export { DEFAULT_LOGGING_OPTIONS, LOG_LEVELS, moreSevere, parseLoggingOptions } from './logging-options.js';
export type { LoggingOptions, LogLevel } from './logging-options.js';

/** The `logging` plugin, as loaded by name from the configuration. */
const loggingPlugin = createLoggingPlugin();
export default loggingPlugin;
