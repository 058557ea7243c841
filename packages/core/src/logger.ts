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
  const format = usePretty
    ? winston.format.combine(winston.format.timestamp(), winston.format.colorize(), pretty)
    : winston.format.combine(winston.format.timestamp(), winston.format.json());
  return winston.createLogger({
    level: options.level ?? 'info',
    defaultMeta: { service: options.service },
    format,
    silent: options.silent ?? false,
    transports: [new winston.transports.Stream({ stream })],
  });
}
