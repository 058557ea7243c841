/**
 * The stack of the fault tests: a test configuration whose workers also load
 * the misbehaving handlers of `test/fixtures/handlers.ts`, with short
 * liveness timeouts, and helpers to start the three services of it.
 *
 * @example
 * ```ts
 * const stack = await startStack(await faultConfig(), { workers: 2 });
 * stack.workers[0]!.kill('SIGKILL');
 * ```
 * @module
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { DeepPartial, SjeConfig } from '../../../packages/core/src/index.js';
import { freePort, REPO_ROOT, spawnService, testConfig, type SpawnedService, type SpawnOptions } from '../../helpers/stack.js';

/** The fixture handler module (`crash_worker`, `record_run`, `stubborn`, `long_first_run`). */
export const FIXTURE_HANDLERS = join(REPO_ROOT, 'test', 'fixtures', 'handlers.ts');

/** Worker silence after which the task-manager re-queues its tasks, in these tests. */
export const FAULT_WORKER_TIMEOUT_MS = 3000;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merge<T>(base: T, over: DeepPartial<T> | undefined): T {
  if (over === undefined) return base;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over as Record<string, unknown>)) {
    if (v === undefined) continue;
    const current = out[k];
    out[k] = isPlainObject(current) && isPlainObject(v) ? merge(current, v) : v;
  }
  return out as T;
}

/**
 * A test configuration for fault tests: the fixture handlers on every worker,
 * a {@link FAULT_WORKER_TIMEOUT_MS} worker timeout, 500 ms heartbeats, fast
 * reconnects, and a task-manager ops port chosen up-front so that the
 * executor's `/status` fallback (`executor.task_manager_urls`) points at it.
 */
export async function faultConfig(overrides: DeepPartial<SjeConfig> = {}): Promise<SjeConfig> {
  const tmPort = await freePort();
  return await testConfig(
    merge<DeepPartial<SjeConfig>>(
      {
        amqp: { reconnect_initial_ms: 100, reconnect_max_ms: 1000 },
        executor: { task_manager_urls: [`http://127.0.0.1:${tmPort}`] },
        task_manager: { ops_port: tmPort, worker_timeout_ms: FAULT_WORKER_TIMEOUT_MS },
        worker: { handlers: ['@sje/examples', FIXTURE_HANDLERS], heartbeat_ms: 500 },
      },
      overrides,
    ),
  );
}

/** A copy of `config` with `overrides` merged in (lists replace). */
export function variant(config: SjeConfig, overrides: DeepPartial<SjeConfig>): SjeConfig {
  return merge<SjeConfig>(structuredClone(config), overrides);
}

/** A PostgreSQL table prefix no other test uses, e.g. `ft_1a2b3c4d_`. */
export function uniqueTablePrefix(): string {
  return `ft_${randomUUID().slice(0, 8)}_`;
}

/** The services of one test. */
export interface Stack {
  taskManager: SpawnedService;
  executor: SpawnedService;
  workers: SpawnedService[];
  /** The executor's base URL. */
  api: string;
}

/** Options of {@link startStack}. */
export interface StackOptions {
  /** Workers to start. @defaultValue 1 */
  workers?: number;
  /** Spawn options of the workers. */
  workerOptions?: SpawnOptions;
}

/** Starts a task-manager, an executor and `workers` workers from `config`, in parallel. */
export async function startStack(config: SjeConfig, options: StackOptions = {}): Promise<Stack> {
  const n = options.workers ?? 1;
  const [taskManager, executor, workers] = await Promise.all([
    spawnService('task-manager', config),
    spawnService('executor', config),
    Promise.all(Array.from({ length: n }, () => spawnService('worker', config, options.workerOptions ?? {}))),
  ]);
  return { taskManager, executor, workers, api: executor.baseUrl };
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `cond` every `pollMs` until it holds.
 * @throws Error naming `what` after `timeoutMs`.
 */
export async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000, pollMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(pollMs);
  }
}

/**
 * Prints one measured figure of a fault test (collected into
 * docs/reliability.md), as `[reliability] <test> | <name>: <value>`.
 */
export function figure(test: string, name: string, value: string | number): void {
  console.log(`[reliability] ${test} | ${name}: ${value}`);
}
