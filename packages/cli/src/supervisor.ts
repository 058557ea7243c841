/**
 * A small process supervisor for `sje start`: starts children, forwards
 * SIGINT/SIGTERM/SIGHUP to them, stops the others when one dies
 * unexpectedly, and settles with an exit code once all have exited.
 * @module
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';

/** A child to start. */
export interface ChildSpec {
  /** Label in messages. */
  name: string;
  command: string;
  args: string[];
  /** @defaultValue process.env */
  env?: NodeJS.ProcessEnv;
  /** @defaultValue process.cwd() */
  cwd?: string;
}

/** Anything that emits signals like `process` does (tests pass an EventEmitter). */
export interface SignalSource {
  on(event: NodeJS.Signals, listener: () => void): unknown;
  off(event: NodeJS.Signals, listener: () => void): unknown;
}

/** Options of {@link supervise}. */
export interface SupervisorOptions {
  /** @defaultValue 'inherit' */
  stdio?: StdioOptions;
  /** Once a stop was asked for, children still running after this long are killed. @defaultValue 60000 */
  killAfterMs?: number;
  /** Where the supervisor listens for signals to forward. @defaultValue process */
  signals?: SignalSource;
  /** Where the supervisor writes its own messages. @defaultValue a line on stderr */
  log?: (message: string) => void;
}

/** How one child ended. */
export interface ChildExit {
  name: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Whether it counts as a failure. */
  failed: boolean;
}

/** A running group of children. */
export interface Supervisor {
  /** The children, by name. */
  readonly children: ReadonlyMap<string, ChildProcess>;
  /** Asks every child still running to stop (`SIGTERM` unless told otherwise). */
  stop(signal?: NodeJS.Signals): void;
  /** Settles with 0 when every child ended well, 1 otherwise, once all have exited. */
  readonly done: Promise<number>;
  /** How each child ended, in order of exit. */
  readonly exits: readonly ChildExit[];
}

const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Starts `specs` as child processes, each in its own process group (so a
 * terminal's Ctrl-C reaches the children once, through the supervisor).
 *
 * - A signal to the supervisor is forwarded to every running child (`SIGHUP`
 *   as `SIGTERM`); a second one is forwarded again.
 * - A child that exits while the others still run and no stop was asked for
 *   died unexpectedly: the others are stopped and the result is 1.
 * - A child exiting non-zero, or killed by a signal nobody asked for, fails
 *   the group; one that ends on the signal it was asked to stop with does not.
 * - Children still running `killAfterMs` after a stop are killed (`SIGKILL`).
 *
 * @example
 * ```ts
 * const sup = supervise([{ name: 'a', command: process.execPath, args: ['a.js'] }]);
 * process.exitCode = await sup.done;
 * ```
 */
export function supervise(specs: readonly ChildSpec[], options: SupervisorOptions = {}): Supervisor {
  const log = options.log ?? ((m: string) => process.stderr.write(`sje: ${m}\n`));
  const signals = options.signals ?? process;
  const killAfterMs = options.killAfterMs ?? 60_000;
  const children = new Map<string, ChildProcess>();
  const running = new Set<string>();
  const exits: ChildExit[] = [];
  let stopRequested = false;
  let killTimer: NodeJS.Timeout | undefined;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));

  const send = (name: string, signal: NodeJS.Signals): void => {
    const child = children.get(name);
    if (child?.pid === undefined) return;
    try {
      // Each child leads its own process group: signal the group so anything it started stops too.
      if (process.platform === 'win32') child.kill(signal);
      else process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  };

  const stop = (signal: NodeJS.Signals = 'SIGTERM'): void => {
    stopRequested = true;
    for (const name of running) send(name, signal);
    if (killTimer === undefined && running.size > 0) {
      killTimer = setTimeout(() => {
        for (const name of running) {
          log(`${name} did not stop within ${killAfterMs} ms; killing it`);
          send(name, 'SIGKILL');
        }
      }, killAfterMs);
      killTimer.unref();
    }
  };

  const handlers = new Map<NodeJS.Signals, () => void>();
  for (const sig of FORWARDED) {
    const handler = (): void => stop(sig === 'SIGHUP' ? 'SIGTERM' : sig);
    handlers.set(sig, handler);
    signals.on(sig, handler);
  }

  // If this process ends first (a crash), do not leave the children behind.
  const onParentExit = (): void => {
    for (const name of running) send(name, 'SIGTERM');
  };
  process.once('exit', onParentExit);

  const finish = (): void => {
    for (const [sig, handler] of handlers) signals.off(sig, handler);
    process.off('exit', onParentExit);
    if (killTimer !== undefined) clearTimeout(killTimer);
    resolveDone(exits.some((e) => e.failed) ? 1 : 0);
  };

  const onExit = (name: string, code: number | null, signal: NodeJS.Signals | null): void => {
    if (!running.delete(name)) return;
    const unexpected = !stopRequested && running.size > 0;
    const failed = unexpected || (code !== null && code !== 0) || (signal !== null && (!stopRequested || signal === 'SIGKILL'));
    exits.push({ name, code, signal, failed });
    const how = signal === null ? `with code ${code ?? 0}` : `on ${signal}`;
    if (unexpected) {
      log(`${name} exited ${how}; stopping the others`);
      stop('SIGTERM');
    } else if (failed) log(`${name} exited ${how}`);
    if (running.size === 0) finish();
  };

  for (const spec of specs) {
    const child = spawn(spec.command, spec.args, {
      stdio: options.stdio ?? 'inherit',
      env: spec.env ?? process.env,
      cwd: spec.cwd ?? process.cwd(),
      detached: process.platform !== 'win32',
    });
    children.set(spec.name, child);
    running.add(spec.name);
    child.once('exit', (code, signal) => onExit(spec.name, code, signal));
    child.once('error', (err) => {
      if (child.pid === undefined) {
        log(`${spec.name} could not start: ${err.message}`);
        onExit(spec.name, 1, null);
      }
    });
  }
  if (specs.length === 0) finish();

  return { children, stop, done, exits };
}
