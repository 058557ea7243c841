/**
 * Signals a run's whole process group (the program and everything it
 * started that stayed in its group), with a grace period between SIGTERM
 * and SIGKILL.
 *
 * A member that has exited but not been reaped yet (a zombie) still makes
 * `kill(-pgid, 0)` succeed. Orphans are reaped by PID 1, which some
 * container inits do late or never; on Linux a group whose remaining members
 * are all zombies therefore counts as gone (nothing of it runs any more).
 */
import { readdir, readFile } from 'node:fs/promises';

/** How stopping a group ended. */
export type GroupStop = 'gone' | 'terminated' | 'killed' | 'stuck';

function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Sends `signal` to every process of group `pgid`. Returns `false` when the
 * group has no process left.
 */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if (errnoOf(err) === 'ESRCH') return false;
    // EPERM: members exist that this process may not signal; the group is still there.
    if (errnoOf(err) === 'EPERM') return true;
    throw err;
  }
}

/**
 * Linux: whether a process of group `pgid` that is not a zombie exists,
 * from `/proc`; `undefined` where `/proc` cannot tell.
 */
async function liveMemberInProc(pgid: number): Promise<boolean | undefined> {
  if (process.platform !== 'linux') return undefined;
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return undefined;
  }
  const wanted = String(pgid);
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = await readFile(`/proc/${entry}/stat`, 'latin1');
    } catch {
      continue; // ended while we looked
    }
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ', 3);
    if (pgrp === wanted && state !== 'Z' && state !== 'X') return true;
  }
  return false;
}

/** Whether any process of group `pgid` still runs (zombies do not count where `/proc` tells them apart). */
export async function groupAlive(pgid: number): Promise<boolean> {
  if (!signalGroup(pgid, 0)) return false;
  return (await liveMemberInProc(pgid)) ?? true;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits up to `ms` for the group to be gone; `true` when it is. */
async function waitGone(pgid: number, ms: number, pollMs: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (!(await groupAlive(pgid))) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await sleep(Math.min(pollMs, left));
  }
}

/** Options of {@link stopGroup}. */
export interface StopGroupOptions {
  /** Wait between SIGTERM and SIGKILL. */
  graceMs: number;
  /** How long to wait for the group to be gone after SIGKILL. @defaultValue 5000 */
  killWaitMs?: number;
  /** Interval of the checks. @defaultValue 50 */
  pollMs?: number;
}

/**
 * Stops process group `pgid`: SIGTERM, then SIGKILL if anything is left
 * after `graceMs`. Resolves once the group is gone (or, `'stuck'`, when it
 * still is after the SIGKILL wait).
 * @example
 * ```ts
 * await stopGroup(child.pid, { graceMs: 2000 }); // 'terminated'
 * ```
 */
export async function stopGroup(pgid: number, options: StopGroupOptions): Promise<GroupStop> {
  const poll = options.pollMs ?? 50;
  if (!signalGroup(pgid, 'SIGTERM')) return 'gone';
  if (await waitGone(pgid, options.graceMs, poll)) return 'terminated';
  if (!signalGroup(pgid, 'SIGKILL')) return 'terminated';
  return (await waitGone(pgid, options.killWaitMs ?? 5000, poll)) ? 'killed' : 'stuck';
}
