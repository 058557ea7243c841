/**
 * `@sje/plugin-exec`: run external programs as tasks, the way batch
 * schedulers run simulation codes, with nothing a caller can use to escape.
 * Only allow-listed commands run (absolute program paths with fixed leading
 * arguments, from the YAML); arguments are passed verbatim, never through a
 * shell; each run gets its own working directory under `work_root` and its
 * `cwd` cannot leave it; the environment is built from an allow-list; output
 * is capped; a cancel, timeout or exit stops the whole process group.
 *
 * @example
 * ```yaml
 * plugins:
 *   - name: exec
 *     options:
 *       work_root: ./data/exec
 *       commands:
 *         simulate: { program: /usr/bin/python3, args: ['-u', '/opt/sim/run.py'], timeout_ms: 3600000 }
 * ```
 * ```ts
 * import { createExecPlugin } from '@sje/plugin-exec';
 * import { createLogger, createRuntime, loadConfig } from '@sje/core';
 *
 * const rt = await createRuntime('worker', loadConfig({ env: {} }), {
 *   logger: createLogger({ service: 'worker' }),
 *   plugins: [{ plugin: createExecPlugin(), options: { commands: { echo: { program: '/bin/echo' } } } }],
 * });
 * const exec = rt.plugins.contributedHandlers()['exec'];
 * // a task { function: 'exec', params: { command: 'echo', args: ['hello; rm -rf /'] } }
 * // resolves to { exit_code: 0, stdout: 'hello; rm -rf /\n', stderr: '', truncated: {...}, duration_ms }
 * ```
 * @module
 */
import { createExecPlugin } from './exec-plugin.js';

export { ExecErrorCode } from './exec-errors.js';
export { abortError, createExecHandler } from './exec-handler.js';
export type { ExecHandlerDeps, ExecResult } from './exec-handler.js';
export { COMMAND_NAME_PATTERN, DEFAULT_EXEC_OPTIONS, ENV_NAME_PATTERN, MAX_OUTPUT_BYTES_LIMIT, parseExecOptions } from './exec-options.js';
export type { ExecCommand, ExecOptions } from './exec-options.js';
export { MAX_ARG_LENGTH, MAX_ARGS, MAX_CWD_LENGTH, MAX_ENV_VALUE_LENGTH, parseExecParams } from './exec-params.js';
export type { ExecParams } from './exec-params.js';
export { createExecPlugin } from './exec-plugin.js';
export type { CreateExecPluginOptions } from './exec-plugin.js';

/** The `exec` plugin, as loaded by name from the configuration. */
const execPlugin = createExecPlugin();
export default execPlugin;
