/**
 * Configuration loading: convict schema defaults, then `config/default.yaml`
 * (or the file given with `--config`), then `SJE_*` environment variables.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import convict from 'convict';
import { parse as parseYaml } from 'yaml';
import { configSchema, type ApiKeyEntry, type PluginEntry } from './config-schema.js';
import { ConfigError } from './errors.js';

/** Where `GET /status` reads a task first (`executor.status_reads`). */
export type StatusReads = 'store_first' | 'ops_first' | 'broker_first';

/** The loaded, validated configuration. */
export interface SjeConfig {
  amqp: {
    url: string;
    heartbeat_s: number;
    reconnect_initial_ms: number;
    reconnect_max_ms: number;
    /** A file holding the URL; when set, `url` holds its contents after loading. */
    url_file: string;
    tls: AmqpTlsConfig;
  };
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
    keep_alive_timeout_ms: number;
    /** Task-manager ops endpoints /status reads a task from (first or as the fallback, see `status_reads`). */
    task_manager_urls: string[];
    /** Whether /status reads the task store itself first, asks the ops endpoints before the broker query, or asks them only as its fallback. */
    status_reads: StatusReads;
    tls: { cert_file: string; key_file: string };
  };
  task_manager: {
    store: 'sqlite' | 'postgres';
    postgres_url: string;
    postgres_table_prefix: string;
    data_dir: string;
    sqlite_page_size: number;
    sqlite_checkpoint_ms: number;
    ops_port: number;
    ops_host: string;
    prefetch: number;
    worker_timeout_ms: number;
    max_deliveries: number;
    scheduler_tick_ms: number;
    record_cache_size: number;
    assign_at_idle: boolean;
    hold_limit: number;
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
    max_result_bytes: number;
    report_receipts: boolean;
  };
  security: SecurityConfig;
  /** Workflow templates by name (shape checked by the executor at start-up). */
  workflows: Record<string, unknown>;
  plugins: PluginEntry[];
}

/** TLS material for `amqps://` connections (`amqp.tls`); empty strings mean unset. */
export interface AmqpTlsConfig {
  ca_file: string;
  cert_file: string;
  key_file: string;
  passphrase_env: string;
  servername: string;
  reject_unauthorized: boolean;
}

/** The `security` section: API keys, limits and the ops token. */
export interface SecurityConfig {
  auth: 'auto' | 'keys' | 'none';
  api_keys: ApiKeyEntry[];
  metrics_open: boolean;
  max_params_bytes: number;
  rate_limit: { per_second: number; burst: number };
  strict_functions: boolean;
  functions_cache_ms: number;
  ops_token: string;
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
        const format = Array.isArray(v.format) ? v.format.join(' | ') : typeof v.format === 'string' ? v.format : typeof v.format === 'function' ? functionFormatName(v.format) : 'any';
        out.push({ key: p.join('.'), env: envName(p), doc: v.doc ?? '', default: v.default, format });
      } else walk(v as Record<string, unknown>, p);
    }
  };
  walk(configSchema, []);
  return out;
}

function functionFormatName(format: unknown): string {
  if (format === String) return 'string';
  if (format === Boolean) return 'boolean';
  const named = (format as { typeName?: unknown }).typeName;
  return typeof named === 'string' ? named : 'list';
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
  const schema = withEnvNames(configSchema);
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
      checkKnownKeys(parsed as Record<string, unknown>, configSchema, [], options.file);
      conf.load(parsed);
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
  if (options.overrides) conf.load(options.overrides);
  try {
    conf.validate({ allowed: 'strict' });
  } catch (err) {
    throw new ConfigError(`invalid configuration: ${(err as Error).message}`);
  }
  const config = conf.getProperties();
  config.plugins = config.plugins.map((p) => (typeof p === 'string' ? { name: p } : p));
  if (config.amqp.url_file !== '') config.amqp.url = readUrlFile(config.amqp.url_file, env);
  return config;
}

/** The AMQP URL held in `amqp.url_file`. */
function readUrlFile(file: string, env: NodeJS.ProcessEnv): string {
  if (env['SJE_AMQP_URL'] !== undefined && env['SJE_AMQP_URL'] !== '') {
    throw new ConfigError('set the broker URL in one place: SJE_AMQP_URL and amqp.url_file are both set', { key: 'amqp.url_file' });
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(`amqp.url_file: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { key: 'amqp.url_file', file });
  }
  if (!/^amqps?:\/\//i.test(text)) throw new ConfigError(`amqp.url_file: ${file} must hold one amqp:// or amqps:// URL`, { key: 'amqp.url_file', file });
  return text;
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

/**
 * A URL with its password replaced by `***`: the one in the user-info part
 * (`scheme://user:secret@host`, up to the last `@`) and any `password=`
 * query parameter. For logs and printed configuration.
 * @example
 * ```ts
 * redactUrl('amqps://app:s3cret@mq:5671/prod'); // 'amqps://app:***@mq:5671/prod'
 * ```
 */
export function redactUrl(url: string): string {
  let out = url;
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(.*)@/i.exec(out);
  if (m && m[2] !== undefined) {
    const userInfo = m[2];
    const colon = userInfo.indexOf(':');
    if (colon >= 0) out = `${m[1] ?? ''}${userInfo.slice(0, colon)}:***@${out.slice(m[0].length)}`;
  }
  return out.replace(/([?&;]password=)[^&;#]*/gi, '$1***');
}

/**
 * The configuration with secrets replaced by `***` (for logs and `sje
 * config`): the passwords of `amqp.url` and `task_manager.postgres_url`, the
 * API keys' digests and the ops token. File paths and variable names are kept.
 */
export function redactConfig(config: SjeConfig): SjeConfig {
  const copy = structuredClone(config);
  copy.amqp.url = redactUrl(copy.amqp.url);
  copy.task_manager.postgres_url = redactUrl(copy.task_manager.postgres_url);
  copy.security.api_keys = copy.security.api_keys.map((k) => (k.key_sha256 === undefined ? k : { ...k, key_sha256: '***' }));
  if (copy.security.ops_token !== '') copy.security.ops_token = '***';
  return copy;
}
