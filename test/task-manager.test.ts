/**
 * The task-manager against the real RabbitMQ, with the worker side played by
 * hand: dispatch → claim → grant → outcome, cancellation, stale reports,
 * lost workers, retries, restarts and dead-lettering.
 */
import { connect } from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker, createLogger, createTopology, uuidv7, validators, type DispatchMessage, type LeaseGrant, type SjeConfig, type SjePlugin, type TaskSpec, type WorkerDeregister } from '../packages/core/src/index.js';
import { createTaskManager, type TaskManager } from '../packages/task-manager/src/index.js';
import { drainQueue, publishRaw } from './helpers/broker.js';
import { handWorkerBroker } from './helpers/hand-worker-broker.js';
import { disposeTestConfig, testConfig } from './helpers/stack.js';

const silent = createLogger({ service: 'test', silent: true });

function spec(fn: string, extra: Partial<TaskSpec> = {}): TaskSpec {
  return { task_id: uuidv7(), function: fn, params: {}, queue: 'default', priority: 0, depends_on: [], labels: {}, ...extra };
}

/** Plays a worker by hand: reads dispatches, claims, reports. */
class HandWorker {
  readonly grants: LeaseGrant[] = [];
  /** The receipts the task-manager answered (`stored`), in order. */
  readonly stored: number[] = [];
  /** Control messages received (a `grants` message counts once). */
  controlMessages = 0;
  private broker: Broker;
  constructor(
    private readonly config: SjeConfig,
    readonly id = `hand-${uuidv7().slice(-6)}`,
  ) {
    this.broker = handWorkerBroker(config, this.id, silent);
  }
  async start(): Promise<void> {
    await this.broker.start();
    await this.broker.consume(this.broker.topology.workerControlQueue(this.id), async (m) => {
      this.controlMessages += 1;
      if (m.type === 'grant') this.grants.push(m);
      if (m.type === 'grants') this.grants.push(...m.grants);
      if (m.type === 'stored') this.stored.push(m.seq);
    }, { validate: validators.control, prefetch: 10, exclusive: true });
  }
  async nextDispatches(n: number, queue = 'default'): Promise<DispatchMessage[]> {
    const got = await drainQueue(this.config.amqp.url, this.broker.topology.taskQueue(queue), { min: n, timeoutMs: 5000 });
    return got.map((m) => m.body as DispatchMessage);
  }
  async claim(d: DispatchMessage): Promise<LeaseGrant> {
    await this.broker.publish(this.broker.topology.exchanges.commands, 'command', { type: 'started', task_id: d.task_id, lease_id: d.lease_id, worker_id: this.id, host: 'test', at: new Date().toISOString() });
    const deadline = Date.now() + 5000;
    for (;;) {
      const g = this.grants.find((x) => x.lease_id === d.lease_id);
      if (g) {
        this.grants.splice(this.grants.indexOf(g), 1);
        return g;
      }
      if (Date.now() > deadline) throw new Error('no grant');
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  async report(d: DispatchMessage, outcome: 'succeeded' | 'failed' | 'requeue', extra: Record<string, unknown> = {}): Promise<void> {
    await this.broker.publish(this.broker.topology.exchanges.commands, 'command', { type: 'outcome', task_id: d.task_id, lease_id: d.lease_id, worker_id: this.id, outcome, at: new Date().toISOString(), ...extra });
  }
  async heartbeat(): Promise<void> {
    await this.broker.publish(this.broker.topology.exchanges.commands, 'worker', { type: 'heartbeat', worker_id: this.id, host: 'test', running: [], at: new Date().toISOString() });
  }
  async deregister(released?: DispatchMessage[]): Promise<void> {
    const msg: WorkerDeregister = { type: 'deregister', worker_id: this.id, at: new Date().toISOString() };
    if (released) msg.released = released.map((d) => ({ task_id: d.task_id, lease_id: d.lease_id }));
    await this.broker.publish(this.broker.topology.exchanges.commands, 'worker', msg);
  }
  async close(): Promise<void> {
    await this.broker.close();
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(overrides: Parameters<typeof testConfig>[0] = {}, plugins: SjePlugin[] = []) {
  const config = await testConfig(overrides);
  const make = () => createTaskManager({ config, logger: silent, opsPort: false, plugins: plugins.map((plugin) => ({ plugin })) });
  let tm: TaskManager = await make();
  await tm.start();
  const executor = new Broker({ url: config.amqp.url, topology: createTopology({ prefix: config.topology.prefix }), logger: silent, service: 'executor' });
  await executor.start();
  const worker = new HandWorker(config);
  await worker.start();
  cleanups.push(async () => {
    await worker.close();
    await executor.close();
    await tm.close();
    await disposeTestConfig(config);
  });
  const submit = (tasks: TaskSpec[]) => executor.publish(executor.topology.exchanges.commands, 'command', { type: 'submit', tasks, submitted_at: new Date().toISOString() });
  const status = async (id: string) => (await tm.store.getTasks([id])).get(id);
  const waitStatus = async (id: string, want: string, ms = 5000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const t = await status(id);
      if (t?.status === want) return t;
      if (Date.now() > deadline) throw new Error(`task ${id} is ${t?.status}, wanted ${want}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const restart = async () => {
    await tm.close();
    tm = await make();
    await tm.start();
  };
  return { config, tm: () => tm, executor, worker, submit, status, waitStatus, restart };
}

describe('task-manager', () => {
  it('dispatches a submitted task, grants the first claim, records the result once', async () => {
    const s = await setup();
    const task = spec('echo', { params: { x: 1 } });
    await s.submit([task]);
    const [d] = await s.worker.nextDispatches(1);
    expect(d).toMatchObject({ task_id: task.task_id, function: 'echo', params: { x: 1 }, attempt: 1 });
    const grant = await s.worker.claim(d!);
    expect(grant.granted).toBe(true);
    await s.waitStatus(task.task_id, 'running');
    await s.worker.report(d!, 'succeeded', { result: { x: 1 } });
    const done = await s.waitStatus(task.task_id, 'succeeded');
    expect(done.result).toEqual({ x: 1 });
    // A duplicate report changes nothing.
    await s.worker.report(d!, 'failed', { error: { name: 'Error', code: 'X', message: 'late', retryable: true } });
    await new Promise((r) => setTimeout(r, 300));
    const after = await s.status(task.task_id);
    expect(after?.status).toBe('succeeded');
    expect(after?.history.map((h) => h.status)).toEqual(['pending', 'queued', 'running', 'succeeded']);
    // A second worker claiming the same lease is refused.
    const other = new HandWorker(s.config);
    await other.start();
    expect((await other.claim(d!)).granted).toBe(false);
    await other.close();
  });

  it("reports the store's log checkpoints in its metrics", async () => {
    const s = await setup({ task_manager: { sqlite_checkpoint_ms: 20 } });
    const tasks = Array.from({ length: 20 }, () => spec('echo'));
    await s.submit(tasks);
    await s.waitStatus(tasks[19]!.task_id, 'queued');
    /** The value of `name`'s series whose labels include `label` (every series carries `service` too). */
    const value = async (name: string, label = ''): Promise<number> => {
      const text = await s.tm().runtime.metrics.getSingleMetricAsString(name);
      const line = text.split('\n').find((l) => !l.startsWith('#') && l.startsWith(name) && l.includes(label));
      return Number(line?.split(' ').at(-1) ?? Number.NaN);
    };
    // The thread checkpoints every 20 ms: the stored tasks' pages reach the file and the log is copied whole.
    const deadline = Date.now() + 5000;
    while (!((await value('sje_store_checkpoints_total', 'mode="passive"')) >= 2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await value('sje_store_checkpoints_total', 'mode="passive"')).toBeGreaterThanOrEqual(2);
    expect(await value('sje_store_checkpoints_total', 'mode="restart"')).toBe(0);
    expect(await value('sje_store_log_frames')).toBeGreaterThan(0);
  });

  it('cancels a queued task so that its dispatch is refused at claim time', async () => {
    const s = await setup();
    const task = spec('echo');
    await s.submit([task]);
    const [d] = await s.worker.nextDispatches(1);
    await s.waitStatus(task.task_id, 'queued');
    await s.executor.publish(s.executor.topology.exchanges.commands, 'command', { type: 'cancel', task_id: task.task_id, requested_at: new Date().toISOString() });
    await s.waitStatus(task.task_id, 'cancelled');
    const grant = await s.worker.claim(d!);
    expect(grant.granted).toBe(false);
  });

  it('re-queues the tasks of a worker that stops heartbeating, and ignores its late result', async () => {
    const s = await setup({ task_manager: { worker_timeout_ms: 800 } });
    const task = spec('echo');
    await s.submit([task]);
    const [d] = await s.worker.nextDispatches(1);
    await s.worker.heartbeat();
    expect((await s.worker.claim(d!)).granted).toBe(true);
    const [again] = await s.worker.nextDispatches(1);
    expect(again!.task_id).toBe(task.task_id);
    expect(again!.lease_id).not.toBe(d!.lease_id);
    await s.worker.report(d!, 'succeeded', { result: 'late' });
    await new Promise((r) => setTimeout(r, 300));
    const t = await s.status(task.task_id);
    expect(t?.status).toBe('queued');
    expect(t?.history.some((h) => h.reason?.includes('lost'))).toBe(true);
  });

  it('on a deregister, re-queues at once only the leases it released; an outcome arriving after it still counts, and what never reports is re-queued after the timeout', async () => {
    const s = await setup({ task_manager: { worker_timeout_ms: 1500 } });
    const [reported, released, silent] = [spec('echo'), spec('echo'), spec('echo')];
    await s.submit([reported, released, silent]);
    const dispatches = await s.worker.nextDispatches(3);
    const of = (t: TaskSpec): DispatchMessage => dispatches.find((d) => d.task_id === t.task_id)!;
    await s.worker.heartbeat();
    for (const d of dispatches) expect((await s.worker.claim(d)).granted).toBe(true);
    // The deregister overtakes the outcome of `reported` (another queue): only `released` goes back now.
    await s.worker.deregister([of(released)]);
    const [again] = await s.worker.nextDispatches(1);
    expect(again).toMatchObject({ task_id: released.task_id });
    expect(again!.lease_id).not.toBe(of(released).lease_id);
    expect((await s.status(reported.task_id))?.status).toBe('running');
    await s.worker.report(of(reported), 'succeeded', { result: 'done' });
    const done = await s.waitStatus(reported.task_id, 'succeeded');
    expect(done.history.map((h) => h.status)).toEqual(['pending', 'queued', 'running', 'succeeded']);
    // `silent` neither reported nor released: handed on once the timeout has passed.
    const requeued = await s.waitStatus(silent.task_id, 'queued', 10_000);
    expect(requeued.history.at(-1)?.reason).toContain('lost');
    expect((await s.status(reported.task_id))?.status).toBe('succeeded');
  });

  it('retries through the retryDecision interceptor with the wait in the store, surviving a restart', async () => {
    const retry: SjePlugin = { name: 'test-retry', interceptors: { retryDecision: async ({ task }) => ({ retry: task.attempt < 2, delay_ms: 600 }) } };
    const s = await setup({}, [retry]);
    const task = spec('flaky');
    await s.submit([task]);
    const [d1] = await s.worker.nextDispatches(1);
    await s.worker.claim(d1!);
    await s.worker.report(d1!, 'failed', { error: { name: 'Error', code: 'SJE_ERR_HANDLER_ERROR', message: 'boom', retryable: true } });
    const waiting = await s.waitStatus(task.task_id, 'retrying');
    expect(waiting.not_before).toBeDefined();
    await s.restart();
    const [d2] = await s.worker.nextDispatches(1);
    expect(d2!.attempt).toBe(2);
    await s.worker.claim(d2!);
    await s.worker.report(d2!, 'failed', { error: { name: 'Error', code: 'SJE_ERR_HANDLER_ERROR', message: 'boom', retryable: true } });
    const failed = await s.waitStatus(task.task_id, 'failed');
    expect(failed.attempt).toBe(2);
    const retrying = failed.history.find((h) => h.status === 'retrying')!;
    const requeued = failed.history.find((h) => h.status === 'queued' && h.attempt === 2)!;
    expect(Date.parse(requeued.at) - Date.parse(retrying.at)).toBeGreaterThanOrEqual(550);
  });

  it('dispatches a dependent only after its dependency succeeded, with its result, and skips on failure', async () => {
    const s = await setup();
    const a = spec('echo');
    const b = spec('echo', { depends_on: [a.task_id] });
    const c = spec('echo', { depends_on: [b.task_id] });
    await s.submit([a, b, c]);
    const [da] = await s.worker.nextDispatches(1);
    expect(da!.task_id).toBe(a.task_id);
    expect((await s.status(b.task_id))?.status).toBe('pending');
    await s.worker.claim(da!);
    await s.worker.report(da!, 'succeeded', { result: 42 });
    const [db] = await s.worker.nextDispatches(1);
    expect(db!.task_id).toBe(b.task_id);
    expect(db!.dependencies).toEqual({ [a.task_id]: 42 });
    await s.worker.claim(db!);
    await s.worker.report(db!, 'failed', { error: { name: 'Error', code: 'E', message: 'no', retryable: false } });
    const skipped = await s.waitStatus(c.task_id, 'skipped');
    expect(skipped.history.at(-1)?.reason).toContain(b.task_id);
  });

  it('runs an all_done dependent after a failure, holds an approval gate, and aggregates the workflow', async () => {
    const s = await setup();
    const workflow_id = uuidv7();
    const a = spec('echo');
    const cleanup = spec('echo', { depends_on: [a.task_id], trigger_rule: 'all_done' });
    const gate = spec('approval', { kind: 'approval', depends_on: [cleanup.task_id] });
    const after = spec('echo', { depends_on: [gate.task_id] });
    await s.executor.publish(s.executor.topology.exchanges.commands, 'command', { type: 'submit', tasks: [a, cleanup, gate, after], workflow_id, submitted_at: new Date().toISOString() });
    const [da] = await s.worker.nextDispatches(1);
    await s.worker.claim(da!);
    await s.worker.report(da!, 'failed', { error: { name: 'Error', code: 'E', message: 'no', retryable: false } });
    const [dc] = await s.worker.nextDispatches(1);
    expect(dc!.task_id).toBe(cleanup.task_id);
    await s.worker.claim(dc!);
    await s.worker.report(dc!, 'succeeded', { result: 'cleaned' });
    await s.waitStatus(gate.task_id, 'waiting_approval');
    expect((await s.status(after.task_id))?.status).toBe('pending');
    const ask = (q: object) => s.executor.request('query', q, validators.reply, 3000);
    const wf = await ask({ type: 'get_workflow', workflow_id });
    expect(wf).toMatchObject({ type: 'workflow', workflow: { status: 'running', total: 4 } });
    const decided = await ask({ type: 'decide_approval', task_id: gate.task_id, approve: true, comment: 'looks good' });
    expect(decided).toMatchObject({ type: 'approval_result', changed: true, task: { status: 'succeeded' } });
    const [dd] = await s.worker.nextDispatches(1);
    expect(dd!.task_id).toBe(after.task_id);
    await s.worker.claim(dd!);
    await s.worker.report(dd!, 'succeeded', { result: 1 });
    await s.waitStatus(after.task_id, 'succeeded');
    const final = await ask({ type: 'get_workflow', workflow_id });
    expect(final).toMatchObject({ workflow: { status: 'failed', counts: { failed: 1, succeeded: 3 } } });
    if (final.type !== 'workflow' || !final.workflow) throw new Error('no workflow');
    expect(final.workflow.edges).toContainEqual([a.task_id, cleanup.task_id]);
    const gateView = await s.status(gate.task_id);
    expect(gateView?.history.at(-1)?.reason).toBe('approved: looks good');
  });

  it('cancels a whole workflow: pending tasks never run', async () => {
    const s = await setup();
    const workflow_id = uuidv7();
    const a = spec('echo');
    const b = spec('echo', { depends_on: [a.task_id] });
    await s.executor.publish(s.executor.topology.exchanges.commands, 'command', { type: 'submit', tasks: [a, b], workflow_id, submitted_at: new Date().toISOString() });
    const [da] = await s.worker.nextDispatches(1);
    await s.worker.claim(da!);
    const reply = await s.executor.request('query', { type: 'cancel_workflow', workflow_id }, validators.reply, 3000);
    expect(reply).toMatchObject({ workflow: { status: 'cancelled' } });
    expect((await s.status(a.task_id))?.status).toBe('cancelled');
    expect((await s.status(b.task_id))?.status).toMatch(/cancelled|skipped/);
  });

  it('answers claims from the claims queue, several together in one grants message', async () => {
    const s = await setup();
    const tasks = Array.from({ length: 20 }, () => spec('echo'));
    await s.submit(tasks);
    const dispatches = await s.worker.nextDispatches(20);
    const reports = dispatches.map((d) => ({ type: 'started', task_id: d.task_id, lease_id: d.lease_id, worker_id: s.worker.id, host: 'test', at: new Date().toISOString() }));
    await s.executor.publish(s.executor.topology.exchanges.commands, s.executor.topology.routingKeys.claim, { type: 'reports', reports }, { persistent: false });
    const deadline = Date.now() + 5000;
    while (s.worker.grants.length < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(s.worker.grants.map((g) => g.lease_id).sort()).toEqual(dispatches.map((d) => d.lease_id).sort());
    expect(s.worker.grants.every((g) => g.granted)).toBe(true);
    // One claims message, one task-manager batch: one control message answers them all.
    expect(s.worker.controlMessages).toBe(1);
    for (const t of tasks) expect((await s.status(t.task_id))?.status).toBe('running');
  });

  it('applies reports sent transient with a receipt, and answers stored to their worker once they are committed', async () => {
    const s = await setup();
    const [one, two] = [spec('echo'), spec('echo')];
    await s.submit([one, two]);
    const dispatches = await s.worker.nextDispatches(2);
    for (const d of dispatches) expect((await s.worker.claim(d)).granted).toBe(true);
    const [d1, d2] = [dispatches.find((d) => d.task_id === one.task_id)!, dispatches.find((d) => d.task_id === two.task_id)!];
    const t = s.executor.topology;
    const outcome = (d: DispatchMessage, result: unknown) => ({ type: 'outcome', task_id: d.task_id, lease_id: d.lease_id, worker_id: s.worker.id, outcome: 'succeeded', result, at: new Date().toISOString() });
    // A lone outcome, then a batch, on the transient claims queue.
    await s.executor.publish(t.exchanges.commands, t.routingKeys.claim, { ...outcome(d1, 1), receipt: { worker_id: s.worker.id, seq: 11 } }, { persistent: false });
    await s.executor.publish(t.exchanges.commands, t.routingKeys.claim, { type: 'reports', receipt: { worker_id: s.worker.id, seq: 12 }, reports: [outcome(d2, 2)] }, { persistent: false });
    const deadline = Date.now() + 5000;
    while (s.worker.stored.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect([...s.worker.stored].sort()).toEqual([11, 12]);
    // Told stored, so in the store: the worker may let go of them.
    expect(await s.status(one.task_id)).toMatchObject({ status: 'succeeded', result: 1 });
    expect(await s.status(two.task_id)).toMatchObject({ status: 'succeeded', result: 2 });
    // The durable copy a worker sends when the answer does not come in time changes nothing, and asks for no answer.
    await s.worker.report(d1, 'failed', { error: { name: 'Error', code: 'X', message: 'late copy', retryable: true } });
    await new Promise((r) => setTimeout(r, 300));
    expect(await s.status(one.task_id)).toMatchObject({ status: 'succeeded', result: 1 });
    expect(s.worker.stored).toHaveLength(2);
  });

  it('sends the events of a batch grouped by routing key, each task’s events once and in order', async () => {
    const s = await setup();
    const seen: { routingKey: string; body: { type: string; task_id?: string; status?: string; events?: { task_id: string; status: string }[] } }[] = [];
    const conn = await connect(s.config.amqp.url);
    cleanups.push(() => conn.close());
    const ch = await conn.createChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true });
    await ch.bindQueue(queue, s.executor.topology.exchanges.events, 'task.#');
    await ch.consume(queue, (m) => m && seen.push({ routingKey: m.fields.routingKey, body: JSON.parse(m.content.toString()) as (typeof seen)[number]['body'] }), { noAck: true });
    const tasks = Array.from({ length: 50 }, () => spec('echo'));
    await s.submit(tasks);
    const flat = () => seen.flatMap((m) => (m.body.type === 'task_events' ? m.body.events ?? [] : [m.body as { task_id: string; status: string }]));
    const deadline = Date.now() + 5000;
    while (flat().length < 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    // 50 tasks × (pending, queued) from one submit: two messages, one per routing key.
    expect(seen.map((m) => `${m.body.type} ${m.routingKey}`)).toEqual(['task_events task.pending.echo', 'task_events task.queued.echo']);
    for (const m of seen) expect(validators.eventMessage(m.body).ok).toBe(true);
    for (const t of tasks) expect(flat().filter((e) => e.task_id === t.task_id).map((e) => e.status)).toEqual(['pending', 'queued']);
  });

  it('dead-letters a schema-invalid command with its reason and keeps working', async () => {
    const s = await setup();
    await publishRaw(s.config.amqp.url, s.executor.topology.exchanges.commands, 'command', JSON.stringify({ type: 'submit', tasks: 'nope' }));
    const dead = await drainQueue(s.config.amqp.url, s.executor.topology.queues.deadLetter, { min: 1, timeoutMs: 5000 });
    expect(String(dead[0]?.headers['x-sje-reason'])).toMatch(/schema validation failed/);
    const task = spec('echo');
    await s.submit([task]);
    await s.waitStatus(task.task_id, 'queued');
  });
});
