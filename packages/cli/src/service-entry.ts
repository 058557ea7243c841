/**
 * Where each service's entry point lives, and the command that runs it.
 * One source of truth: a service runs the way this module runs — from its
 * own `src/main.ts` through tsx, or, when this is the build (`pnpm build`,
 * started with `node --conditions=sje-compiled`), from its own
 * `dist/main.js` with plain Node — whether started alone or by `sje start all`.
 * @module
 */
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The condition under which the workspace's packages export their build. */
export const COMPILED_CONDITION = 'sje-compiled';

/** Whether this process runs the build (`dist/*.js`) rather than the TypeScript sources. */
export const RUNS_COMPILED = fileURLToPath(import.meta.url).endsWith('.js');

/** The services `sje start` knows, in start order for `all`. */
export const SERVICES = ['task-manager', 'worker', 'executor'] as const;

/** A service name. */
export type ServiceId = (typeof SERVICES)[number];

const PACKAGES: Readonly<Record<ServiceId, string>> = {
  executor: '@sje/executor',
  'task-manager': '@sje/task-manager',
  worker: '@sje/worker',
};

/** Resolves a package specifier from this package, as a file path. */
function resolveFrom(specifier: string): string {
  const viaImportMeta = (import.meta as { resolve?: (s: string) => string }).resolve;
  if (typeof viaImportMeta === 'function') return fileURLToPath(viaImportMeta(specifier));
  return createRequire(import.meta.url).resolve(specifier);
}

/**
 * The absolute path of a service's `src/main.ts` (or, in the build,
 * `dist/main.js`), in the package directory of the file its package exports
 * (`src/index.ts`, or `dist/index.js` under the `sje-compiled` condition),
 * as pnpm laid the workspace out.
 * @param compiled - the build's entry instead of the source's. @defaultValue whether this process runs the build
 * @example
 * ```ts
 * serviceEntry('executor'); // '/srv/sje/packages/executor/src/main.ts'
 * serviceEntry('executor', true); // '/srv/sje/packages/executor/dist/main.js'
 * ```
 */
export function serviceEntry(service: ServiceId, compiled: boolean = RUNS_COMPILED): string {
  const packageDir = dirname(dirname(resolveFrom(PACKAGES[service])));
  return compiled ? join(packageDir, 'dist', 'main.js') : join(packageDir, 'src', 'main.ts');
}

/** The absolute file URL of tsx's ESM loader, so `--import` works from any working directory. */
export function tsxLoader(): string {
  const viaImportMeta = (import.meta as { resolve?: (s: string) => string }).resolve;
  if (typeof viaImportMeta === 'function') return viaImportMeta('tsx');
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('tsx/package.json');
  return new URL('dist/loader.mjs', `file://${dirname(pkg)}/`).href;
}

/** A process to start. */
export interface ServiceCommand {
  /** Label in supervisor messages. */
  name: string;
  /** Executable (the running Node). */
  command: string;
  args: string[];
}

/**
 * The command that runs one service: `node --import tsx <main.ts> [--config FILE]`,
 * or in the build `node --conditions=sje-compiled <main.js> [--config FILE]`.
 * A relative config path is made absolute against the working directory.
 * @param compiled - run the service's build instead of its sources. @defaultValue whether this process runs the build
 * @example
 * ```ts
 * serviceCommand('worker', 'config/prod.yaml');
 * // { name: 'worker', command: '/usr/bin/node', args: ['--import', 'file:///…/tsx/dist/loader.mjs', '/…/worker/src/main.ts', '--config', '/srv/config/prod.yaml'] }
 * ```
 */
export function serviceCommand(service: ServiceId, configFile?: string, compiled: boolean = RUNS_COMPILED): ServiceCommand {
  const entry = serviceEntry(service, compiled);
  const args = compiled ? [`--conditions=${COMPILED_CONDITION}`, entry] : ['--import', tsxLoader(), entry];
  if (configFile !== undefined) args.push('--config', resolve(configFile));
  return { name: service, command: process.execPath, args };
}
