/**
 * Grouped dispatch against the real RabbitMQ: a copy of every message sent to
 * the pool's task queue is read from a queue bound beside it, so the test
 * sees what the task-manager sent (and a copy of the `assign` messages to
 * workers). With assignment at idle off, an idle task travels as a plain
 * `dispatch`; with the held backlog off, under a burst only the first tasks,
 * while the workers' slots are free, are assigned, and the rest travel in
 * `dispatches` groups, every task still succeeds exactly once and both
 * workers run a fair share; with it on (the default) the whole burst is
 * assigned and the pool queue sees nothing; either way a worker killed
 * mid-burst loses nothing.
 */
import { join } from 'node:path';
import { connect, type ChannelModel } from 'amqplib';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { validators, type DispatchMessage, type SjeConfig } from '../packages/core/src/index.js';
import { faultConfig, startStack, until, type Stack } from './faults/support/fault-stack.js';
import { getViews, readRunLog, taskProblems, waitForFinalCount, type StatusView } from './faults/support/tasks.js';
import { http, metricValue, parsePrometheus } from './helpers/http.js';
import { disposeTestConfig } from './helpers/stack.js';

const CONCURRENCY = 32;
const TASKS = 2000;
const BATCH = 500;

/** Copies of what the task exchange routes to the `default` pool, by message type, and of the `assign` messages to workers. */
class DispatchTap {
  readonly messages: { type: string; tasks: DispatchMessage[]; raw: string }[] = [];
  /** Tasks handed straight to a worker (`assign` on the control exchange). */
  readonly assigned: DispatchMessage[] = [];
  private constructor(private readonly conn: ChannelModel) {}

  static async open(config: SjeConfig): Promise<DispatchTap> {
    const conn = await connect(config.amqp.url);
    const tap = new DispatchTap(conn);
    const ch = await conn.createChannel();
    // Declared as the services declare it, so the copy is bound before the first dispatch.
    const exchange = `${config.topology.prefix}.tasks`;
    await ch.assertExchange(exchange, 'direct', { durable: true });
    const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true });
    await ch.bindQueue(queue, exchange, 'default');
    await ch.consume(
      queue,
      (msg) => {
        if (!msg) return;
        const raw = msg.content.toString();
        const body = JSON.parse(raw) as DispatchMessage | { type: 'dispatches'; tasks: DispatchMessage[] };
        tap.messages.push({ type: body.type, tasks: body.type === 'dispatches' ? body.tasks : [body], raw });
      },
      { noAck: true },
    );
    const control = `${config.topology.prefix}.control`;
    await ch.assertExchange(control, 'topic', { durable: true });
    const copy = await ch.assertQueue('', { exclusive: true, autoDelete: true });
    await ch.bindQueue(copy.queue, control, 'worker.*');
    await ch.consume(
      copy.queue,
      (msg) => {
        if (!msg) return;
        const body = JSON.parse(msg.content.toString()) as { type: string; tasks?: DispatchMessage[] };
        if (body.type === 'assign') tap.assigned.push(...(body.tasks ?? []));
      },
      { noAck: true },
    );
    return tap;
  }

  count(type: string): number {
    return this.messages.filter((m) => m.type === type).length;
  }

  tasks(): number {
    return this.messages.reduce((n, m) => n + m.tasks.length, 0);
  }

  async close(): Promise<void> {
    await this.conn.close();
  }
}

let stack: Stack | undefined;
let tap: DispatchTap | undefined;
const configs: SjeConfig[] = [];

async function stop(): Promise<void> {
  await tap?.close();
  await Promise.all([stack?.executor.stop(), stack?.taskManager.stop(), ...(stack?.workers ?? []).map((w) => w.stop())]);
  stack = undefined;
  tap = undefined;
}

afterEach(stop);
afterAll(async () => {
  for (const c of configs.splice(0)) await disposeTestConfig(c);
});

/** The task-manager's assignment settings of a run. */
interface Assignment {
  atIdle: boolean;
  /** `task_manager.hold_limit`: 0 sends a backlog through the pool queue. */
  holdLimit: number;
}
const QUEUED: Assignment = { atIdle: true, holdLimit: 0 };
const HELD: Assignment = { atIdle: true, holdLimit: 100_000 };

async function start(assignment: Assignment = QUEUED): Promise<{ stack: Stack; tap: DispatchTap; log: string }> {
  const config = await faultConfig({ worker: { concurrency: CONCURRENCY }, task_manager: { assign_at_idle: assignment.atIdle, hold_limit: assignment.holdLimit } });
  configs.push(config);
  tap = await DispatchTap.open(config);
  stack = await startStack(config, { workers: 2 });
  // Group sizes follow the workers the task-manager knows: wait until it has heard from both.
  const s = stack;
  await until('both workers registered', async () => metricValue(parsePrometheus((await http(`${s.taskManager.baseUrl}/metrics`)).text), 'sje_workers_registered') >= 2, 30_000, 100);
  return { stack, tap, log: join(config.task_manager.data_dir, 'runs.log') };
}

/** Submits `n` tasks in batches of {@link BATCH}, all batches at once. */
async function burst(api: string, n: number, params: Record<string, unknown>): Promise<string[]> {
  const batches = Array.from({ length: Math.ceil(n / BATCH) }, (_, b) => Math.min(BATCH, n - b * BATCH));
  const answers = await Promise.all(
    batches.map((size) => http<{ tasks: { task_id: string }[] }>(`${api}/submit`, { json: { tasks: Array.from({ length: size }, () => ({ function: 'record_run', params })) } })),
  );
  for (const a of answers) expect(a.status, a.text.slice(0, 300)).toBe(201);
  return answers.flatMap((a) => a.body.tasks.map((t) => t.task_id));
}

/** Submits a burst of {@link TASKS} and waits for it: each task succeeded once and ran once. Returns the tasks' views. */
async function runBurstOnce(s: Stack, log: string): Promise<StatusView[]> {
  const ids = await burst(s.api, TASKS, { log, ms: 5 });
  await waitForFinalCount([s.taskManager.baseUrl], TASKS, 120_000);
  const views = await getViews(s.api, ids);
  expectEachSucceededOnce(views);
  const runs = readRunLog(log);
  for (const id of ids) expect(runs.get(id), id).toHaveLength(1);
  return views;
}

/** Fair spread: each of the two workers ran at least 30 % of the burst. Returns the tasks each ran. */
function expectFairSpread(views: StatusView[]): number[] {
  const byWorker = new Map<string, number>();
  for (const v of views) byWorker.set(v.worker?.id ?? '?', (byWorker.get(v.worker?.id ?? '?') ?? 0) + 1);
  expect(byWorker.size).toBe(2);
  for (const [worker, n] of byWorker) expect(n, `${worker} ran ${n} of ${TASKS}`).toBeGreaterThanOrEqual(0.3 * TASKS);
  return [...byWorker.values()];
}

function expectEachSucceededOnce(views: StatusView[]): void {
  expect(views.flatMap(taskProblems)).toEqual([]);
  expect(views.filter((v) => v.status !== 'succeeded').map((v) => `${v.task_id}: ${v.status}`)).toEqual([]);
  for (const v of views) expect(v.history.filter((h) => h.status === 'succeeded'), v.task_id).toHaveLength(1);
}

describe('grouped dispatch', () => {
  it('sends a single idle task as a plain dispatch when assignment at idle is off', async () => {
    const { stack: s, tap: t, log } = await start({ atIdle: false, holdLimit: 0 });
    const before = t.messages.length;
    const res = await http<{ task_id: string }>(`${s.api}/submit`, { json: { function: 'record_run', params: { log } } });
    expect(res.status).toBe(201);
    await waitForFinalCount([s.taskManager.baseUrl], 1, 20_000);
    await until('the copy of its dispatch', () => t.messages.length > before, 5000);
    const sent = t.messages.slice(before);
    expect(sent).toHaveLength(1);
    const body = JSON.parse(sent[0]!.raw) as DispatchMessage;
    expect(body).toMatchObject({ type: 'dispatch', task_id: res.body.task_id, function: 'record_run', queue: 'default' });
    expect(validators.dispatch(body).ok).toBe(true);
    // Exactly the fields a dispatch has, nothing wrapped around it.
    expect(Object.keys(body).sort()).toEqual(['attempt', 'function', 'labels', 'lease_id', 'params', 'priority', 'queue', 'task_id', 'type']);
    expect(readRunLog(log).get(res.body.task_id)).toHaveLength(1);
  });

  it(`runs a burst of ${TASKS} tasks in groups, each exactly once, spread fairly over two workers (no held backlog)`, async () => {
    const { stack: s, tap: t, log } = await start();
    const before = t.messages.length;
    const views = await runBurstOnce(s, log);
    // Grouped: far fewer messages than tasks, each task dispatched once — through the
    // pool queue, or assigned to a worker while its slots were free (the burst's start).
    await until('every dispatch copied', () => t.tasks() + t.assigned.length >= before + TASKS, 10_000);
    const sent = t.messages.slice(before);
    const groups = sent.filter((m) => m.type === 'dispatches');
    const dispatched = sent.flatMap((m) => m.tasks.map((d) => d.task_id));
    expect(new Set([...dispatched, ...t.assigned.map((d) => d.task_id)]).size).toBe(TASKS);
    expect(dispatched.length + t.assigned.length).toBe(TASKS);
    expect(t.assigned.length).toBeLessThan(TASKS / 2);
    expect(groups.length).toBeGreaterThan(0);
    expect(sent.length).toBeLessThan(TASKS / 4);
    // Groups stay at a quarter of the workers' concurrency.
    expect(Math.max(...groups.map((g) => g.tasks.length))).toBeLessThanOrEqual(CONCURRENCY / 4);
    for (const g of groups) expect(validators.dispatchMessage(JSON.parse(g.raw)).ok).toBe(true);

    const byWorker = expectFairSpread(views);
    console.log(
      `[dispatch-groups] ${TASKS} tasks: ${t.assigned.length} assigned, the rest in ${sent.length} messages (${groups.length} groups, largest ${Math.max(...groups.map((g) => g.tasks.length))}); per worker ${byWorker.join(' / ')}`,
    );
  });

  it(`assigns a burst of ${TASKS} tasks whole from the held backlog, each exactly once, spread fairly over two workers; the pool queue sees none`, async () => {
    const { stack: s, tap: t, log } = await start(HELD);
    const before = t.messages.length;
    const views = await runBurstOnce(s, log);
    await until('every assign copied', () => t.assigned.length >= TASKS, 10_000);
    expect(new Set(t.assigned.map((d) => d.task_id)).size).toBe(TASKS);
    expect(t.assigned).toHaveLength(TASKS);
    expect(t.messages.slice(before)).toEqual([]);
    for (const v of views) expect(v.history.find((h) => h.status === 'running')?.reason, v.task_id).toBe('assigned');
    const byWorker = expectFairSpread(views);
    const metrics = parsePrometheus((await http(`${s.taskManager.baseUrl}/metrics`)).text);
    expect(metricValue(metrics, 'sje_tasks_assigned_total')).toBe(TASKS);
    console.log(`[dispatch-groups] held backlog: ${TASKS} tasks, all assigned; per worker ${byWorker.join(' / ')}`);
  });

  it.each([
    ['through the pool queue in groups', QUEUED],
    ['from the held backlog', HELD],
  ] as const)('loses nothing when a worker is killed mid-burst, its tasks %s: they run on the other', async (_path, assignment) => {
    const { stack: s, tap: t, log } = await start(assignment);
    const [victim, survivor] = s.workers as [Stack['workers'][number], Stack['workers'][number]];
    const victimPid = victim.pid!;
    const survivorPid = survivor.pid!;
    const before = t.messages.length;
    const submitted = burst(s.api, TASKS, { log, ms: 50 });
    const victimRuns = (): number => [...readRunLog(log).values()].filter((p) => p.includes(victimPid)).length;
    await until('the victim to have started 200 runs', () => victimRuns() >= 200, 60_000, 10);
    victim.kill('SIGKILL');
    expect((await victim.waitExit()).signal).toBe('SIGKILL');
    const ids = await submitted;
    await waitForFinalCount([s.taskManager.baseUrl], TASKS, 120_000);
    const views = await getViews(s.api, ids);
    expectEachSucceededOnce(views);
    if (assignment.holdLimit === 0) expect(t.messages.slice(before).filter((m) => m.type === 'dispatches').length).toBeGreaterThan(0);
    else expect(t.assigned.length).toBeGreaterThan(TASKS);

    const runs = readRunLog(log);
    const resultPid = new Map(views.map((v) => [v.task_id, (v.result as { pid: number }).pid]));
    // The runs the victim started but did not finish were re-run on the survivor.
    const held = ids.filter((id) => runs.get(id)?.includes(victimPid) && resultPid.get(id) !== victimPid);
    expect(held.length).toBeGreaterThan(0);
    for (const id of held) expect(resultPid.get(id), id).toBe(survivorPid);
    // Nothing the victim finished ran again, and every task that did not finish on the victim finished on the survivor.
    for (const id of ids) {
      if (resultPid.get(id) === victimPid) expect(runs.get(id), id).toEqual([victimPid]);
      else expect(resultPid.get(id), id).toBe(survivorPid);
    }
  });
});
