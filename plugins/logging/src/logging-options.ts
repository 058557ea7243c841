/**
 * The logging plugin's options (`plugins: [{ name: logging, options: {...} }]`)
 * and their validation.
 * @module
 */
import { ErrorCode, SjeError } from '@sje/core';

/** Log levels, most severe first (winston's npm levels). */
export const LOG_LEVELS = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] as const;

/** A log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The logging plugin's options once validated. */
export interface LoggingOptions {
  /** Level of routine lifecycle lines; failures are logged at `warn` or more severe. @defaultValue 'info' */
  level: LogLevel;
  /** Put task `params` on submit and start lines (they may hold secrets). @defaultValue false */
  include_params: boolean;
  /** Put task results on success lines. @defaultValue false */
  include_results: boolean;
}

/** Defaults of every option. */
export const DEFAULT_LOGGING_OPTIONS: Readonly<LoggingOptions> = { level: 'info', include_params: false, include_results: false };

function invalid(option: string, message: string, value: unknown): SjeError {
  return new SjeError(ErrorCode.PLUGIN_INVALID, `plugin 'logging': option '${option}' ${message} (got ${JSON.stringify(value)})`, {
    data: { plugin: 'logging', option },
  });
}

/**
 * Validates the plugin's YAML options and fills in defaults; throws
 * `SJE_ERR_PLUGIN_INVALID` naming the bad option.
 * @example
 * ```ts
 * parseLoggingOptions({ level: 'debug' }); // { level: 'debug', include_params: false, include_results: false }
 * ```
 */
export function parseLoggingOptions(options: Record<string, unknown>): LoggingOptions {
  for (const key of Object.keys(options)) {
    if (!(key in DEFAULT_LOGGING_OPTIONS)) throw invalid(key, `is unknown (known: ${Object.keys(DEFAULT_LOGGING_OPTIONS).join(', ')})`, options[key]);
  }
  const level = options['level'] ?? DEFAULT_LOGGING_OPTIONS.level;
  if (typeof level !== 'string' || !(LOG_LEVELS as readonly string[]).includes(level)) {
    throw invalid('level', `must be one of ${LOG_LEVELS.join(', ')}`, level);
  }
  const out: LoggingOptions = { ...DEFAULT_LOGGING_OPTIONS, level: level as LogLevel };
  for (const key of ['include_params', 'include_results'] as const) {
    const v = options[key];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') throw invalid(key, 'must be true or false', v);
    out[key] = v;
  }
  return out;
}

/** The more severe of two levels. */
export function moreSevere(a: LogLevel, b: LogLevel): LogLevel {
  return LOG_LEVELS.indexOf(a) <= LOG_LEVELS.indexOf(b) ? a : b;
}
