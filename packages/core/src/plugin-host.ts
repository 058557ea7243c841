/**
 * The plugin host: named async hooks checked at registration, interceptors
 * composed around calls, plugins loaded by name with namespaced options.
 *
 * Hooks run in registration order in the service that raises the event.
 * A `before*` hook may veto its action by throwing; errors of `on*` and
 * `after*` hooks are logged and never break the core.
 * @module
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Registry } from 'prom-client';
import type { PluginEntry } from './config-schema.js';
import type { SjeConfig } from './config.js';
import { ErrorCode, SjeError, type SerializedError } from './errors.js';
import type { Logger } from './logger.js';
import type { DispatchMessage, RunOutcome, TaskEvent, TaskSpec, TaskView } from './messages.js';

/** Which service a plugin runs in. */
export type ServiceName = 'executor' | 'task-manager' | 'worker';

/** A worker as the task-manager's registry knows it. */
export interface WorkerInfo {
  worker_id: string;
  host: string;
  queues: string[];
  functions: string[];
  concurrency: number;
}

/** The payload of each hook. */
export interface HookPayloads {
  /** Any service, after start-up. */
  onReady: { service: ServiceName };
  /** Any service, at shutdown (runs in reverse registration order). */
  onClose: { service: ServiceName };
  /** Executor, before a submit command is published. Throw an SjeError to refuse the submit. */
  beforeSubmit: { tasks: TaskSpec[]; workflow_id?: string };
  /** Executor, after the broker confirmed a submit command. */
  afterSubmit: { tasks: TaskSpec[]; workflow_id?: string };
  /** Task-manager, after every committed state change. */
  onTaskStateChange: { event: TaskEvent };
  /** Task-manager, a worker registered. */
  onWorkerOnline: { worker: WorkerInfo };
  /** Task-manager, a worker deregistered or was lost. */
  onWorkerOffline: { worker: WorkerInfo; reason: 'deregistered' | 'lost' };
  /** Worker, before a handler runs. Throw to fail the run. */
  beforeExecute: { task: DispatchMessage; worker_id: string };
  /** Worker, after a handler ended. */
  afterExecute: { task: DispatchMessage; worker_id: string; outcome: RunOutcome; result?: unknown; error?: SerializedError; run_ms: number };
}

/** Names of all hooks. */
export type HookName = keyof HookPayloads;

/** Every hook name, for validation. */
export const HOOK_NAMES: readonly HookName[] = [
  'onReady',
  'onClose',
  'beforeSubmit',
  'afterSubmit',
  'onTaskStateChange',
  'onWorkerOnline',
  'onWorkerOffline',
  'beforeExecute',
  'afterExecute',
];

/** A hook function. */
export type Hook<K extends HookName> = (payload: HookPayloads[K]) => Promise<void> | void;

/** A retry verdict. */
export interface RetryDecision {
  retry: boolean;
  /** Wait before the next attempt. */
  delay_ms?: number;
  /** Why (recorded in the task's history). */
  reason?: string;
}

/** Inputs and outputs of interceptable calls. */
export interface InterceptorCalls {
  /** Task-manager: decide whether a failed or timed-out run is retried. */
  retryDecision: { input: { task: TaskView; error: SerializedError | undefined; outcome: 'failed' | 'timed_out' }; output: RetryDecision };
  /** Worker: run a handler. */
  execute: { input: { task: DispatchMessage; worker_id: string }; output: unknown };
}

/** Names of interceptable calls. */
export type InterceptorName = keyof InterceptorCalls;

/** Every interceptor name, for validation. */
export const INTERCEPTOR_NAMES: readonly InterceptorName[] = ['retryDecision', 'execute'];

/** Work around a call: call `next` to go on, or answer without it. */
export type Interceptor<K extends InterceptorName> = (
  input: InterceptorCalls[K]['input'],
  next: (input: InterceptorCalls[K]['input']) => Promise<InterceptorCalls[K]['output']>,
) => Promise<InterceptorCalls[K]['output']>;

/** What a plugin's `setup` receives. */
export interface PluginContext {
  /** The service the plugin runs in. */
  service: ServiceName;
  /** The plugin's own options from the YAML. */
  options: Record<string, unknown>;
  /** A logger tagged with the plugin's name. */
  logger: Logger;
  /** The service's Prometheus registry (served on `/metrics`). */
  metrics: Registry;
  /** The whole (loaded) configuration. */
  config: SjeConfig;
}

/**
 * A task handler contributed by a plugin; workers register it like their own.
 * The context is the worker's `TaskContext` (taskId, attempt, signal, progress, log, ...).
 */
export type PluginTaskHandler = (params: Record<string, unknown>, ctx: PluginTaskContext) => unknown;

/** The part of the worker's task context a plugin handler can rely on. */
export interface PluginTaskContext {
  taskId: string;
  attempt: number;
  signal: AbortSignal;
  progress(pct: number): void;
  log: Logger;
}

/**
 * A plugin.
 * @example
 * ```ts
 * const audit: SjePlugin = {
 *   name: 'audit',
 *   hooks: { onTaskStateChange: async ({ event }) => console.log(event.task_id, event.status) },
 * };
 * ```
 */
export interface SjePlugin {
  name: string;
  /** Names of plugins that must be registered before this one. */
  dependencies?: string[];
  /** Called once at start-up, before any hook. */
  setup?: (ctx: PluginContext) => Promise<void> | void;
  hooks?: { [K in HookName]?: Hook<K> };
  interceptors?: { [K in InterceptorName]?: Interceptor<K> };
  /**
   * Task handlers this plugin provides (workers register them). `setup` may
   * fill this object from the plugin's options.
   */
  handlers?: Record<string, PluginTaskHandler>;
  /** Called at shutdown, in reverse registration order. */
  close?: () => Promise<void> | void;
}

function pluginError(message: string): SjeError {
  return new SjeError(ErrorCode.PLUGIN_INVALID, message);
}

/** Checks a plugin's shape; throws a clear error naming the plugin and the bad hook. */
export function validatePlugin(plugin: unknown, source = 'plugin'): asserts plugin is SjePlugin {
  if (typeof plugin !== 'object' || plugin === null) throw pluginError(`${source} must export an object, got ${typeof plugin}`);
  const p = plugin as Record<string, unknown>;
  if (typeof p['name'] !== 'string' || p['name'].length === 0) throw pluginError(`${source} has no 'name'`);
  const name = p['name'];
  const allowed = new Set(['name', 'dependencies', 'setup', 'hooks', 'interceptors', 'handlers', 'close']);
  for (const key of Object.keys(p)) if (!allowed.has(key)) throw pluginError(`plugin '${name}': unknown property '${key}'`);
  for (const fnKey of ['setup', 'close'] as const) {
    if (p[fnKey] !== undefined && typeof p[fnKey] !== 'function') throw pluginError(`plugin '${name}': '${fnKey}' must be a function`);
  }
  const checkMap = (kind: 'hooks' | 'interceptors', names: readonly string[]): void => {
    const map = p[kind];
    if (map === undefined) return;
    if (typeof map !== 'object' || map === null) throw pluginError(`plugin '${name}': '${kind}' must be an object`);
    for (const [k, v] of Object.entries(map)) {
      if (!names.includes(k)) throw pluginError(`plugin '${name}': unknown ${kind === 'hooks' ? 'hook' : 'interceptor'} '${k}' (known: ${names.join(', ')})`);
      if (typeof v !== 'function') throw pluginError(`plugin '${name}': ${kind === 'hooks' ? 'hook' : 'interceptor'} '${k}' must be a function`);
    }
  };
  checkMap('hooks', HOOK_NAMES);
  checkMap('interceptors', INTERCEPTOR_NAMES);
  const deps = p['dependencies'];
  if (deps !== undefined && (!Array.isArray(deps) || deps.some((d) => typeof d !== 'string'))) {
    throw pluginError(`plugin '${name}': 'dependencies' must be a list of plugin names`);
  }
}

/**
 * Holds a service's plugins and raises their hooks.
 * @example
 * ```ts
 * const host = new PluginHost({ service: 'worker', logger, metrics, config });
 * await host.register(myPlugin, { verbose: true });
 * await host.run('onReady', { service: 'worker' });
 * ```
 */
export class PluginHost {
  private readonly plugins: SjePlugin[] = [];
  private readonly hookLists = new Map<HookName, { plugin: string; fn: (p: unknown) => Promise<void> | void }[]>();
  private readonly interceptorLists = new Map<InterceptorName, unknown[]>();
  private readonly base: Omit<PluginContext, 'options' | 'logger'> & { logger: Logger };
  private closed = false;

  constructor(base: Omit<PluginContext, 'options'>) {
    this.base = base;
  }

  /** Names of registered plugins, in order. */
  get names(): string[] {
    return this.plugins.map((p) => p.name);
  }

  /** Validates and registers a plugin, then runs its `setup`. */
  async register(plugin: unknown, options: Record<string, unknown> = {}): Promise<void> {
    validatePlugin(plugin);
    if (this.plugins.some((p) => p.name === plugin.name)) throw pluginError(`plugin '${plugin.name}' is registered twice`);
    for (const dep of plugin.dependencies ?? []) {
      if (!this.plugins.some((p) => p.name === dep)) throw pluginError(`plugin '${plugin.name}' needs plugin '${dep}' registered before it`);
    }
    if (plugin.setup) {
      await plugin.setup({ ...this.base, options, logger: this.base.logger.child({ plugin: plugin.name }) });
    }
    this.plugins.push(plugin);
    for (const [k, fn] of Object.entries(plugin.hooks ?? {})) {
      const list = this.hookLists.get(k as HookName) ?? [];
      list.push({ plugin: plugin.name, fn: fn as (p: unknown) => Promise<void> });
      this.hookLists.set(k as HookName, list);
    }
    for (const [k, fn] of Object.entries(plugin.interceptors ?? {})) {
      const list = this.interceptorLists.get(k as InterceptorName) ?? [];
      list.push(fn);
      this.interceptorLists.set(k as InterceptorName, list);
    }
  }

  /**
   * Handlers contributed by plugins (read after registration, so `setup` can
   * fill them). Two plugins contributing the same name is an error.
   */
  contributedHandlers(): Record<string, PluginTaskHandler> {
    const out: Record<string, PluginTaskHandler> = {};
    for (const p of this.plugins) {
      for (const [name, fn] of Object.entries(p.handlers ?? {})) {
        if (typeof fn !== 'function') throw pluginError(`plugin '${p.name}': handler '${name}' must be a function`);
        if (out[name]) throw pluginError(`handler '${name}' is contributed by more than one plugin`);
        out[name] = fn;
      }
    }
    return out;
  }

  /** Whether any plugin registered this hook (lets callers skip building payloads). */
  has(name: HookName): boolean {
    return (this.hookLists.get(name)?.length ?? 0) > 0;
  }

  /**
   * Runs every plugin's hook `name` in registration order. A `before*` hook's
   * error propagates (it vetoes the action); other hooks' errors are logged.
   */
  async run<K extends HookName>(name: K, payload: HookPayloads[K]): Promise<void> {
    const list = this.hookLists.get(name);
    if (!list) return;
    const ordered = name === 'onClose' ? [...list].reverse() : list;
    for (const { plugin, fn } of ordered) {
      try {
        await fn(payload);
      } catch (err) {
        if (name.startsWith('before')) throw err;
        this.base.logger.error('plugin hook failed', { plugin, hook: name, err: err instanceof Error ? err.message : String(err) });
      }
    }
  }

  /**
   * Calls `core` through every registered interceptor of `name`, the first
   * registered outermost.
   */
  async intercept<K extends InterceptorName>(
    name: K,
    input: InterceptorCalls[K]['input'],
    core: (input: InterceptorCalls[K]['input']) => Promise<InterceptorCalls[K]['output']>,
  ): Promise<InterceptorCalls[K]['output']> {
    const list = (this.interceptorLists.get(name) ?? []) as Interceptor<K>[];
    const chain = list.reduceRight<(i: InterceptorCalls[K]['input']) => Promise<InterceptorCalls[K]['output']>>(
      (next, interceptor) => (i) => interceptor(i, next),
      core,
    );
    return await chain(input);
  }

  /** Runs `onClose` hooks and every plugin's `close`, in reverse order. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.run('onClose', { service: this.base.service });
    for (const plugin of [...this.plugins].reverse()) {
      try {
        await plugin.close?.();
      } catch (err) {
        this.base.logger.error('plugin close failed', { plugin: plugin.name, err: String(err) });
      }
    }
  }
}

/** Short names of the bundled plugins. */
export const BUILTIN_PLUGINS: Readonly<Record<string, string>> = {
  logging: '@sje/plugin-logging',
  retry: '@sje/plugin-retry',
  metrics: '@sje/plugin-metrics',
  exec: '@sje/plugin-exec',
};

/** Imports a module by specifier, from the caller's own module context (pnpm keeps packages private). */
export type ModuleImporter = (specifier: string) => Promise<Record<string, unknown>>;

/**
 * Loads the plugins listed in the configuration and registers them in order.
 * A name is a bundled plugin's short name, a package name, or a path
 * (relative to the working directory).
 */
export async function loadPlugins(host: PluginHost, entries: PluginEntry[], importer: ModuleImporter): Promise<void> {
  for (const entry of entries) {
    const plugin = await importPlugin(entry.name, importer);
    await host.register(plugin, entry.options ?? {});
  }
}

async function importPlugin(name: string, importer: ModuleImporter): Promise<unknown> {
  const isPath = name.startsWith('.') || isAbsolute(name);
  const spec = isPath ? pathToFileURL(resolve(name)).href : (BUILTIN_PLUGINS[name] ?? name);
  let mod: Record<string, unknown>;
  try {
    mod = await importer(spec);
  } catch (err) {
    throw pluginError(`cannot load plugin '${name}': ${(err as Error).message}`);
  }
  const plugin = mod['default'] ?? mod['plugin'];
  if (plugin === undefined) throw pluginError(`plugin module '${name}' has no default export`);
  return plugin;
}
