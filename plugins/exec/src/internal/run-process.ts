/**
 * Runs one program in its own process group, without a shell, and waits for
 * it: captures its output, stops the whole group on abort or timeout, and
 * stops whatever the program left running in its group when it exits.
 */
import { spawn } from 'node:child_process';
import { OutputCapture, type CapturedOutput } from './output-capture.js';
import { stopGroup, type GroupStop } from './process-group.js';

/** Which stream a line came from. */
export type StreamName = 'stdout' | 'stderr';

/** What to run and how. */
export interface ProcessSpec {
  /** Absolute path of the program. */
  program: string;
  /** Its arguments (argv[1..]), passed verbatim. */
  args: readonly string[];
  /** Directory to run in. */
  cwd: string;
  /** The whole environment of the program. */
  env: Record<string, string>;
  /** Written to standard input, which is then closed. */
  stdin: string;
  /** Bytes kept of each of stdout and stderr. */
  maxOutputBytes: number;
  /** SIGTERM → SIGKILL delay when the group is stopped. */
  killGraceMs: number;
  /** Stop the run after this long. */
  timeoutMs?: number;
  /** Stops the run when fired. */
  signal: AbortSignal;
  /** Each kept output line. */
  onLine: (stream: StreamName, line: string) => void;
  /** A stream went past `maxOutputBytes`. */
  onTruncate: (stream: StreamName) => void;
  /** The program started with this pid (also its process group id). */
  onSpawn?: (pid: number) => void;
}

/** How a run ended. */
export interface ProcessOutcome {
  /** Exit status, `null` when killed by a signal or never started. */
  exitCode: number | null;
  /** The signal that killed the program, if any. */
  signal: NodeJS.Signals | null;
  /** Why the plugin stopped the run, if it did. */
  stopped: 'aborted' | 'timeout' | undefined;
  /** How stopping the group went, when it had to be stopped. */
  groupStop: GroupStop | undefined;
  /** The error that prevented the start (ENOENT, EACCES), if any. */
  spawnError: Error | undefined;
  stdout: CapturedOutput;
  stderr: CapturedOutput;
  /** Last bytes of stderr, as text. */
  stderrTail: string;
  /** From the start to the end of the run (program and group gone, output read). */
  durationMs: number;
  /** The pid (and process group id), when the program started. */
  pid: number | undefined;
}

/**
 * Runs `spec.program`; never rejects (a failure to start is reported in
 * `spawnError`).
 * @example
 * ```ts
 * const o = await runProcess({ program: '/bin/echo', args: ['hi'], cwd: '/tmp', env: {}, stdin: '', maxOutputBytes: 1024,
 *   killGraceMs: 2000, signal: new AbortController().signal, onLine: () => {}, onTruncate: () => {} });
 * o.stdout.text; // 'hi\n'
 * ```
 */
export function runProcess(spec: ProcessSpec): Promise<ProcessOutcome> {
  return new Promise<ProcessOutcome>((resolve) => {
    const started = performance.now();
    const out = new OutputCapture({
      maxBytes: spec.maxOutputBytes,
      onLine: (l) => spec.onLine('stdout', l),
      onTruncate: () => spec.onTruncate('stdout'),
    });
    const err = new OutputCapture({
      maxBytes: spec.maxOutputBytes,
      onLine: (l) => spec.onLine('stderr', l),
      onTruncate: () => spec.onTruncate('stderr'),
    });
    let stopped: ProcessOutcome['stopped'];
    let stopping: Promise<GroupStop> | undefined;
    let spawnError: Error | undefined;
    let exitCode: number | null = null;
    let exitSignal: NodeJS.Signals | null = null;
    let timer: NodeJS.Timeout | undefined;
    let settled = false;

    const child = spawn(spec.program, [...spec.args], {
      shell: false,
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    const pid = child.pid;

    const stopAll = (): Promise<GroupStop> | undefined => {
      if (pid === undefined) return undefined;
      stopping ??= stopGroup(pid, { graceMs: spec.killGraceMs });
      return stopping;
    };
    const stop = (why: 'aborted' | 'timeout'): void => {
      if (settled || stopped !== undefined) return;
      stopped = why;
      void stopAll();
    };
    const onAbort = (): void => stop('aborted');

    const finish = async (): Promise<void> => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      spec.signal.removeEventListener('abort', onAbort);
      const groupStop = stopping ? await stopping : undefined;
      out.end();
      err.end();
      resolve({
        exitCode,
        signal: exitSignal,
        stopped,
        groupStop,
        spawnError,
        stdout: out.result(),
        stderr: err.result(),
        stderrTail: err.tail(),
        durationMs: Math.round(performance.now() - started),
        pid,
      });
    };

    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    // A program that does not read its input closes the pipe: not an error of the run.
    child.stdin.on('error', () => undefined);
    child.on('error', (e) => {
      spawnError ??= e;
      if (pid === undefined) {
        child.stdout.destroy();
        child.stderr.destroy();
        child.stdin.destroy();
        void finish();
      }
    });
    child.on('exit', (code, signal) => {
      exitCode = code;
      exitSignal = signal;
      // What the program left behind in its group goes with it.
      void stopAll();
    });
    child.on('close', () => void finish());

    if (pid === undefined) return;
    spec.onSpawn?.(pid);
    if (spec.signal.aborted) stop('aborted');
    else spec.signal.addEventListener('abort', onAbort, { once: true });
    if (spec.timeoutMs !== undefined) timer = setTimeout(() => stop('timeout'), spec.timeoutMs);
    child.stdin.end(spec.stdin);
  });
}
