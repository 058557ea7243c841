/**
 * Runs SJE services as real child processes for integration and crash tests:
 * a per-test configuration (unique topology prefix, temporary data directory,
 * free ports), `spawnService()` that starts `packages/<name>/src/main.ts`
 * with `--config`, waits for its `/readyz`, keeps its output, and can
 * `kill -9`, wait for the exit and restart it.
 *
 * @example
 * ```ts
 * const config = await testConfig({ worker: { concurrency: 2 } });
 * const tm = await spawnService('task-manager', config);
 * const worker = await spawnService('worker', config);
 * const executor = await spawnService('executor', config);
 * // ... POST `${executor.baseUrl}/submit` ...
 * tm.kill('SIGKILL');
 * await tm.waitExit();
 * await tm.restart();
 * await disposeAll();
 * ```
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, loadConfig, SjeError, type DeepPartial, type ServiceName, type SjeConfig } from '../../packages/core/src/index.js';
import { serviceCommand, serviceEntry } from '../../packages/cli/src/service-entry.js';
import { cleanupTopology, getBrokerUrl, uniquePrefix } from './broker.js';

/** Absolute path of the repository root. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Output kept per service; older output is dropped beyond this many characters. */
const MAX_OUTPUT_CHARS = 4_000_000;

const tempDirs = new Set<string>();
const configs = new Set<SjeConfig>();
const services = new Set<ServiceProcess>();
let exitHookInstalled = false;

/** The ports {@link freePort} hands out: below the kernel's ephemeral range, from which port-0 binds and outgoing connections draw theirs. */
const HANDED_PORTS = { floor: 20_000, ceiling: 32_000, perProcess: 500 } as const;
/** How many ports this process has handed out. */
let portsHanded = 0;

/** The lowest port of the kernel's ephemeral range (Linux), or undefined where it cannot be read. */
function ephemeralFloor(): number | undefined {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) ? low : undefined;
  } catch {
    return undefined;
  }
}

/** Whether nothing listens on `port` of 127.0.0.1 now (a bind succeeds). */
async function canBind(port: number): Promise<boolean> {
  return await new Promise<boolean>((resolveBind) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolveBind(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolveBind(true)));
  });
}

/** A port the kernel picks (bind to port 0, then release): free a moment ago, but any port-0 bind may take it next. */
async function kernelPickedPort(): Promise<number> {
  return await new Promise<number>((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * A TCP port of 127.0.0.1 that is free now and that no other test process is
 * handed: each test worker (`VITEST_POOL_ID`, else the process id) has its own
 * block of ports below the kernel's ephemeral range, so neither a service that
 * binds port 0 nor an outgoing connection takes it before the service it is
 * meant for starts. Where the ephemeral range starts lower (not Linux's
 * default), the kernel picks instead.
 * @example
 * ```ts
 * const port = await freePort();
 * ```
 */
export async function freePort(): Promise<number> {
  const { floor, ceiling, perProcess } = HANDED_PORTS;
  if ((ephemeralFloor() ?? 0) <= ceiling) return await kernelPickedPort();
  const blocks = Math.floor((ceiling - floor) / perProcess);
  const block = Number(process.env['VITEST_POOL_ID'] ?? process.pid) % blocks;
  for (let tries = 0; tries < perProcess; tries++) {
    const port = floor + block * perProcess + (portsHanded++ % perProcess);
    if (await canBind(port)) return port;
  }
  return await kernelPickedPort();
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const current = out[k];
    out[k] = isPlainObject(current) && isPlainObject(v) ? deepMerge(current, v) : v;
  }
  return out;
}

async function makeTempDir(kind: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `sje-test-${kind}-`));
  tempDirs.add(dir);
  return dir;
}

/**
 * A configuration for one test: the test broker, a unique topology prefix, a
 * fresh temporary `task_manager.data_dir`, port 0 everywhere (in-process
 * services pick a free port; {@link spawnService} assigns one up-front),
 * listeners on 127.0.0.1, `warn` logs, fast worker heartbeats (500 ms), a
 * 5 s worker timeout and short shutdown graces. `overrides` are merged on
 * top (lists replace). `SJE_*` variables of the test process are ignored.
 * @example
 * ```ts
 * const config = await testConfig({ topology: { queue_type: 'classic' } });
 * config.topology.prefix; // 't-1a2b3c4d'
 * ```
 */
export async function testConfig(overrides: DeepPartial<SjeConfig> = {}): Promise<SjeConfig> {
  const url = await getBrokerUrl();
  const dataDir = await makeTempDir('data');
  const base: DeepPartial<SjeConfig> = {
    amqp: { url },
    topology: { prefix: uniquePrefix() },
    log: { level: 'warn', format: 'json' },
    executor: { host: '127.0.0.1', port: 0, shutdown_grace_ms: 2000 },
    task_manager: { data_dir: dataDir, ops_port: 0, ops_host: '127.0.0.1', worker_timeout_ms: 5000 },
    worker: { ops_port: 0, ops_host: '127.0.0.1', heartbeat_ms: 500, grace_ms: 5000 },
  };
  const merged: DeepPartial<SjeConfig> = deepMerge(base, overrides);
  const config = loadConfig({ env: {}, overrides: merged });
  configs.add(config);
  return config;
}

/**
 * Deletes a test configuration's broker topology (its task queues: the
 * worker's `queues` plus `extraTaskQueues`) and the temporary data directory
 * {@link testConfig} made for it. Stop the services using it first.
 * @example
 * ```ts
 * afterAll(() => disposeTestConfig(config, ['gpu']));
 * ```
 */
export async function disposeTestConfig(config: SjeConfig, extraTaskQueues: string[] = []): Promise<void> {
  configs.delete(config);
  const queues = [...new Set([...config.worker.queues, 'default', ...extraTaskQueues])];
  await cleanupTopology(config.amqp.url, config.topology.prefix, queues);
  const dataDir = resolve(config.task_manager.data_dir);
  if (tempDirs.has(dataDir)) {
    tempDirs.delete(dataDir);
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** How a service process ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Options of {@link spawnService}. */
export interface SpawnOptions {
  /** Extra environment (e.g. `SJE_*` overrides); `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  /** Wait for `/readyz` to answer 200 before resolving. @defaultValue true */
  waitReady?: boolean;
  /** Longest wait for readiness. @defaultValue 45000 */
  readyTimeoutMs?: number;
  /** Extra command-line arguments after `--config FILE`. */
  args?: string[];
  /** Extra Node.js options before the script (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  /**
   * Run the build (`pnpm build`): `packages/<name>/dist/main.js` under the
   * `sje-compiled` condition, without tsx, instead of `src/main.ts` through tsx.
   * @defaultValue false
   */
  compiled?: boolean;
}

/** A service running as a child process. */
export interface SpawnedService {
  /** Which service. */
  readonly name: ServiceName;
  /** The configuration it was started with (its own port filled in). */
  readonly config: SjeConfig;
  /** The YAML file passed with `--config`. */
  readonly configFile: string;
  /** Its HTTP port: the REST API for the executor, the ops endpoint otherwise. */
  readonly port: number;
  /** `http://127.0.0.1:<port>`. */
  readonly baseUrl: string;
  /** Process id of the current process (changes on restart). */
  readonly pid: number | undefined;
  /** Whether the current process has not exited yet. */
  readonly running: boolean;
  /** How the last process ended, once it did. */
  readonly exitInfo: ExitInfo | undefined;
  /** Everything the service wrote to stdout and stderr, across restarts. */
  output(): string;
  /** Polls `/readyz` until it answers 200. Rejects (with the output) when the process exits or the time runs out. */
  waitReady(timeoutMs?: number): Promise<void>;
  /** Sends a signal (`SIGKILL` for a crash). @defaultValue 'SIGTERM' */
  kill(signal?: NodeJS.Signals): void;
  /** Resolves when the process has exited. Rejects after `timeoutMs`. @defaultValue 30000 */
  waitExit(timeoutMs?: number): Promise<ExitInfo>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit. Idempotent. @defaultValue 15000 */
  stop(graceMs?: number): Promise<ExitInfo>;
  /** Stops the process if it runs, then starts it again with the same config and port. */
  restart(options?: { waitReady?: boolean; readyTimeoutMs?: number }): Promise<void>;
}

function portOf(name: ServiceName, config: SjeConfig): number {
  if (name === 'executor') return config.executor.port;
  if (name === 'task-manager') return config.task_manager.ops_port;
  return config.worker.ops_port;
}

function hostOf(name: ServiceName, config: SjeConfig): string {
  const host = name === 'executor' ? config.executor.host : name === 'task-manager' ? config.task_manager.ops_host : config.worker.ops_host;
  return host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
}

function withPort(name: ServiceName, config: SjeConfig, port: number): SjeConfig {
  const copy = structuredClone(config);
  if (name === 'executor') copy.executor.port = port;
  else if (name === 'task-manager') copy.task_manager.ops_port = port;
  else copy.worker.ops_port = port;
  return copy;
}

function childEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // The YAML file is the whole truth: SJE_* variables of the test process must not leak in.
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SJE_')) env[k] = v;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Never leave services behind when the test process ends, however it ends.
  process.on('exit', () => {
    for (const s of services) s.killNow();
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class ServiceProcess implements SpawnedService {
  readonly name: ServiceName;
  readonly config: SjeConfig;
  readonly configFile: string;
  readonly port: number;
  readonly baseUrl: string;
  private readonly options: SpawnOptions;
  private readonly mainPath: string;
  private child: ChildProcess | undefined;
  private exited: Promise<ExitInfo> = Promise.resolve({ code: null, signal: null });
  private lastExit: ExitInfo | undefined;
  private buffer = '';
  private dropped = 0;
  /** Offset of output not yet shown by {@link reportServiceOutput}. */
  reportedUpTo = 0;

  constructor(name: ServiceName, config: SjeConfig, configFile: string, options: SpawnOptions) {
    this.name = name;
    this.config = config;
    this.configFile = configFile;
    this.port = portOf(name, config);
    this.baseUrl = `http://${hostOf(name, config)}:${this.port}`;
    this.options = options;
    this.mainPath = serviceEntry(name, options.compiled === true);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.lastExit === undefined;
  }

  get exitInfo(): ExitInfo | undefined {
    return this.lastExit;
  }

  /** Total characters written so far (including dropped ones). */
  get outputLength(): number {
    return this.dropped + this.buffer.length;
  }

  output(): string {
    return this.buffer;
  }

  /** Output written since character `offset` (counted over the whole life). */
  outputSince(offset: number): string {
    return this.buffer.slice(Math.max(0, offset - this.dropped));
  }

  private append(text: string): void {
    this.buffer += text;
    if (this.buffer.length > MAX_OUTPUT_CHARS) {
      const cut = this.buffer.length - MAX_OUTPUT_CHARS;
      this.buffer = this.buffer.slice(cut);
      this.dropped += cut;
    }
  }

  start(): void {
    if (this.running) throw new SjeError(ErrorCode.INTERNAL, `${this.name} is already running (pid ${String(this.pid)})`);
    if (!existsSync(this.mainPath)) throw new SjeError(ErrorCode.INTERNAL, `cannot start ${this.name}: ${this.mainPath} does not exist`);
    installExitHook();
    // The command `sje start` would run, with the test's Node options before it and its arguments after.
    const service = serviceCommand(this.name, this.configFile, this.options.compiled === true);
    const args = [...(this.options.nodeArgs ?? []), ...service.args, ...(this.options.args ?? [])];
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: childEnv(this.options.env ?? {}), stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.lastExit = undefined;
    this.append(`--- ${this.name} started, pid ${String(child.pid)} ---\n`);
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => this.append(chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => this.append(chunk));
    this.exited = new Promise<ExitInfo>((resolveExit) => {
      const finish = (info: ExitInfo): void => {
        if (this.child !== child || this.lastExit !== undefined) return resolveExit(info);
        this.lastExit = info;
        this.append(`--- ${this.name} pid ${String(child.pid)} exited (code ${String(info.code)}, signal ${String(info.signal)}) ---\n`);
        resolveExit(info);
      };
      child.once('exit', (code, signal) => finish({ code, signal }));
      child.once('error', (err) => {
        this.append(`--- ${this.name} could not be started: ${err.message} ---\n`);
        finish({ code: null, signal: null });
      });
    });
  }

  private failure(message: string): SjeError {
    const tail = this.buffer.split('\n').slice(-60).join('\n');
    return new SjeError(ErrorCode.INTERNAL, `${message}\n--- last output of ${this.name} ---\n${tail}`);
  }

  async waitReady(timeoutMs = this.options.readyTimeoutMs ?? 45_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (!this.running) throw this.failure(`${this.name} exited before it was ready (${JSON.stringify(this.lastExit)})`);
      try {
        const res = await fetch(`${this.baseUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
        const body = await res.text();
        if (res.status === 200) return;
        last = `HTTP ${res.status} ${body.slice(0, 500)}`;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
      await sleep(100);
    }
    throw this.failure(`${this.name} was not ready within ${timeoutMs} ms at ${this.baseUrl}/readyz (last: ${last})`);
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.running) this.child?.kill(signal);
  }

  /** Synchronous SIGKILL (process exit hook). */
  killNow(): void {
    if (this.running) {
      try {
        this.child?.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  async waitExit(timeoutMs = 30_000): Promise<ExitInfo> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.failure(`${this.name} (pid ${String(this.pid)}) did not exit within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(graceMs = 15_000): Promise<ExitInfo> {
    if (!this.running) return this.lastExit ?? { code: null, signal: null };
    this.kill('SIGTERM');
    try {
      return await this.waitExit(graceMs);
    } catch {
      this.kill('SIGKILL');
      return await this.waitExit(10_000);
    }
  }

  async restart(options: { waitReady?: boolean; readyTimeoutMs?: number } = {}): Promise<void> {
    await this.stop();
    this.start();
    if (options.waitReady ?? this.options.waitReady ?? true) await this.waitReady(options.readyTimeoutMs);
  }
}

let configDir: Promise<string> | undefined;

/**
 * Starts `packages/<name>/src/main.ts --config <file>` under tsx (or, with
 * `compiled`, its build `dist/main.js` with plain Node) as a real child process, with `config` written to a temporary YAML file. When the
 * service's own port (`executor.port`, `task_manager.ops_port` or
 * `worker.ops_port`) is 0, a free port is chosen first so that `/readyz` can
 * be polled; so several workers can be spawned from one config. Resolves once
 * `/readyz` answers 200 (unless `waitReady: false`).
 * @throws SjeError when `main.ts` is missing, the process exits early or is not ready in time (the message holds its last output).
 * @example
 * ```ts
 * const worker = await spawnService('worker', config, { env: { SJE_WORKER_CONCURRENCY: '1' } });
 * worker.kill('SIGKILL');
 * const { signal } = await worker.waitExit(); // 'SIGKILL'
 * ```
 */
export async function spawnService(name: ServiceName, config: SjeConfig, options: SpawnOptions = {}): Promise<SpawnedService> {
  const port = portOf(name, config) === 0 ? await freePort() : portOf(name, config);
  const concrete = withPort(name, config, port);
  configDir ??= makeTempDir('config');
  const file = join(await configDir, `${name}-${port}-${Date.now().toString(36)}.yaml`);
  // JSON is valid YAML: no YAML library needed at the root.
  await writeFile(file, `${JSON.stringify(concrete, null, 2)}\n`);
  const service = new ServiceProcess(name, concrete, file, options);
  services.add(service);
  service.start();
  if (options.waitReady ?? true) {
    try {
      await service.waitReady();
    } catch (err) {
      await service.stop(5000);
      throw err;
    }
  }
  return service;
}

/**
 * Writes the output of every spawned service not shown before to stderr
 * (called by the integration setup after a failed test).
 * @example
 * ```ts
 * afterEach(({ task }) => { if (task.result?.state === 'fail') reportServiceOutput(); });
 * ```
 */
export function reportServiceOutput(): void {
  for (const s of services) {
    const text = s.outputSince(s.reportedUpTo);
    s.reportedUpTo = s.outputLength;
    if (text.length === 0) continue;
    process.stderr.write(`\n===== output of ${s.name} (${s.baseUrl}) =====\n${text}${text.endsWith('\n') ? '' : '\n'}===== end of ${s.name} =====\n`);
  }
}

/**
 * Stops every spawned service (SIGTERM, then SIGKILL), deletes the topology of
 * every config made by {@link testConfig} and not disposed yet, and removes the
 * temporary files. Runs after each integration test file.
 * @example
 * ```ts
 * afterAll(() => disposeAll());
 * ```
 */
export async function disposeAll(): Promise<void> {
  await Promise.all([...services].map((s) => s.stop(10_000)));
  services.clear();
  for (const config of [...configs]) {
    try {
      await disposeTestConfig(config);
    } catch (err) {
      process.stderr.write(`could not clean up topology ${config.topology.prefix}: ${String(err)}\n`);
    }
  }
  for (const dir of [...tempDirs]) await rm(dir, { recursive: true, force: true });
  tempDirs.clear();
  configDir = undefined;
}
