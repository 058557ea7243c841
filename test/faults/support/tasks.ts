/**
 * Submitting many tasks, waiting for them and checking what the store says
 * about each: one final state, a history that only takes legal steps, and
 * where each run happened (the `record_run` log).
 *
 * @example
 * ```ts
 * const ids = await submitMany(api, 500, () => ({ function: 'record_run', params: { log } }));
 * await waitForFinalCount([tm.baseUrl], ids.length, 60_000);
 * const views = await getViews(api, ids);
 * expect(views.flatMap(taskProblems)).toEqual([]);
 * ```
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { canTransition, FINAL_STATUSES, type TaskStatus } from '../../../packages/core/src/index.js';
import { http } from '../../helpers/http.js';
import { sleep } from './fault-stack.js';

/** One entry of a task's history, as `/status` shows it. */
export interface HistoryEntry {
  status: TaskStatus;
  at: string;
  attempt: number;
  reason?: string;
  worker_id?: string;
}

/** What `/status` answers (the fields these tests look at). */
export interface StatusView {
  task_id: string;
  function: string;
  status: TaskStatus;
  attempt: number;
  result?: unknown;
  error?: { code?: string; message: string };
  worker?: { id: string; host?: string };
  history: HistoryEntry[];
}

/** Options of {@link submitMany}. */
export interface SubmitOptions {
  /** Requests in flight at once. @defaultValue 8 */
  concurrency?: number;
  /** Called after each accepted task with the number accepted so far (may pause the stream by returning a promise). */
  onAccepted?: (count: number) => void | Promise<void>;
}

/**
 * POSTs `n` tasks, one request each, `concurrency` at a time, and returns
 * their ids in submission order. Every answer must be 201.
 */
export async function submitMany(
  api: string,
  n: number,
  body: (i: number) => Record<string, unknown>,
  options: SubmitOptions = {},
): Promise<string[]> {
  const ids: string[] = new Array<string>(n);
  let next = 0;
  let accepted = 0;
  const lane = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      const res = await http<SubmitAnswer>(`${api}/submit`, { json: body(i) });
      if (res.status !== 201) throw new Error(`submit ${i} answered ${res.status}: ${res.text.slice(0, 300)}`);
      ids[i] = res.body.task_id;
      accepted += 1;
      await options.onAccepted?.(accepted);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, lane));
  return ids;
}

/** Task counts by status from a task-manager's `/metrics` (the `sje_tasks` gauge), or undefined when it does not answer. */
export async function storeCounts(tmUrl: string): Promise<Record<string, number> | undefined> {
  try {
    const res = await fetch(`${tmUrl}/metrics`, { signal: AbortSignal.timeout(2000) });
    if (res.status !== 200) return undefined;
    const out: Record<string, number> = {};
    for (const m of (await res.text()).matchAll(/^sje_tasks\{[^}]*status="([a-z_]+)"[^}]*\} (\d+)/gm))
      out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
    return out;
  } catch {
    return undefined;
  }
}

/** Sum of the final statuses in {@link storeCounts}. */
export function finalCount(counts: Record<string, number>): number {
  return Object.entries(counts)
    .filter(([s]) => FINAL_STATUSES.has(s as TaskStatus))
    .reduce((a, [, n]) => a + n, 0);
}

/**
 * Waits until one of the task-managers reports `n` tasks in a final state in
 * its store (task-managers that do not answer, e.g. while restarting, are
 * skipped) and returns the counts by status.
 */
export async function waitForFinalCount(tmUrls: string[], n: number, timeoutMs: number): Promise<Record<string, number>> {
  const deadline = Date.now() + timeoutMs;
  let last: Record<string, number> | undefined;
  for (;;) {
    for (const url of tmUrls) {
      const counts = await storeCounts(url);
      if (!counts) continue;
      last = counts;
      if (finalCount(counts) >= n) return counts;
    }
    if (Date.now() > deadline) throw new Error(`fewer than ${n} tasks final after ${timeoutMs} ms; store counts: ${JSON.stringify(last)}`);
    await sleep(250);
  }
}

/** `GET /status` of every id (`concurrency` at a time); each must answer 200. */
export async function getViews(api: string, ids: readonly string[], concurrency = 16): Promise<StatusView[]> {
  const out: StatusView[] = new Array<StatusView>(ids.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < ids.length) {
      const i = next++;
      const id = ids[i]!;
      const res = await http<StatusView>(`${api}/status/${encodeURIComponent(id)}`);
      if (res.status !== 200) throw new Error(`status of ${id} answered ${res.status}: ${res.text.slice(0, 300)}`);
      out[i] = res.body;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return out;
}

/**
 * What is wrong with a finished task's record, if anything: its history must
 * start `pending`, take only steps core's state machine allows, hold exactly
 * one final state, and end in the task's status.
 */
export function taskProblems(view: StatusView): string[] {
  const problems: string[] = [];
  const h = view.history ?? [];
  const id = view.task_id;
  if (h.length === 0) return [`${id}: no history`];
  if (h[0]!.status !== 'pending') problems.push(`${id}: history starts with ${h[0]!.status}`);
  for (let i = 1; i < h.length; i++) {
    if (!canTransition(h[i - 1]!.status, h[i]!.status)) problems.push(`${id}: illegal step ${h[i - 1]!.status} → ${h[i]!.status}`);
  }
  const finals = h.filter((e) => FINAL_STATUSES.has(e.status));
  if (finals.length !== 1) problems.push(`${id}: ${finals.length} final entries in history`);
  if (h[h.length - 1]!.status !== view.status) problems.push(`${id}: history ends in ${h[h.length - 1]!.status}, status is ${view.status}`);
  if (!FINAL_STATUSES.has(view.status)) problems.push(`${id}: not final (${view.status})`);
  return problems;
}

/** Where each task ran, from a `record_run` log: task id → pids in order of the runs' starts. */
export function readRunLog(file: string): Map<string, number[]> {
  const runs = new Map<string, number[]>();
  if (!existsSync(file)) return runs;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [id, pid] = line.trim().split(' ');
    if (!id || !pid) continue;
    const list = runs.get(id) ?? [];
    list.push(Number(pid));
    runs.set(id, list);
  }
  return runs;
}

/** Number of runs logged so far (lines of a `record_run` log). */
export function runLogLines(file: string): number {
  if (!existsSync(file)) return 0;
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '').length;
}

/** Median of numbers (0 for none). */
export function median(values: number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : Math.round((s[mid - 1]! + s[mid]!) / 2);
}

/**
 * Polls `GET /status/:id` until `accept` holds for the view, and returns it.
 * @throws Error with the last view after `timeoutMs`.
 */
export async function waitForView(api: string, id: string, accept: (v: StatusView) => boolean, timeoutMs = 20_000): Promise<StatusView> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const res = await http<StatusView>(`${api}/status/${encodeURIComponent(id)}`);
    last = res.body;
    if (res.status === 200 && accept(res.body)) return res.body;
    if (Date.now() > deadline) throw new Error(`task ${id} not as expected within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
    await sleep(50);
  }
}

/** The answer of a single-task `POST /submit`. */
export interface SubmitAnswer {
  task_id: string;
  status: string;
}

/** The JSON error body of the REST API. */
export interface ErrorAnswer {
  error: { code: string; message: string };
}

/**
 * Submits one task and returns its id.
 * @throws Error when the answer is not 201.
 */
export async function submitTask(api: string, body: Record<string, unknown>): Promise<string> {
  const res = await http<SubmitAnswer>(`${api}/submit`, { json: body });
  if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${res.text.slice(0, 300)}`);
  return res.body.task_id;
}
