/**
 * The `exec` plugin's options (`plugins: [{ name: exec, options: {...} }]`)
 * and their validation.
 * @module
 */
import { isAbsolute, normalize, resolve } from 'node:path';
import { ErrorCode, SjeError } from '@sje/core';

/** One allow-listed command: the program and the arguments it always gets first. */
export interface ExecCommand {
  /** Absolute path of the program; never looked up on `PATH`, never run through a shell. */
  program: string;
  /** Fixed leading arguments, before the caller's `args`. @defaultValue [] */
  args: readonly string[];
  /** Stop the run (its whole process group) after this long. @defaultValue no limit of its own */
  timeout_ms?: number;
}

/** The `exec` plugin's options once validated, every default filled in. */
export interface ExecOptions {
  /** The task function name the handler is registered under. @defaultValue 'exec' */
  handler_name: string;
  /** Absolute directory holding one working directory per task. @defaultValue `<cwd>/data/exec` */
  work_root: string;
  /** The allow-list: command name → program and fixed arguments. */
  commands: ReadonlyMap<string, ExecCommand>;
  /** Variables copied from the worker's environment when set there. @defaultValue ['PATH', 'LANG'] */
  env_allow: readonly string[];
  /** Variables a task may set through its `env` param. @defaultValue [] */
  env_allow_params: readonly string[];
  /** Fixed variables given to every run. @defaultValue {} */
  env: Readonly<Record<string, string>>;
  /** Bytes of each of stdout and stderr kept (and logged); the rest is dropped and flagged. @defaultValue 1048576 */
  max_output_bytes: number;
  /** Delay between SIGTERM and SIGKILL when a run's process group is stopped. @defaultValue 2000 */
  kill_grace_ms: number;
  /** Keep each task's working directory after its run (a retry then finds it). @defaultValue false */
  keep_workdir: boolean;
}

/** Defaults of every option but `commands` (which has none: it must be given). */
export const DEFAULT_EXEC_OPTIONS = {
  handler_name: 'exec',
  work_root: './data/exec',
  env_allow: ['PATH', 'LANG'],
  env_allow_params: [],
  env: {},
  max_output_bytes: 1_048_576,
  kill_grace_ms: 2000,
  keep_workdir: false,
} as const satisfies Omit<Record<keyof ExecOptions, unknown>, 'commands'>;

const KNOWN_OPTIONS: readonly string[] = [...Object.keys(DEFAULT_EXEC_OPTIONS), 'commands'];
const KNOWN_COMMAND_KEYS: readonly string[] = ['program', 'args', 'timeout_ms'];

/** Names of allow-listed commands: a word, so a path or `..` can never be one. */
export const COMMAND_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;
/** Names of environment variables the plugin accepts. */
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** Largest `max_output_bytes` (each stream is held in memory and travels in the result). */
export const MAX_OUTPUT_BYTES_LIMIT = 64 * 1_048_576;
/** Largest delay `setTimeout` honours. */
const MAX_TIMER_MS = 2_147_483_647;
/** Loader variables that would let whoever sets them inject code into the program. */
const LOADER_VARIABLE = /^(LD_|DYLD_)/;

function invalid(option: string, message: string, value: unknown): SjeError {
  let shown: string;
  try {
    shown = JSON.stringify(value) ?? String(value);
  } catch {
    shown = String(value);
  }
  return new SjeError(ErrorCode.PLUGIN_INVALID, `plugin 'exec': option '${option}' ${message} (got ${shown})`, {
    data: { plugin: 'exec', option },
  });
}

/** Whether `value` is a YAML mapping (a plain object, not a list). */
export function isMapping(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function hasNul(s: string): boolean {
  return s.includes('\0');
}

function nonEmptyString(value: unknown, option: string): string {
  if (typeof value !== 'string' || value.length === 0 || hasNul(value)) throw invalid(option, 'must be a non-empty string', value);
  return value;
}

function integer(value: unknown, option: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(option, `must be an integer from ${min} to ${max}`, value);
  }
  return value;
}

function stringList(value: unknown, option: string, check: (s: string) => boolean, items: string, item: string): string[] {
  if (!Array.isArray(value)) throw invalid(option, `must be a list of ${items}`, value);
  return value.map((entry: unknown, i) => {
    if (typeof entry !== 'string' || !check(entry)) throw invalid(`${option}[${i}]`, `must be ${item}`, entry);
    return entry;
  });
}

const isEnvName = (s: string): boolean => ENV_NAME_PATTERN.test(s);

function parseCommand(name: string, value: unknown): ExecCommand {
  const at = `commands.${name}`;
  if (!isMapping(value)) throw invalid(at, 'must be a mapping { program, args?, timeout_ms? }', value);
  for (const key of Object.keys(value)) {
    if (!KNOWN_COMMAND_KEYS.includes(key))
      throw invalid(`${at}.${key}`, `is unknown (known: ${KNOWN_COMMAND_KEYS.join(', ')})`, value[key]);
  }
  const program = nonEmptyString(value['program'], `${at}.program`);
  if (!isAbsolute(program)) throw invalid(`${at}.program`, 'must be an absolute path (programs are never looked up on PATH)', program);
  const command: ExecCommand = {
    program: normalize(program),
    args:
      value['args'] === undefined
        ? []
        : stringList(value['args'], `${at}.args`, (s) => !hasNul(s), 'strings without NUL', 'a string without NUL'),
  };
  if (value['timeout_ms'] !== undefined) command.timeout_ms = integer(value['timeout_ms'], `${at}.timeout_ms`, 1, MAX_TIMER_MS);
  return command;
}

function parseCommands(value: unknown): Map<string, ExecCommand> {
  if (value === undefined) throw invalid('commands', 'is required: a mapping of command name → { program, args?, timeout_ms? }', value);
  if (!isMapping(value)) throw invalid('commands', 'must be a mapping of command name → { program, args?, timeout_ms? }', value);
  const commands = new Map<string, ExecCommand>();
  for (const [name, spec] of Object.entries(value)) {
    if (!COMMAND_NAME_PATTERN.test(name)) {
      throw invalid(`commands.${name}`, `has a bad name: command names match ${String(COMMAND_NAME_PATTERN)}`, name);
    }
    commands.set(name, parseCommand(name, spec));
  }
  if (commands.size === 0) throw invalid('commands', 'must list at least one command', value);
  return commands;
}

function parseEnv(value: unknown): Record<string, string> {
  if (!isMapping(value)) throw invalid('env', 'must be a mapping of variable name → string', value);
  const env: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (!isEnvName(name)) throw invalid(`env.${name}`, `is not a valid variable name (${String(ENV_NAME_PATTERN)})`, name);
    if (typeof v !== 'string' || hasNul(v)) throw invalid(`env.${name}`, 'must be a string without NUL (quote numbers in the YAML)', v);
    env[name] = v;
  }
  return env;
}

/**
 * Validates the plugin's YAML options and fills in defaults; throws
 * `SJE_ERR_PLUGIN_INVALID` naming the bad option. `work_root` is resolved
 * against `baseDir`.
 * @example
 * ```ts
 * const o = parseExecOptions({ commands: { echo: { program: '/bin/echo' } } });
 * o.commands.get('echo'); // { program: '/bin/echo', args: [] }
 * o.max_output_bytes;     // 1048576
 * ```
 */
export function parseExecOptions(options: Record<string, unknown>, baseDir: string = process.cwd()): ExecOptions {
  if (!isMapping(options)) throw invalid('options', 'must be a mapping', options);
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.includes(key)) throw invalid(key, `is unknown (known: ${KNOWN_OPTIONS.join(', ')})`, options[key]);
  }
  const get = (key: string): unknown => options[key];

  const handlerName =
    get('handler_name') === undefined ? DEFAULT_EXEC_OPTIONS.handler_name : nonEmptyString(get('handler_name'), 'handler_name');
  if (handlerName.length > 200) throw invalid('handler_name', 'must be at most 200 characters', handlerName);
  const workRoot = get('work_root') === undefined ? DEFAULT_EXEC_OPTIONS.work_root : nonEmptyString(get('work_root'), 'work_root');

  const envAllowParams =
    get('env_allow_params') === undefined
      ? [...DEFAULT_EXEC_OPTIONS.env_allow_params]
      : stringList(
          get('env_allow_params'),
          'env_allow_params',
          isEnvName,
          'variable names',
          `a variable name (${String(ENV_NAME_PATTERN)})`,
        );
  const loader = envAllowParams.find((n) => LOADER_VARIABLE.test(n));
  if (loader !== undefined) {
    throw invalid(
      'env_allow_params',
      `may not list loader variable '${loader}': a task setting it could inject code into the program`,
      envAllowParams,
    );
  }

  const keep = get('keep_workdir');
  if (keep !== undefined && typeof keep !== 'boolean') throw invalid('keep_workdir', 'must be true or false', keep);

  return {
    handler_name: handlerName,
    work_root: resolve(baseDir, workRoot),
    commands: parseCommands(get('commands')),
    env_allow:
      get('env_allow') === undefined
        ? [...DEFAULT_EXEC_OPTIONS.env_allow]
        : stringList(get('env_allow'), 'env_allow', isEnvName, 'variable names', `a variable name (${String(ENV_NAME_PATTERN)})`),
    env_allow_params: envAllowParams,
    env: get('env') === undefined ? {} : parseEnv(get('env')),
    max_output_bytes:
      get('max_output_bytes') === undefined
        ? DEFAULT_EXEC_OPTIONS.max_output_bytes
        : integer(get('max_output_bytes'), 'max_output_bytes', 0, MAX_OUTPUT_BYTES_LIMIT),
    kill_grace_ms:
      get('kill_grace_ms') === undefined ? DEFAULT_EXEC_OPTIONS.kill_grace_ms : integer(get('kill_grace_ms'), 'kill_grace_ms', 0, 600_000),
    keep_workdir: keep ?? DEFAULT_EXEC_OPTIONS.keep_workdir,
  };
}
