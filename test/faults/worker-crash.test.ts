/**
 * A worker killed with SIGKILL in the middle of a stream of tasks: the tasks
 * it held are re-run on the other worker once it is declared lost, and every
 * task still ends `succeeded` exactly once in the store.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FAULT_WORKER_TIMEOUT_MS, faultConfig, figure, startStack, until, type Stack } from './support/fault-stack.js';
import { getViews, median, readRunLog, runLogLines, submitMany, taskProblems, waitForFinalCount } from './support/tasks.js';

const TASKS = 500;
const RUN_MS = 200;
const TEST = 'worker kill -9';
let stack: Stack | undefined;

afterAll(async () => {
  await Promise.all([stack?.executor.stop(), stack?.taskManager.stop(), ...(stack?.workers ?? []).map((w) => w.stop())]);
});

describe('kill -9 of a worker running tasks', () => {
  it('re-runs the tasks the dead worker held on the other worker; every task succeeds exactly once', async () => {
    const config = await faultConfig({ worker: { concurrency: 8 } });
    const log = join(config.task_manager.data_dir, 'runs.log');
    stack = await startStack(config, { workers: 2 });
    const [victim, survivor] = stack.workers as [NonNullable<Stack['workers'][0]>, NonNullable<Stack['workers'][1]>];
    const victimPid = victim.pid!;
    const survivorPid = survivor.pid!;

    const started = Date.now();
    const submitted = submitMany(stack.api, TASKS, () => ({ function: 'record_run', params: { log, ms: RUN_MS } }), { concurrency: 16 });
    // Kill the victim while it is busy: after it has started a good number of runs, well before the end.
    const victimRuns = (): number => [...readRunLog(log).values()].filter((p) => p.includes(victimPid)).length;
    await until('the victim to have started 80 runs', () => victimRuns() >= 80, 30_000);
    const runsAtKill = runLogLines(log);
    victim.kill('SIGKILL');
    const killedAt = Date.now();
    expect((await victim.waitExit()).signal).toBe('SIGKILL');
    const ids = await submitted;

    await waitForFinalCount([stack.taskManager.baseUrl], TASKS, 120_000);
    const total = Date.now() - started;
    const views = await getViews(stack.api, ids);

    expect(views.flatMap(taskProblems)).toEqual([]);
    expect(views.filter((v) => v.status !== 'succeeded').map((v) => `${v.task_id}: ${v.status}`)).toEqual([]);
    for (const v of views) expect(v.history.filter((h) => h.status === 'succeeded')).toHaveLength(1);

    const runs = readRunLog(log);
    expect(runs.size).toBe(TASKS);
    const resultPid = new Map(views.map((v) => [v.task_id, (v.result as { pid: number }).pid]));
    // Tasks the victim started but never finished: they were in its hands when it died.
    const held = [...runs].filter(([id, pids]) => pids.includes(victimPid) && resultPid.get(id) !== victimPid).map(([id]) => id);
    expect(held.length).toBeGreaterThan(0);
    for (const id of held) {
      const pids = runs.get(id)!;
      expect(pids.indexOf(survivorPid), id).toBeGreaterThan(pids.indexOf(victimPid));
      expect(resultPid.get(id), id).toBe(survivorPid);
    }
    // Nothing the victim finished ran again.
    const finishedOnVictim = views.filter((v) => resultPid.get(v.task_id) === victimPid);
    expect(finishedOnVictim.length).toBeGreaterThan(0);
    for (const v of finishedOnVictim) expect(runs.get(v.task_id), v.task_id).toEqual([victimPid]);

    // How long the held tasks waited: from the kill to their re-queue under a new lease.
    const takeovers = held.map((id) => {
      const v = views.find((x) => x.task_id === id)!;
      const requeue = v.history.find((h) => h.status === 'queued' && /lost/.test(h.reason ?? ''));
      return requeue ? Date.parse(requeue.at) - killedAt : NaN;
    });
    expect(takeovers.every((ms) => Number.isFinite(ms) && ms <= FAULT_WORKER_TIMEOUT_MS + 3000)).toBe(true);
    const reRuns = [...runs.values()].filter((p) => p.length > 1).length;
    figure(TEST, 'tasks / workers / concurrency', `${TASKS} / 2 / 8, ${RUN_MS} ms each`);
    figure(TEST, 'runs started before the kill', runsAtKill);
    figure(TEST, 'tasks held by the killed worker (re-run on the other)', held.length);
    figure(TEST, 'tasks run more than once', reRuns);
    figure(
      TEST,
      `kill → re-queue of held tasks (worker_timeout_ms ${FAULT_WORKER_TIMEOUT_MS})`,
      `median ${median(takeovers)} ms, max ${Math.max(...takeovers)} ms`,
    );
    figure(TEST, 'tasks that ended other than succeeded', 0);
    figure(TEST, 'whole run (submit → all final)', `${total} ms`);
  });
});
