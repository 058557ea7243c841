import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createLogger, ErrorCode, NonRetryableError, SjeError, type Logger, type PluginTaskContext } from '@sje/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ExecErrorCode } from './exec-errors.js';
import { createExecHandler, type ExecResult } from './exec-handler.js';
import { parseExecOptions, type ExecOptions } from './exec-options.js';

const silent = createLogger({ service: 'worker', silent: true });

let base: string;
let root: string;
let outside: string;

beforeAll(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'sje-exec-test-')));
  root = join(base, 'work');
  outside = join(base, 'outside');
  await mkdir(outside);
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

const COMMANDS = {
  echo: { program: '/bin/echo' },
  printf: { program: '/usr/bin/printf', args: ['%s\\n'] },
  env: { program: '/usr/bin/env' },
  pwd: { program: '/bin/pwd', args: ['-P'] },
  cat: { program: '/bin/cat' },
  fail: { program: '/bin/sh', args: ['-c', 'echo partial; echo oops >&2; exit 3'] },
  selfkill: { program: '/bin/sh', args: ['-c', 'kill -USR1 $$; sleep 5'] },
  sleep: { program: '/bin/sleep', args: ['30'] },
  sleepers: { program: '/bin/sh', args: ['-c', 'sleep 30 & sleep 30'] },
  stubborn: { program: '/bin/sh', args: ['-c', "trap '' TERM; sleep 30"] },
  leftover: { program: '/bin/sh', args: ['-c', 'sleep 30 & echo started'] },
  slow: { program: '/bin/sleep', args: ['30'], timeout_ms: 300 },
  flood: {
    program: '/bin/sh',
    args: ['-c', 'i=0; while [ $i -lt 200 ]; do echo 0123456789012345678901234567890123456789; i=$((i+1)); done; echo tiny >&2'],
  },
  missing: { program: '/nonexistent/sje-no-such-program' },
} as const;

interface Harness {
  options: ExecOptions;
  run: (params: unknown, over?: Partial<PluginTaskContext>) => Promise<ExecResult>;
  spawned: number[];
  controller: AbortController;
  taskId: string;
}

function harness(extra: Record<string, unknown> = {}): Harness {
  const options = parseExecOptions({ work_root: root, commands: COMMANDS, kill_grace_ms: 1000, ...extra });
  const spawned: number[] = [];
  const handler = createExecHandler(options, { onSpawn: (pid) => spawned.push(pid) });
  const controller = new AbortController();
  const taskId = `t-${randomUUID().slice(0, 8)}`;
  const run = async (params: unknown, over: Partial<PluginTaskContext> = {}): Promise<ExecResult> => {
    const ctx: PluginTaskContext = { taskId, attempt: 1, signal: controller.signal, progress: () => undefined, log: silent, ...over };
    return (await handler(params as Record<string, unknown>, ctx)) as ExecResult;
  };
  return { options, run, spawned, controller, taskId };
}

async function rejection(p: Promise<unknown>): Promise<SjeError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(SjeError);
    return err as SjeError;
  }
  throw new Error('expected the run to fail');
}

/** Pids of the processes in process group `pgid` (Linux /proc). */
function groupMembers(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

async function waitFor(check: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function groupErrno(pgid: number): unknown {
  try {
    process.kill(-pgid, 0);
    return undefined;
  } catch (err) {
    return (err as { code?: unknown }).code;
  }
}

/**
 * The group has no running member now, and is gone for the kernel (ESRCH)
 * once PID 1 has reaped the orphaned zombies, which some inits do only
 * every second or so.
 */
async function expectGroupGone(pgid: number): Promise<void> {
  expect(pgid).toBeGreaterThan(0);
  expect(groupMembers(pgid)).toEqual([]);
  await waitFor(() => groupErrno(pgid) === 'ESRCH', 3000);
  expect(groupErrno(pgid)).toBe('ESRCH');
}

afterEach(() => {
  delete process.env['SJE_TEST_SECRET'];
  delete process.env['SJE_TEST_VISIBLE'];
});

describe('exec handler: runs', () => {
  it('runs an allow-listed command with the caller’s args and captures its output', async () => {
    const h = harness();
    const r = await h.run({ command: 'echo', args: ['hello', 'world'] });
    expect(r).toMatchObject({ exit_code: 0, stdout: 'hello world\n', stderr: '', truncated: { stdout: false, stderr: false } });
    expect(r.duration_ms).toBeGreaterThanOrEqual(0);
    expect(h.spawned).toHaveLength(1);
  });

  it('puts the fixed args of the command before the caller’s', async () => {
    const r = await harness().run({ command: 'printf', args: ['a', 'b'] });
    expect(r.stdout).toBe('a\nb\n');
  });

  it('feeds stdin to the program', async () => {
    const r = await harness().run({ command: 'cat', stdin: 'line one\nline two\n' });
    expect(r.stdout).toBe('line one\nline two\n');
  });

  it('fails a non-zero exit with SJE_ERR_EXEC_EXIT, retryable, with the exit code and stderr tail', async () => {
    const err = await rejection(harness().run({ command: 'fail' }));
    expect(err).not.toBeInstanceOf(NonRetryableError);
    expect(err.code).toBe(ExecErrorCode.EXIT);
    expect(err.retryable).toBe(true);
    expect(err.data).toMatchObject({ command: 'fail', exit_code: 3, signal: null, stderr_tail: 'oops\n' });
  });

  it('fails a run killed by a signal with SJE_ERR_EXEC_EXIT naming the signal', async () => {
    const err = await rejection(harness().run({ command: 'selfkill' }));
    expect(err.code).toBe(ExecErrorCode.EXIT);
    expect(err.retryable).toBe(true);
    expect(err.data).toMatchObject({ exit_code: null, signal: 'SIGUSR1' });
  });

  it('reports a program that cannot start as SJE_ERR_EXEC_SPAWN (retryable)', async () => {
    const err = await rejection(harness().run({ command: 'missing' }));
    expect(err.code).toBe(ExecErrorCode.SPAWN);
    expect(err.retryable).toBe(true);
    expect(err.data).toMatchObject({ errno: 'ENOENT' });
  });

  it('runs in the task’s own directory, in a cwd sub-directory, and removes it afterwards', async () => {
    const h = harness();
    const r = await h.run({ command: 'pwd', cwd: 'a/b' });
    expect(r.stdout).toBe(`${join(root, h.taskId, 'a', 'b')}\n`);
    expect(existsSync(join(root, h.taskId))).toBe(false);
  });

  it('keeps the working directory with keep_workdir', async () => {
    const h = harness({ keep_workdir: true });
    const r = await h.run({ command: 'pwd' });
    expect(r.stdout).toBe(`${join(root, h.taskId)}\n`);
    expect(existsSync(join(root, h.taskId))).toBe(true);
  });

  it('follows a symlink that stays inside the task directory', async () => {
    const h = harness();
    const taskDir = join(root, h.taskId);
    await mkdir(join(taskDir, 'real'), { recursive: true });
    await symlink(join(taskDir, 'real'), join(taskDir, 'alias'));
    const r = await h.run({ command: 'pwd', cwd: 'alias' });
    expect(r.stdout).toBe(`${join(taskDir, 'real')}\n`);
  });

  it('logs each output line with the task id', async () => {
    const stream = new PassThrough();
    const chunks: string[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
    const log: Logger = createLogger({ service: 'worker', format: 'json', stream });
    const h = harness();
    await h.run({ command: 'printf', args: ['first', 'second'] }, { log });
    await new Promise((r) => setImmediate(r));
    const lines = chunks
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l['message'] === 'exec output');
    expect(lines.map((l) => l['line'])).toEqual(['first', 'second']);
    expect(lines.every((l) => l['task_id'] === h.taskId && l['stream'] === 'stdout')).toBe(true);
  });
});

describe('exec handler: no shell', () => {
  const hostile = (dir: string): string[] => [
    `; rm -rf ${join(dir, 'victim')}`,
    `$(touch ${join(dir, 'pwned')})`,
    '`id`',
    '| cat /etc/passwd',
    '&& echo hacked',
    `> ${join(dir, 'out')}`,
    "'; touch x; '",
    '*',
  ];

  it('passes shell metacharacters to the program verbatim (printf)', async () => {
    const dir = await mkdtemp(join(base, 'inj-'));
    await mkdir(join(dir, 'victim'));
    await writeFile(join(dir, 'victim', 'keep'), 'data');
    const args = hostile(dir);
    const r = await harness().run({ command: 'printf', args });
    expect(r.stdout).toBe(args.map((a) => `${a}\n`).join(''));
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
    expect(existsSync(join(dir, 'out'))).toBe(false);
    expect(readFileSync(join(dir, 'victim', 'keep'), 'utf8')).toBe('data');
    expect(r.stdout).not.toContain('uid=');
    expect(r.stdout).not.toContain('root:');
  });

  it('passes shell metacharacters to the program verbatim (echo)', async () => {
    const dir = await mkdtemp(join(base, 'inj-'));
    const args = hostile(dir);
    const r = await harness().run({ command: 'echo', args });
    expect(r.stdout).toBe(`${args.join(' ')}\n`);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('exec handler: refusals (nothing runs)', () => {
  const refused = async (params: unknown, code: string, setup?: (h: Harness) => Promise<void>): Promise<SjeError> => {
    const h = harness();
    await setup?.(h);
    const err = await rejection(h.run(params));
    expect(err).toBeInstanceOf(NonRetryableError);
    expect(err.retryable).toBe(false);
    expect(err.code).toBe(code);
    expect(h.spawned).toEqual([]);
    return err;
  };

  it('refuses an unlisted command', async () => {
    await refused({ command: 'rm', args: ['-rf', '/'] }, ExecErrorCode.COMMAND_NOT_ALLOWED);
  });

  it('refuses a program path given as the command', async () => {
    await refused({ command: '/bin/sh', args: ['-c', 'id'] }, ExecErrorCode.COMMAND_NOT_ALLOWED);
    await refused({ command: '/bin/echo' }, ExecErrorCode.COMMAND_NOT_ALLOWED);
  });

  it('refuses ../ and inherited property names in the command', async () => {
    await refused({ command: '../echo' }, ExecErrorCode.COMMAND_NOT_ALLOWED);
    await refused({ command: 'echo/../../bin/sh' }, ExecErrorCode.COMMAND_NOT_ALLOWED);
    await refused({ command: 'constructor' }, ExecErrorCode.COMMAND_NOT_ALLOWED);
    await refused({ command: '__proto__' }, ExecErrorCode.COMMAND_NOT_ALLOWED);
  });

  it('refuses a cwd that climbs out with ..', async () => {
    await refused({ command: 'pwd', cwd: '../..' }, ExecErrorCode.PATH_ESCAPE);
    await refused({ command: 'pwd', cwd: 'a/../../b' }, ExecErrorCode.PATH_ESCAPE);
    await refused({ command: 'pwd', cwd: '..' }, ExecErrorCode.PATH_ESCAPE);
  });

  it('refuses an absolute cwd', async () => {
    await refused({ command: 'pwd', cwd: '/etc' }, ExecErrorCode.PATH_ESCAPE);
    await refused({ command: 'pwd', cwd: '/' }, ExecErrorCode.PATH_ESCAPE);
  });

  it('refuses a cwd through a symlink that points outside, creating nothing outside', async () => {
    const plant = async (h: Harness): Promise<void> => {
      await mkdir(join(root, h.taskId), { recursive: true });
      await symlink(outside, join(root, h.taskId, 'link'));
    };
    await refused({ command: 'pwd', cwd: 'link' }, ExecErrorCode.PATH_ESCAPE, plant);
    await refused({ command: 'pwd', cwd: 'link/sub/deeper' }, ExecErrorCode.PATH_ESCAPE, plant);
    expect(readdirSync(outside)).toEqual([]);
  });

  it('refuses a cwd through a dangling symlink', async () => {
    await refused({ command: 'pwd', cwd: 'dangling' }, ExecErrorCode.PATH_ESCAPE, async (h) => {
      await mkdir(join(root, h.taskId), { recursive: true });
      await symlink(join(outside, 'nothing-here'), join(root, h.taskId, 'dangling'));
    });
    expect(readdirSync(outside)).toEqual([]);
  });

  it('refuses unknown params and params of the wrong shape', async () => {
    await refused({ command: 'echo', shell: true }, ExecErrorCode.INVALID_PARAMS);
    await refused({ command: 'echo', program: '/bin/sh' }, ExecErrorCode.INVALID_PARAMS);
    await refused({ args: ['x'] }, ExecErrorCode.INVALID_PARAMS);
    await refused({ command: 'cat', stdin: 42 }, ExecErrorCode.INVALID_PARAMS);
    await refused({ command: 'pwd', cwd: 7 }, ExecErrorCode.INVALID_PARAMS);
    await refused(['echo'], ExecErrorCode.INVALID_PARAMS);
  });

  it('refuses args that are not a list of plain strings within limits', async () => {
    await refused({ command: 'echo', args: 'a b' }, ExecErrorCode.INVALID_ARGS);
    await refused({ command: 'echo', args: ['a', 1] }, ExecErrorCode.INVALID_ARGS);
    await refused({ command: 'echo', args: [{ toString: 'x' }] }, ExecErrorCode.INVALID_ARGS);
    await refused({ command: 'echo', args: [null] }, ExecErrorCode.INVALID_ARGS);
    await refused({ command: 'echo', args: ['a\0b'] }, ExecErrorCode.INVALID_ARGS);
    await refused({ command: 'echo', args: ['x'.repeat(4097)] }, ExecErrorCode.INVALID_ARGS);
    await refused({ command: 'echo', args: Array.from({ length: 257 }, () => 'x') }, ExecErrorCode.INVALID_ARGS);
  });

  it('accepts the largest allowed args', async () => {
    const r = await harness({ max_output_bytes: 2_000_000 }).run({
      command: 'printf',
      args: Array.from({ length: 256 }, () => 'y'.repeat(4096)),
    });
    expect(r.stdout.length).toBe(256 * 4097);
  });

  it('refuses env variables not listed in env_allow_params', async () => {
    await refused({ command: 'env', env: { LD_PRELOAD: '/tmp/evil.so' } }, ExecErrorCode.ENV_NOT_ALLOWED);
    await refused({ command: 'env', env: { PATH: '/tmp' } }, ExecErrorCode.ENV_NOT_ALLOWED);
  });
});

describe('exec handler: environment', () => {
  const envOf = (stdout: string): Record<string, string> =>
    Object.fromEntries(
      stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );

  it('hides the worker’s variables except the allowed ones', async () => {
    process.env['SJE_TEST_SECRET'] = 'hunter2';
    process.env['SJE_TEST_VISIBLE'] = 'yes';
    const r = await harness({ env_allow: ['PATH', 'LANG', 'SJE_TEST_VISIBLE'] }).run({ command: 'env' });
    const env = envOf(r.stdout);
    expect(r.stdout).not.toContain('hunter2');
    expect(env['SJE_TEST_SECRET']).toBeUndefined();
    expect(env['SJE_TEST_VISIBLE']).toBe('yes');
    expect(env['PATH']).toBe(process.env['PATH']);
    const allowed = new Set(['PATH', 'LANG', 'SJE_TEST_VISIBLE']);
    expect(Object.keys(env).filter((k) => !allowed.has(k))).toEqual([]);
  });

  it('adds the fixed env and the variables a task may set', async () => {
    process.env['SJE_TEST_SECRET'] = 'hunter2';
    const h = harness({ env: { OMP_NUM_THREADS: '4' }, env_allow_params: ['SIM_MODE'] });
    const env = envOf((await h.run({ command: 'env', env: { SIM_MODE: 'fast' } })).stdout);
    expect(env).toMatchObject({ OMP_NUM_THREADS: '4', SIM_MODE: 'fast' });
    expect(env['SJE_TEST_SECRET']).toBeUndefined();
  });
});

describe('exec handler: stopping', () => {
  it('kills the whole process group when the task is cancelled', async () => {
    const h = harness();
    const running = h.run({ command: 'sleepers' });
    await waitFor(() => h.spawned.length === 1 && groupMembers(h.spawned[0] ?? 0).length >= 3);
    const pgid = h.spawned[0] ?? 0;
    const started = Date.now();
    h.controller.abort('cancelled');
    const err = await rejection(running);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(err.code).toBe(ErrorCode.TASK_CANCELLED);
    expect(err.data).toMatchObject({ reason: 'cancelled' });
    await expectGroupGone(pgid);
    expect(existsSync(join(root, h.taskId))).toBe(false);
  });

  it('ends a sleep aborted through the signal within a few seconds, rejecting with the reason', async () => {
    const h = harness();
    const running = h.run({ command: 'sleep' });
    await waitFor(() => h.spawned.length === 1);
    const reason = new SjeError(ErrorCode.TASK_TIMEOUT, 'deadline');
    const started = Date.now();
    h.controller.abort(reason);
    await expect(running).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(3000);
    await expectGroupGone(h.spawned[0] ?? 0);
  });

  it('maps a timed_out abort to SJE_ERR_TASK_TIMEOUT', async () => {
    const h = harness();
    const running = h.run({ command: 'sleep' });
    await waitFor(() => h.spawned.length === 1);
    h.controller.abort('timed_out');
    const err = await rejection(running);
    expect(err.code).toBe(ErrorCode.TASK_TIMEOUT);
  });

  it('does not start a run whose signal already fired', async () => {
    const h = harness();
    h.controller.abort('cancelled');
    const err = await rejection(h.run({ command: 'echo' }));
    expect(err.code).toBe(ErrorCode.TASK_CANCELLED);
    expect(h.spawned).toEqual([]);
  });

  it('SIGKILLs a group that ignores SIGTERM after kill_grace_ms', async () => {
    const h = harness({ kill_grace_ms: 300 });
    const running = h.run({ command: 'stubborn' });
    await waitFor(() => h.spawned.length === 1 && groupMembers(h.spawned[0] ?? 0).length >= 2);
    const started = Date.now();
    h.controller.abort('cancelled');
    await rejection(running);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(Date.now() - started).toBeLessThan(3000);
    await expectGroupGone(h.spawned[0] ?? 0);
  });

  it('stops the group at the command’s timeout_ms with SJE_ERR_EXEC_TIMEOUT', async () => {
    const h = harness();
    const err = await rejection(h.run({ command: 'slow' }));
    expect(err.code).toBe(ExecErrorCode.TIMEOUT);
    expect(err.retryable).toBe(true);
    expect(err.data).toMatchObject({ timeout_ms: 300 });
    await expectGroupGone(h.spawned[0] ?? 0);
  });

  it('stops what a program left running in its group when it exits', async () => {
    const h = harness();
    const started = Date.now();
    const r = await h.run({ command: 'leftover' });
    expect(r.stdout).toBe('started\n');
    expect(Date.now() - started).toBeLessThan(3000);
    await expectGroupGone(h.spawned[0] ?? 0);
  });
});

describe('exec handler: output cap', () => {
  it('keeps max_output_bytes of a stream and flags the truncation', async () => {
    const r = await harness({ max_output_bytes: 1000 }).run({ command: 'flood' });
    const full = '0123456789012345678901234567890123456789\n'.repeat(200);
    expect(r.stdout).toBe(full.slice(0, 1000));
    expect(r.truncated).toEqual({ stdout: true, stderr: false });
    expect(r.stderr).toBe('tiny\n');
  });

  it('does not flag output that fits', async () => {
    const r = await harness({ max_output_bytes: 8200 }).run({ command: 'flood' });
    expect(r.stdout).toHaveLength(8200);
    expect(r.truncated.stdout).toBe(false);
  });
});
