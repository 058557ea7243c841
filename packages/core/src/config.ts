/**
 * Configuration loading: convict schema defaults, then `config/default.yaml`
 * (or the file given with `--config`), then `SJE_*` environment variables.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import convict from 'convict';
import { parse as parseYaml } from 'yaml';
import { configSchema, type PluginEntry } from './config-schema.js';
import { ConfigError } from './errors.js';

/** The loaded, validated configuration. */
export interface SjeConfig {
  amqp: { url: string; heartbeat_s: number; reconnect_initial_ms: number; reconnect_max_ms: number };
  topology: { prefix: string; queue_type: 'quorum' | 'classic'; delivery_limit: number };
  log: { level: 'error' | 'warn' | 'info' | 'debug'; format: 'auto' | 'json' | 'pretty' };
  executor: {
    host: string;
    port: number;
    body_limit: number;
    max_batch: number;
    publish_timeout_ms: number;
    query_timeout_ms: number;
    retry_after_s: number;
    shutdown_grace_ms: number;
  };
  task_manager: {
    store: 'sqlite' | 'postgres';
    postgres_url: string;
    postgres_table_prefix: string;
    data_dir: string;
    ops_port: number;
    ops_host: string;
    prefetch: number;
    worker_timeout_ms: number;
    max_deliveries: number;
    scheduler_tick_ms: number;
  };
  worker: {
    id: string;
    queues: string[];
    concurrency: number;
    handlers: string[];
    heartbeat_ms: number;
    grace_ms: number;
    ops_port: number;
    ops_host: string;
  };
  plugins: PluginEntry[];
}

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** A YAML file to load over the defaults (`--config FILE`). */
  file?: string;
  /** Environment to read `SJE_*` overrides from. @defaultValue process.env */
  env?: NodeJS.ProcessEnv;
  /** Values applied last (tests, programmatic use). */
  overrides?: DeepPartial<SjeConfig>;
}

/** Recursively optional. */
export type DeepPartial<T> = T extends unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

interface SchemaNode {
  doc?: string;
  format?: unknown;
  default?: unknown;
  env?: string;
  sensitive?: boolean;
}

function isLeaf(node: unknown): node is SchemaNode {
  return typeof node === 'object' && node !== null && 'default' in node;
}

/** Every key of the schema with its env variable, doc and default (for docs and `--help`). */
export function describeConfig(): { key: string; env: string; doc: string; default: unknown; format: string }[] {
  const out: { key: string; env: string; doc: string; default: unknown; format: string }[] = [];
  const walk = (node: Record<string, unknown>, path: string[]): void => {
    for (const [k, v] of Object.entries(node)) {
      const p = [...path, k];
      if (isLeaf(v)) {
        const format = Array.isArray(v.format) ? v.format.join(' | ') : typeof v.format === 'string' ? v.format : typeof v.format === 'function' ? (v.format === String ? 'string' : 'list') : 'any';
        out.push({ key: p.join('.'), env: envName(p), doc: v.doc ?? '', default: v.default, format });
      } else walk(v as Record<string, unknown>, p);
    }
  };
  walk(configSchema as unknown as Record<string, unknown>, []);
  return out;
}

function envName(path: string[]): string {
  return `SJE_${path.join('_').toUpperCase()}`;
}

function withEnvNames(node: Record<string, unknown>, path: string[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    const p = [...path, k];
    out[k] = isLeaf(v) ? { ...v, env: envName(p) } : withEnvNames(v as Record<string, unknown>, p);
  }
  return out;
}

function parseEnvValue(raw: string, current: unknown): unknown {
  if (Array.isArray(current)) {
    const trimmed = raw.trim();
    if (trimmed.startsWith('[')) return JSON.parse(trimmed) as unknown;
    return trimmed.split(',').map((s) => s.trim()).filter(Boolean);
  }
  return raw;
}

/**
 * The installation's `config/default.yaml`, which service entry points load
 * when no `--config FILE` is given; undefined when it is not there.
 */
export function defaultConfigFile(): string | undefined {
  const file = fileURLToPath(new URL('../../../config/default.yaml', import.meta.url));
  return existsSync(file) ? file : undefined;
}

/**
 * Load options for a service entry point: the `--config` file if given, else
 * the installation's `config/default.yaml` (if present).
 */
export function configFileOptions(file: string | undefined, rest: Omit<LoadConfigOptions, 'file'> = {}): LoadConfigOptions {
  const chosen = file ?? defaultConfigFile();
  return chosen === undefined ? { ...rest } : { ...rest, file: chosen };
}

let yamlRegistered = false;

/**
 * Loads and validates the configuration. Unknown keys and bad values are a
 * {@link ConfigError} whose message names the key.
 * @example
 * ```ts
 * const config = loadConfig({ file: 'config/production.yaml' });
 * config.executor.port; // 8080 unless overridden
 * ```
 */
export function loadConfig(options: LoadConfigOptions = {}): SjeConfig {
  if (!yamlRegistered) {
    convict.addParser({ extension: ['yaml', 'yml'], parse: (s: string) => parseYaml(s) as object });
    yamlRegistered = true;
  }
  const env = options.env ?? process.env;
  const schema = withEnvNames(configSchema as unknown as Record<string, unknown>);
  // convict reads process.env itself; we apply env overrides explicitly so a caller-given env works.
  const conf = convict(stripEnv(schema) as convict.Schema<SjeConfig>, { env: {}, args: [] });
  if (options.file !== undefined) {
    if (!existsSync(options.file)) throw new ConfigError(`config file not found: ${options.file}`, { file: options.file });
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(options.file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`config file ${options.file} is not valid YAML: ${(err as Error).message}`, { file: options.file });
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`config file ${options.file} must hold a mapping at the top level`);
      checkKnownKeys(parsed as Record<string, unknown>, configSchema as unknown as Record<string, unknown>, [], options.file);
      conf.load(parsed as object);
    }
  }
  for (const entry of describeConfig()) {
    const raw = env[entry.env];
    if (raw === undefined || raw === '') continue;
    try {
      conf.set(entry.key as never, parseEnvValue(raw, conf.get(entry.key as never)) as never);
    } catch (err) {
      throw new ConfigError(`environment variable ${entry.env} (config key '${entry.key}') is invalid: ${(err as Error).message}`, { key: entry.key });
    }
  }
  if (options.overrides) conf.load(options.overrides as object);
  try {
    conf.validate({ allowed: 'strict' });
  } catch (err) {
    throw new ConfigError(`invalid configuration: ${(err as Error).message}`);
  }
  const config = conf.getProperties() as SjeConfig;
  config.plugins = config.plugins.map((p) => (typeof p === 'string' ? { name: p } : p));
  return config;
}

function stripEnv(node: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (isLeaf(v)) {
      const { env: _env, ...rest } = v;
      out[k] = rest;
    } else out[k] = stripEnv(v as Record<string, unknown>);
  }
  return out;
}

function checkKnownKeys(data: Record<string, unknown>, schema: Record<string, unknown>, path: string[], file: string): void {
  for (const [k, v] of Object.entries(data)) {
    const node = schema[k];
    const key = [...path, k].join('.');
    if (node === undefined) throw new ConfigError(`unknown configuration key '${key}' in ${file}`, { key });
    if (!isLeaf(node)) {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(`configuration key '${key}' in ${file} must be a mapping`, { key });
      checkKnownKeys(v as Record<string, unknown>, node as Record<string, unknown>, [...path, k], file);
    }
  }
}

/** The configuration with secrets replaced by `***` (for logs and `sje config`). */
export function redactConfig(config: SjeConfig): SjeConfig {
  const copy = structuredClone(config);
  const hide = (url: string): string => url.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@');
  copy.amqp.url = hide(copy.amqp.url);
  copy.task_manager.postgres_url = hide(copy.task_manager.postgres_url);
  return copy;
}
