/**
 * The `sje` command line: start services, show configuration, and submit,
 * inspect, cancel or wait for tasks through the executor's REST API.
 * @module
 */
import { Argument, Command, CommanderError, Option } from 'commander';
import { stringify } from 'yaml';
import { configFileOptions, ErrorCode, loadConfig, redactConfig, SjeError, type TaskInput } from '@sje/core';
import { renderConfigTable } from './config-docs.js';
import { buildTaskInput, type SubmitFlags } from './internal/submit-input.js';
import { SERVICES, serviceCommand, type ServiceId } from './service-entry.js';
import { supervise, type ChildSpec } from './supervisor.js';

/** The part of `@sje/client` the CLI uses. */
export interface TaskClient {
  submit(task: TaskInput): Promise<unknown>;
  status(taskId: string): Promise<unknown>;
  cancel(taskId: string): Promise<unknown>;
  waitFor(taskId: string, options?: { timeoutMs?: number; intervalMs?: number }): Promise<unknown>;
}

/** How to reach the executor. */
export interface ClientTarget {
  baseUrl: string;
  /** Sent as a bearer token, for a gateway that checks it. */
  apiKey?: string;
}

/** What the commands act on; tests replace parts of it. */
export interface CliDeps {
  /** Writes to standard output. */
  stdout: (text: string) => void;
  /** Writes to standard error. */
  stderr: (text: string) => void;
  /** Builds a REST client for the executor. */
  createClient: (target: ClientTarget) => TaskClient | Promise<TaskClient>;
  /** Runs service processes until they have all exited; returns the exit code. */
  runServices: (children: ChildSpec[], options: { killAfterMs: number }) => Promise<number>;
}

/** The executor URL used when neither `--url` nor `SJE_URL` is given. */
export const DEFAULT_URL = 'http://127.0.0.1:8080';

/** Time allowed, beyond the services' own shutdown grace, before stragglers are killed. */
const KILL_MARGIN_MS = 15_000;

function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && code.startsWith('SJE_ERR_') ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

/** `--url` and `--api-key`, as commander parsed them. */
interface ConnectFlags {
  url: string;
  apiKey?: string;
}

function positiveInt(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) <= 0) throw new SjeError(ErrorCode.VALIDATION, `${flag} must be a positive integer, got '${raw}'`);
  return Number(raw);
}

/** Thrown by actions to end with an exit code after printing their own message. */
class ExitError extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

/**
 * Builds the `sje` program. Actions record their exit code in `result`;
 * {@link runCli} reads it.
 */
function buildProgram(deps: CliDeps, result: { code: number }): Command {
  const program = new Command('sje')
    .description('SJE (SparkJobExecutor): a distributed task execution engine on RabbitMQ')
    .exitOverride()
    .configureOutput({ writeOut: deps.stdout, writeErr: deps.stderr })
    .showHelpAfterError();

  const json = (value: unknown): void => deps.stdout(`${JSON.stringify(value, null, 2)}\n`);
  const fail = (err: unknown): never => {
    deps.stderr(`sje: ${describeError(err)}\n`);
    throw new ExitError(1);
  };
  const urlOption = (): Option => new Option('--url <url>', 'base URL of the executor').env('SJE_URL').default(DEFAULT_URL);
  const apiKeyOption = (): Option => new Option('--api-key <key>', 'bearer token for a gateway in front of the executor').env('SJE_API_KEY');
  const client = async (opts: ConnectFlags): Promise<TaskClient> =>
    await deps.createClient(opts.apiKey === undefined ? { baseUrl: opts.url } : { baseUrl: opts.url, apiKey: opts.apiKey });

  program
    .command('start')
    .description('start SJE services: all (task-manager, worker and executor) or one of them')
    .addArgument(new Argument('<service>', 'which service').choices(['all', ...SERVICES]))
    .option('-c, --config <file>', 'YAML configuration file')
    .action(async (service: 'all' | ServiceId, opts: { config?: string }) => {
      let killAfterMs: number;
      try {
        const config = loadConfig(configFileOptions(opts.config));
        killAfterMs = Math.max(config.worker.grace_ms, config.executor.shutdown_grace_ms) + KILL_MARGIN_MS;
      } catch (err) {
        return fail(err);
      }
      const services: readonly ServiceId[] = service === 'all' ? SERVICES : [service];
      let children: ChildSpec[];
      try {
        children = services.map((s) => serviceCommand(s, opts.config));
      } catch (err) {
        return fail(err);
      }
      result.code = await deps.runServices(children, { killAfterMs });
    });

  program
    .command('config')
    .description('print the effective configuration as YAML (secrets redacted), or the table of every key')
    .option('-c, --config <file>', 'YAML configuration file')
    .option('--docs', 'print the markdown table of every configuration key')
    .action((opts: { config?: string; docs?: boolean }) => {
      if (opts.docs === true) {
        deps.stdout(renderConfigTable());
        return;
      }
      try {
        const config = loadConfig(configFileOptions(opts.config));
        deps.stdout(stringify(redactConfig(config)));
      } catch (err) {
        fail(err);
      }
    });

  program
    .command('submit')
    .description('submit a task and print the answer as JSON')
    .argument('<function>', 'name of the task handler')
    .option('-p, --params <json>', 'parameters, a JSON object')
    .option('-q, --queue <queue>', 'worker pool (task queue)')
    .option('--task-id <id>', 'your own task id (an idempotency key)')
    .option('--priority <n>', 'priority 0-9, higher first')
    .option('--depends-on <ids>', 'comma-separated ids of tasks that must succeed first')
    .option('--timeout-ms <ms>', 'time limit of one run')
    .option('--delay-ms <ms>', 'wait before the task becomes due')
    .option('--max-attempts <n>', 'attempts including the first (retry policy)')
    .option('--label <key=value...>', 'a label (repeatable)')
    .addOption(urlOption())
    .addOption(apiKeyOption())
    .action(async (fn: string, opts: SubmitFlags & ConnectFlags) => {
      try {
        json(await (await client(opts)).submit(buildTaskInput(fn, opts)));
      } catch (err) {
        fail(err);
      }
    });

  const byId = <T extends object>(command: Command, call: (c: TaskClient, id: string, opts: T & ConnectFlags) => Promise<unknown>): void => {
    command
      .argument('<task_id>', 'the task id')
      .addOption(urlOption())
      .addOption(apiKeyOption())
      .action(async (id: string, opts: T & ConnectFlags) => {
        try {
          json(await call(await client(opts), id, opts));
        } catch (err) {
          fail(err);
        }
      });
  };
  byId(program.command('status').description("print a task's status as JSON"), (c, id) => c.status(id));
  byId(program.command('cancel').description('cancel a task and print its new status as JSON'), (c, id) => c.cancel(id));
  byId<{ timeoutMs?: string; intervalMs?: string }>(
    program
      .command('wait')
      .description('wait until a task is final and print it as JSON')
      .option('--timeout-ms <ms>', 'give up after this long (default 300000)')
      .option('--interval-ms <ms>', 'time between polls (default 1000)'),
    (c, id, opts) => {
      const options: { timeoutMs?: number; intervalMs?: number } = {};
      const timeoutMs = positiveInt('--timeout-ms', opts.timeoutMs);
      const intervalMs = positiveInt('--interval-ms', opts.intervalMs);
      if (timeoutMs !== undefined) options.timeoutMs = timeoutMs;
      if (intervalMs !== undefined) options.intervalMs = intervalMs;
      return c.waitFor(id, options);
    },
  );

  return program;
}

/**
 * Runs the `sje` command line with `argv` (as `process.argv`: node, script,
 * then the arguments) and resolves with the exit code.
 * @example
 * ```ts
 * process.exitCode = await runCli(process.argv, defaultDeps());
 * ```
 */
export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  const result = { code: 0 };
  const program = buildProgram(deps, result);
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof ExitError) return err.exitCode;
    if (err instanceof CommanderError) return err.exitCode;
    deps.stderr(`sje: ${describeError(err)}\n`);
    return 1;
  }
  return result.code;
}

/**
 * The real dependencies: standard streams, `@sje/client`, and the process
 * supervisor.
 */
export function defaultDeps(): CliDeps {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    createClient: async (target) => {
      const { createClient } = await import('@sje/client');
      return createClient(target);
    },
    runServices: async (children, options) => await supervise(children, options).done,
  };
}
