/**
 * A task's `params` for the `exec` handler, and their strict validation.
 * @module
 */
import { NonRetryableError } from '@sje/core';
import { ExecErrorCode } from './exec-errors.js';
import { isMapping, type ExecOptions } from './exec-options.js';

/** What a task asks the `exec` handler to run. */
export interface ExecParams {
  /** Name of an allow-listed command (a key of the `commands` option). */
  command: string;
  /** Arguments appended after the command's fixed ones, passed verbatim (no shell). @defaultValue [] */
  args: string[];
  /** Sub-directory of the task's working directory to run in (created if missing). @defaultValue '.' */
  cwd: string;
  /** Variables to set, each listed in the `env_allow_params` option. @defaultValue {} */
  env: Record<string, string>;
  /** Text written to the program's standard input (then closed). @defaultValue '' */
  stdin: string;
}

/** Most arguments a task may add. */
export const MAX_ARGS = 256;
/** Longest argument, in characters. */
export const MAX_ARG_LENGTH = 4096;
/** Longest `cwd`, in characters. */
export const MAX_CWD_LENGTH = 1024;
/** Longest value of a variable set through `env`, in characters. */
export const MAX_ENV_VALUE_LENGTH = 32_768;

const KNOWN_PARAMS: readonly string[] = ['command', 'args', 'cwd', 'env', 'stdin'];

function refuse(code: string, message: string, data: Record<string, unknown> = {}): NonRetryableError {
  return new NonRetryableError(message, { code, data });
}

function parseArgs(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw refuse(ExecErrorCode.INVALID_ARGS, "'args' must be a list of strings");
  if (value.length > MAX_ARGS)
    throw refuse(ExecErrorCode.INVALID_ARGS, `'args' has ${value.length} entries; at most ${MAX_ARGS} are allowed`);
  return value.map((arg: unknown, i) => {
    if (typeof arg !== 'string')
      throw refuse(ExecErrorCode.INVALID_ARGS, `'args[${i}]' must be a string, got ${arg === null ? 'null' : typeof arg}`, { index: i });
    if (arg.length > MAX_ARG_LENGTH)
      throw refuse(ExecErrorCode.INVALID_ARGS, `'args[${i}]' is longer than ${MAX_ARG_LENGTH} characters`, { index: i });
    if (arg.includes('\0')) throw refuse(ExecErrorCode.INVALID_ARGS, `'args[${i}]' contains a NUL character`, { index: i });
    return arg;
  });
}

/**
 * Checks `cwd` as text: a relative path with no `..` segment. Where its
 * segments lead on disk (symlinks) is checked when the directory is made.
 */
function parseCwd(value: unknown): string {
  if (value === undefined) return '.';
  if (typeof value !== 'string') throw refuse(ExecErrorCode.INVALID_PARAMS, "'cwd' must be a string");
  if (value.length > MAX_CWD_LENGTH) throw refuse(ExecErrorCode.INVALID_PARAMS, `'cwd' is longer than ${MAX_CWD_LENGTH} characters`);
  if (value.includes('\0')) throw refuse(ExecErrorCode.PATH_ESCAPE, "'cwd' contains a NUL character", { cwd: value });
  if (value.startsWith('/') || value.startsWith('\\') || /^[A-Za-z]:/.test(value)) {
    throw refuse(ExecErrorCode.PATH_ESCAPE, `'cwd' must be relative to the task's working directory, got an absolute path`, { cwd: value });
  }
  if (value.split(/[/\\]/).includes('..')) throw refuse(ExecErrorCode.PATH_ESCAPE, `'cwd' may not contain '..'`, { cwd: value });
  return value === '' ? '.' : value;
}

function parseEnv(value: unknown, allowed: readonly string[]): Record<string, string> {
  if (value === undefined) return {};
  if (!isMapping(value)) throw refuse(ExecErrorCode.INVALID_PARAMS, "'env' must be an object of variable name → string");
  const env: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (!allowed.includes(name)) {
      const hint = allowed.length === 0 ? 'this worker lets tasks set no variables' : `allowed: ${allowed.join(', ')}`;
      throw refuse(ExecErrorCode.ENV_NOT_ALLOWED, `'env.${name}' may not be set by a task (${hint})`, { variable: name });
    }
    if (typeof v !== 'string') throw refuse(ExecErrorCode.ENV_NOT_ALLOWED, `'env.${name}' must be a string`, { variable: name });
    if (v.length > MAX_ENV_VALUE_LENGTH || v.includes('\0')) {
      throw refuse(ExecErrorCode.ENV_NOT_ALLOWED, `'env.${name}' must be at most ${MAX_ENV_VALUE_LENGTH} characters without NUL`, {
        variable: name,
      });
    }
    env[name] = v;
  }
  return env;
}

/**
 * Validates a task's params against the plugin's options. Every refusal is a
 * `NonRetryableError` with one of the {@link ExecErrorCode} codes.
 * @example
 * ```ts
 * parseExecParams({ command: 'echo', args: ['hi'] }, options); // { command: 'echo', args: ['hi'], cwd: '.', env: {}, stdin: '' }
 * parseExecParams({ command: '/bin/sh' }, options);           // throws SJE_ERR_EXEC_COMMAND_NOT_ALLOWED
 * ```
 */
export function parseExecParams(params: unknown, options: Pick<ExecOptions, 'commands' | 'env_allow_params'>): ExecParams {
  if (!isMapping(params)) throw refuse(ExecErrorCode.INVALID_PARAMS, 'params must be an object { command, args?, cwd?, env?, stdin? }');
  for (const key of Object.keys(params)) {
    if (!KNOWN_PARAMS.includes(key)) {
      throw refuse(ExecErrorCode.INVALID_PARAMS, `unknown param '${key}' (known: ${KNOWN_PARAMS.join(', ')})`, { param: key });
    }
  }
  const command = params['command'];
  if (typeof command !== 'string') throw refuse(ExecErrorCode.INVALID_PARAMS, "'command' must be the name of an allow-listed command");
  if (!options.commands.has(command)) {
    throw refuse(ExecErrorCode.COMMAND_NOT_ALLOWED, `command '${command.slice(0, 200)}' is not allow-listed on this worker`, {
      command: command.slice(0, 200),
    });
  }
  const stdin = params['stdin'];
  if (stdin !== undefined && typeof stdin !== 'string') throw refuse(ExecErrorCode.INVALID_PARAMS, "'stdin' must be a string");
  return {
    command,
    args: parseArgs(params['args']),
    cwd: parseCwd(params['cwd']),
    env: parseEnv(params['env'], options.env_allow_params),
    stdin: stdin ?? '',
  };
}
