/**
 * `@sje/cli`: the `sje` command — starts SJE services as supervised child
 * processes, prints the effective configuration, and talks to the executor's
 * REST API. Its parts are usable from code too.
 *
 * @example
 * ```ts
 * import { runCli, defaultDeps, renderConfigurationDoc } from '@sje/cli';
 * process.exitCode = await runCli(['node', 'sje', 'status', 'task-42'], defaultDeps());
 * const markdown = renderConfigurationDoc();
 * ```
 * @module
 */
export { renderConfigTable, renderConfigurationDoc } from './config-docs.js';
export { DEFAULT_URL, defaultDeps, runCli } from './program.js';
export type { CliDeps, ClientTarget, TaskClient } from './program.js';
export { COMPILED_CONDITION, RUNS_COMPILED, SERVICES, serviceCommand, serviceEntry, tsxLoader } from './service-entry.js';
export type { ServiceCommand, ServiceId } from './service-entry.js';
export { supervise } from './supervisor.js';
export type { ChildExit, ChildSpec, SignalSource, Supervisor, SupervisorOptions } from './supervisor.js';
