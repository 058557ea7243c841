/**
 * The `exec` task handler: checks a task's params, prepares its working
 * directory, runs the allow-listed program without a shell in its own
 * process group, and turns the run into a result or an error.
 * @module
 */
import { relative } from 'node:path';
import { ErrorCode, SjeError, type Logger, type PluginTaskContext, type PluginTaskHandler } from '@sje/core';
import { ExecErrorCode } from './exec-errors.js';
import type { ExecCommand, ExecOptions } from './exec-options.js';
import { parseExecParams } from './exec-params.js';
import { buildChildEnv } from './internal/child-env.js';
import { runProcess, type ProcessOutcome, type ProcessSpec, type StreamName } from './internal/run-process.js';
import { createTaskDir, enterCwd, removeWorkdir } from './internal/task-workdir.js';

/** The result of a run that exited with status 0. */
export interface ExecResult {
  exit_code: 0;
  /** Standard output, up to `max_output_bytes`. */
  stdout: string;
  /** Standard error, up to `max_output_bytes`. */
  stderr: string;
  /** Which streams went past `max_output_bytes` (the rest was dropped). */
  truncated: { stdout: boolean; stderr: boolean };
  /** Wall-clock time of the run, in ms. */
  duration_ms: number;
}

/** Options of {@link createExecHandler} besides the plugin's own. */
export interface ExecHandlerDeps {
  /** The worker's environment, read for `env_allow`. @defaultValue process.env */
  workerEnv?: NodeJS.ProcessEnv;
  /** Told the pid (= process group id) of each run once it started. */
  onSpawn?: (pid: number, taskId: string) => void;
}

/**
 * The error of a run stopped through the task's signal: the signal's reason
 * when it is an error, else an `SjeError` naming the reason
 * (`SJE_ERR_TASK_TIMEOUT` for `timed_out`, `SJE_ERR_TASK_CANCELLED` otherwise).
 */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const text = String(reason);
  return new SjeError(
    text === 'timed_out' ? ErrorCode.TASK_TIMEOUT : ErrorCode.TASK_CANCELLED,
    `the run was aborted (${text}); its process group was stopped`,
    {
      retryable: text === 'timed_out' || text === 'shutdown',
      data: { reason: text },
    },
  );
}

function outcomeError(name: string, command: ExecCommand, o: ProcessOutcome): SjeError | undefined {
  if (o.spawnError) {
    const errno = (o.spawnError as { code?: unknown }).code;
    return new SjeError(ExecErrorCode.SPAWN, `command '${name}' could not start ${command.program}: ${o.spawnError.message}`, {
      retryable: true,
      cause: o.spawnError,
      data: { command: name, program: command.program, errno: typeof errno === 'string' ? errno : null },
    });
  }
  if (o.stopped === 'timeout') {
    return new SjeError(
      ExecErrorCode.TIMEOUT,
      `command '${name}' did not finish within its timeout of ${command.timeout_ms ?? 0} ms; its process group was stopped`,
      {
        retryable: true,
        data: { command: name, timeout_ms: command.timeout_ms ?? null, stderr_tail: o.stderrTail },
      },
    );
  }
  if (o.exitCode === 0) return undefined;
  const how = o.signal === null ? `exited with status ${String(o.exitCode)}` : `was killed by ${o.signal}`;
  return new SjeError(ExecErrorCode.EXIT, `command '${name}' ${how}`, {
    retryable: true,
    data: { command: name, exit_code: o.exitCode, signal: o.signal, stderr_tail: o.stderrTail },
  });
}

function logEnd(log: Logger, o: ProcessOutcome): void {
  const meta = {
    exit_code: o.exitCode,
    signal: o.signal,
    stopped: o.stopped ?? null,
    duration_ms: o.durationMs,
    stdout_bytes: o.stdout.bytes,
    stderr_bytes: o.stderr.bytes,
  };
  if (o.spawnError) log.warn('exec could not start', { ...meta, err: o.spawnError.message });
  else log.info('exec finished', meta);
  if (o.groupStop === 'killed') log.warn('exec process group ignored SIGTERM and was killed', { pid: o.pid ?? null });
  if (o.groupStop === 'stuck') log.error('exec process group survived SIGKILL', { pid: o.pid ?? null });
}

async function runExec(options: ExecOptions, deps: ExecHandlerDeps, rawParams: unknown, ctx: PluginTaskContext): Promise<ExecResult> {
  const params = parseExecParams(rawParams, options);
  const command = options.commands.get(params.command);
  // parseExecParams refuses unlisted commands; this keeps the compiler and a future edit honest.
  if (!command) throw new SjeError(ErrorCode.INTERNAL, `command '${params.command}' vanished from the allow-list`);
  const log = ctx.log.child({ task_id: ctx.taskId, exec_command: params.command });
  if (ctx.signal.aborted) throw abortError(ctx.signal);

  const taskDir = await createTaskDir(options.work_root, ctx.taskId);
  try {
    const cwd = await enterCwd(taskDir.real, params.cwd);
    if (ctx.signal.aborted) throw abortError(ctx.signal);
    const args = [...command.args, ...params.args];
    log.info('exec starting', { program: command.program, argc: args.length, cwd: relative(taskDir.real, cwd) || '.' });
    log.debug('exec argv', { argv: [command.program, ...args] });
    const spec: ProcessSpec = {
      program: command.program,
      args,
      cwd,
      env: buildChildEnv(options, params.env, deps.workerEnv),
      stdin: params.stdin,
      maxOutputBytes: options.max_output_bytes,
      killGraceMs: options.kill_grace_ms,
      signal: ctx.signal,
      onLine: (stream: StreamName, line: string) => log.info('exec output', { stream, line }),
      onTruncate: (stream: StreamName) =>
        log.warn('exec output past max_output_bytes is dropped', { stream, max_output_bytes: options.max_output_bytes }),
      onSpawn: (pid: number) => deps.onSpawn?.(pid, ctx.taskId),
    };
    if (command.timeout_ms !== undefined) spec.timeoutMs = command.timeout_ms;
    const outcome = await runProcess(spec);
    logEnd(log, outcome);
    if (outcome.stopped === 'aborted') throw abortError(ctx.signal);
    const error = outcomeError(params.command, command, outcome);
    if (error) throw error;
    return {
      exit_code: 0,
      stdout: outcome.stdout.text,
      stderr: outcome.stderr.text,
      truncated: { stdout: outcome.stdout.truncated, stderr: outcome.stderr.truncated },
      duration_ms: outcome.durationMs,
    };
  } finally {
    if (!options.keep_workdir) {
      await removeWorkdir(taskDir.path).catch((err: unknown) =>
        log.warn('exec could not remove the working directory', { dir: taskDir.path, err: String(err) }),
      );
    }
  }
}

/**
 * Builds the `exec` handler for validated options (see `parseExecOptions`).
 * Resolves to an {@link ExecResult} when the program exits with status 0;
 * rejects with a `NonRetryableError` for refused params (codes in
 * `ExecErrorCode`), a retryable `SjeError` for a failed, timed-out or
 * unstartable run, and the abort reason when the task's signal fires.
 * @example
 * ```ts
 * const exec = createExecHandler(parseExecOptions({ commands: { echo: { program: '/bin/echo' } } }));
 * const r = await exec({ command: 'echo', args: ['a; rm -rf /'] }, ctx);
 * r.stdout; // 'a; rm -rf /\n'
 * ```
 */
export function createExecHandler(options: ExecOptions, deps: ExecHandlerDeps = {}): PluginTaskHandler {
  return (params, ctx) => runExec(options, deps, params, ctx);
}
