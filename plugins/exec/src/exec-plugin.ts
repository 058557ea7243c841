/**
 * The `exec` plugin object: validates its options in every service and, in a
 * worker, contributes the `exec` task handler.
 * @module
 */
import { constants } from 'node:fs';
import { access, mkdir, realpath } from 'node:fs/promises';
import { ErrorCode, SjeError, type PluginTaskHandler, type SjePlugin } from '@sje/core';
import { createExecHandler, type ExecHandlerDeps } from './exec-handler.js';
import { parseExecOptions, type ExecOptions } from './exec-options.js';

/** Options of {@link createExecPlugin}. */
export interface CreateExecPluginOptions extends ExecHandlerDeps {
  /** Directory a relative `work_root` is resolved against. @defaultValue process.cwd() */
  baseDir?: string;
}

async function realWorkRoot(options: ExecOptions): Promise<string> {
  try {
    await mkdir(options.work_root, { recursive: true });
    return await realpath(options.work_root);
  } catch (err) {
    throw new SjeError(
      ErrorCode.PLUGIN_INVALID,
      `plugin 'exec': option 'work_root' (${options.work_root}) cannot be created: ${(err as Error).message}`,
      {
        cause: err,
        data: { plugin: 'exec', option: 'work_root' },
      },
    );
  }
}

/**
 * Builds a fresh `exec` plugin. Its `setup` validates the options (a bad one
 * throws `SJE_ERR_PLUGIN_INVALID` naming it) and, only in a worker, creates
 * `work_root` and puts the handler into `handlers` under `handler_name`.
 * @example
 * ```ts
 * const plugin = createExecPlugin();
 * await host.register(plugin, { commands: { echo: { program: '/bin/echo' } } });
 * host.contributedHandlers(); // { exec: [Function] } in a worker
 * ```
 */
export function createExecPlugin(options: CreateExecPluginOptions = {}): SjePlugin {
  const handlers: Record<string, PluginTaskHandler> = {};
  return {
    name: 'exec',
    handlers,
    async setup(ctx) {
      const settings = parseExecOptions(ctx.options, options.baseDir);
      for (const key of Object.keys(handlers)) Reflect.deleteProperty(handlers, key);
      if (ctx.service !== 'worker') return;
      const workRoot = await realWorkRoot(settings);
      for (const [name, command] of settings.commands) {
        try {
          await access(command.program, constants.X_OK);
        } catch {
          ctx.logger.warn('exec command program is not executable on this worker; its tasks will fail here', {
            command: name,
            program: command.program,
          });
        }
      }
      const deps: ExecHandlerDeps = {};
      if (options.workerEnv) deps.workerEnv = options.workerEnv;
      if (options.onSpawn) deps.onSpawn = options.onSpawn;
      handlers[settings.handler_name] = createExecHandler({ ...settings, work_root: workRoot }, deps);
      ctx.logger.info('exec handler ready', {
        handler: settings.handler_name,
        commands: [...settings.commands.keys()],
        work_root: workRoot,
      });
    },
  };
}
