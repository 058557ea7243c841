/**
 * Per-task working directories under `work_root`, confined: every directory
 * on the way to the run's `cwd` is made one segment at a time and its real
 * path checked before the next is made, so a symlink can never lead the run,
 * or a `mkdir`, outside the task's directory.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, realpath, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { NonRetryableError, SjeError } from '@sje/core';
import { ExecErrorCode } from '../exec-errors.js';

const MAX_NAME = 100;

/**
 * The directory name of a task: its id when that is a plain name, else the id
 * with unsafe characters replaced plus a hash of the id (so two ids never
 * share a directory).
 */
export function workdirName(taskId: string): string {
  const safe = taskId.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, (dots) => '_'.repeat(dots.length));
  if (safe === taskId && safe.length > 0 && safe.length <= MAX_NAME) return safe;
  const hash = createHash('sha256').update(taskId).digest('hex').slice(0, 16);
  return `${safe.slice(0, MAX_NAME)}-${hash}`;
}

/** Whether `path` is `root` or inside it (both absolute, resolved). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function workdirError(message: string, err: unknown): SjeError {
  return new SjeError(ExecErrorCode.WORKDIR, `${message}: ${err instanceof Error ? err.message : String(err)}`, {
    retryable: true,
    cause: err,
    data: { errno: errnoOf(err) ?? null },
  });
}

function escape(subject: string, why: string, cwd: string): NonRetryableError {
  return new NonRetryableError(`${subject} ${why}`, { code: ExecErrorCode.PATH_ESCAPE, data: { cwd } });
}

/**
 * Makes `parent/segment` a directory if missing and returns its real path.
 * Refuses (PATH_ESCAPE) a segment that resolves outside `within` or is not a
 * directory. `parent` must be a real path inside `within`.
 */
async function enter(parent: string, segment: string, within: string, subject: string, cwd: string): Promise<string> {
  const path = join(parent, segment);
  try {
    await mkdir(path);
  } catch (err) {
    if (errnoOf(err) !== 'EEXIST') throw workdirError(`cannot create ${path}`, err);
  }
  let real: string;
  try {
    real = await realpath(path);
  } catch (err) {
    const link = await lstat(path).then(
      (s) => s.isSymbolicLink(),
      () => false,
    );
    if (link) throw escape(subject, 'goes through a symlink that does not resolve', cwd);
    throw workdirError(`cannot resolve ${path}`, err);
  }
  if (!isInside(within, real)) throw escape(subject, "resolves outside the task's working directory", cwd);
  const st = await stat(real).catch((err: unknown) => {
    throw workdirError(`cannot stat ${real}`, err);
  });
  if (!st.isDirectory()) throw escape(subject, 'is not a directory', cwd);
  return real;
}

/** A task's directory. */
export interface TaskDir {
  /** As named under the work root: remove this path, never what it resolves to. */
  path: string;
  /** Its real path. */
  real: string;
}

/**
 * Creates (or reuses, e.g. for a retry with `keep_workdir`) the task's
 * directory `<root>/<workdirName(taskId)>`, creating `root` if needed.
 */
export async function createTaskDir(root: string, taskId: string): Promise<TaskDir> {
  let rootReal: string;
  try {
    await mkdir(root, { recursive: true });
    rootReal = await realpath(root);
  } catch (err) {
    throw workdirError(`cannot create the work root ${root}`, err);
  }
  const name = workdirName(taskId);
  const real = await enter(rootReal, name, rootReal, "the task's directory", '.');
  if (real === rootReal) throw escape("the task's directory", 'resolves to the work root itself', '.');
  return { path: join(rootReal, name), real };
}

/**
 * Makes the sub-directory `cwd` of the task's directory (real path
 * `taskReal`) one segment at a time, checking with `realpath` after each
 * step that it stays inside; returns its real path. `cwd` has been checked as
 * text already (relative, no `..`).
 */
export async function enterCwd(taskReal: string, cwd: string): Promise<string> {
  let current = taskReal;
  const subject = `'cwd' ${JSON.stringify(cwd)}`;
  for (const segment of cwd.split('/')) {
    if (segment === '' || segment === '.') continue;
    current = await enter(current, segment, taskReal, subject, cwd);
  }
  return current;
}

/** Removes a task's directory (a symlink is removed itself, never followed). */
export async function removeWorkdir(taskDir: string): Promise<void> {
  await rm(taskDir, { recursive: true, force: true, maxRetries: 2 });
}
