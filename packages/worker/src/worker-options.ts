/**
 * Options of `createWorker`.
 * @module
 */
import type { Logger, ModuleImporter, SjeConfig, SjePlugin } from '@sje/core';
import type { TaskHandler } from './task-handler.js';

/**
 * How to build a worker. Only `handlers` is required; everything else comes
 * from the configuration.
 * @example
 * ```ts
 * const options: WorkerOptions = { handlers: { echo: (p) => p }, concurrency: 8, queues: ['default'] };
 * ```
 */
export interface WorkerOptions {
  /** Handlers by task function name. */
  handlers: Record<string, TaskHandler>;
  /** The loaded configuration. @defaultValue `loadConfig()` (zero config) */
  config?: SjeConfig;
  /** Handlers run at once (a hard cap). @defaultValue `config.worker.concurrency` */
  concurrency?: number;
  /** Worker pools (task queues) to take tasks from. @defaultValue `config.worker.queues` */
  queues?: string[];
  /** This worker's id. @defaultValue `config.worker.id`, else `<hostname>-<pid>-<random4>` */
  workerId?: string;
  /** Use this logger instead of one built from the configuration. */
  logger?: Logger;
  /** Plugin objects registered before the configured ones; handlers they contribute are registered too. */
  plugins?: { plugin: SjePlugin; options?: Record<string, unknown> }[];
  /** Imports the plugins listed in the configuration (from the caller's module context). */
  importer?: ModuleImporter;
  /** Port of the ops endpoint (`0`: any free port); `false`: no ops endpoint. @defaultValue `config.worker.ops_port` */
  opsPort?: number | false;
}
