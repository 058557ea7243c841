/**
 * The `logging` plugin object: task lifecycle lines in whichever service raises them.
 * @module
 */
import type { Logger, SjePlugin } from '@sje/core';
import {
  executeEndLine,
  executeStartLine,
  stateChangeLine,
  submitLines,
  workerOfflineLine,
  workerOnlineLine,
  type Line,
} from './internal/lines.js';
import { DEFAULT_LOGGING_OPTIONS, parseLoggingOptions, type LoggingOptions } from './logging-options.js';

/**
 * Builds a fresh `logging` plugin. It writes through the service's logger
 * (tagged `plugin: logging`): submits in the executor, state changes and
 * worker arrivals/departures in the task-manager, runs in the worker.
 * @example
 * ```ts
 * await host.register(createLoggingPlugin(), { level: 'info', include_params: false });
 * ```
 */
export function createLoggingPlugin(): SjePlugin {
  let options: LoggingOptions = { ...DEFAULT_LOGGING_OPTIONS };
  let logger: Logger | undefined;
  const write = (line: Line): void => {
    logger?.log(line.level, line.message, line.fields);
  };
  return {
    name: 'logging',
    setup(ctx) {
      options = parseLoggingOptions(ctx.options);
      logger = ctx.logger;
    },
    hooks: {
      afterSubmit: (payload) => {
        for (const line of submitLines(payload, options)) write(line);
      },
      onTaskStateChange: ({ event }) => write(stateChangeLine(event, options)),
      onWorkerOnline: (payload) => write(workerOnlineLine(payload, options)),
      onWorkerOffline: (payload) => write(workerOfflineLine(payload, options)),
      beforeExecute: (payload) => write(executeStartLine(payload, options)),
      afterExecute: (payload) => write(executeEndLine(payload, options)),
    },
  };
}
