/**
 * The logger factory: winston, one JSON object a line (or readable lines on a
 * TTY). A line about a task carries its `task_id`: use `logger.child({ task_id })`.
 * @module
 */
import winston from 'winston';

/** The logger type used across SJE. */
export type Logger = winston.Logger;

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Service name put on every line. */
  service: string;
  /** @defaultValue 'info' */
  level?: string;
  /** `auto`: pretty on a TTY, JSON otherwise. @defaultValue 'auto' */
  format?: 'auto' | 'json' | 'pretty';
  /** Where lines go. @defaultValue process.stderr */
  stream?: NodeJS.WritableStream;
  /** Write nothing (tests). */
  silent?: boolean;
}

const pretty = winston.format.printf((info) => {
  const { level, message, timestamp, service, task_id, ...rest } = info as Record<string, unknown>;
  const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
  const str = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v) ?? '');
  const task = task_id ? ` [${str(task_id)}]` : '';
  return `${str(timestamp)} ${str(level)} ${str(service)}${task}: ${str(message)}${extra}`;
});

/**
 * Creates a service logger.
 * @example
 * ```ts
 * const log = createLogger({ service: 'worker' });
 * log.child({ task_id: id }).info('task started');
 * ```
 */
export function createLogger(options: LoggerOptions): Logger {
  const stream = options.stream ?? process.stderr;
  const mode = options.format ?? 'auto';
  const usePretty = mode === 'pretty' || (mode === 'auto' && (stream as NodeJS.WriteStream).isTTY === true);
  // winston formats a line before its transport drops it for its level: drop it first,
  // so a filtered debug or info line on a hot path costs a level check, not a timestamp and a JSON.
  const ref: { logger?: winston.Logger } = {};
  const enabled = winston.format((info) => ((ref.logger?.isLevelEnabled(info.level) ?? true) ? info : false));
  const format = usePretty
    ? winston.format.combine(enabled(), winston.format.timestamp(), winston.format.colorize(), pretty)
    : winston.format.combine(enabled(), winston.format.timestamp(), winston.format.json());
  ref.logger = winston.createLogger({
    level: options.level ?? 'info',
    defaultMeta: { service: options.service },
    format,
    silent: options.silent ?? false,
    transports: [new winston.transports.Stream({ stream })],
  });
  return ref.logger;
}
