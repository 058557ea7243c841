/**
 * Loading task handlers from modules named in the configuration.
 * @module
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, SjeError, type ModuleImporter } from '@sje/core';
import { validateHandlers } from './internal/handler-validation.js';
import type { TaskHandler } from './task-handler.js';

function handlerError(message: string, data: Record<string, unknown>): SjeError {
  return new SjeError(ErrorCode.HANDLER_INVALID, message, { data });
}

/** The handler record a module offers: its `handlers` export, else its default export object, else its exported functions. */
function handlersOf(mod: Record<string, unknown>): unknown {
  if (mod['handlers'] !== undefined) return mod['handlers'];
  const def = mod['default'];
  if (typeof def === 'object' && def !== null) return def;
  return Object.fromEntries(Object.entries(mod).filter(([name, value]) => name !== 'default' && typeof value === 'function'));
}

/**
 * Imports each module and collects its handlers. A module offers a `handlers`
 * record, or a default export object, or else its exported functions, each
 * under its own name. A path (starting with `.` or `/`) is taken relative to
 * the working directory; anything else is a package name resolved by
 * `importer`. A name offered twice is an error.
 * @throws SjeError `SJE_ERR_HANDLER_INVALID` naming the module or handler.
 * @example
 * ```ts
 * const handlers = await loadHandlerModules(['@sje/examples', './my-handlers.ts'], (s) => import(s));
 * ```
 */
export async function loadHandlerModules(specs: string[], importer: ModuleImporter): Promise<Record<string, TaskHandler>> {
  const out: Record<string, TaskHandler> = {};
  const origin = new Map<string, string>();
  for (const spec of specs) {
    const target = spec.startsWith('.') || isAbsolute(spec) ? pathToFileURL(resolve(spec)).href : spec;
    let mod: Record<string, unknown>;
    try {
      mod = await importer(target);
    } catch (err) {
      throw handlerError(`cannot load handler module '${spec}': ${err instanceof Error ? err.message : String(err)}`, { module: spec });
    }
    const handlers = validateHandlers(handlersOf(mod), `handler module '${spec}'`);
    if (handlers.size === 0) throw handlerError(`handler module '${spec}' exports no handlers`, { module: spec });
    for (const [name, fn] of handlers) {
      const first = origin.get(name);
      if (first !== undefined) {
        throw handlerError(`handler '${name}' is exported by both '${first}' and '${spec}'`, { function: name, modules: [first, spec] });
      }
      origin.set(name, spec);
      out[name] = fn;
    }
  }
  return out;
}
