/**
 * Assignment at idle against the real RabbitMQ, with the worker side played
 * by hand: a registered worker with a free slot is sent its task, already
 * running, in an `assign`; the task stays its worker's while the heartbeats
 * carry the assign's mark, and is handed on to the pool queue when they do
 * not — also after a task-manager restart, for an assignment the previous
 * process may never have sent. Tasks past the worker's free slots are held by
 * the task-manager and assigned as runs end, also across a restart.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Broker,
  createLogger,
  createTopology,
  uuidv7,
  validators,
  type AssignCommand,
  type AssignmentMark,
  type ControlMessage,
  type DispatchMessage,
  type SjeConfig,
  type TaskSpec,
  type WorkerHeartbeat,
} from '../packages/core/src/index.js';
import { createTaskManager, type TaskManager } from '../packages/task-manager/src/index.js';
import { nextAssignMark } from '../packages/worker/src/internal/assign-mark.js';
import { drainQueue } from './helpers/broker.js';
import { handWorkerBroker } from './helpers/hand-worker-broker.js';
import { disposeTestConfig, testConfig } from './helpers/stack.js';

const silent = createLogger({ service: 'test', silent: true });
const TIMEOUT_MS = 1500;

/** A registered worker played by hand: it records its `assign` messages and heartbeats when told. */
class Assignee {
  readonly assigns: AssignCommand[] = [];
  readonly id = `assignee-${uuidv7().slice(-6)}`;
  /** Assigns (1 = the first to arrive) dropped as if lost on the way. */
  readonly lose = new Set<number>();
  private arrived = 0;
  private assignMark: AssignmentMark | undefined;
  private readonly broker: Broker;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly config: SjeConfig) {
    this.broker = handWorkerBroker(config, this.id, silent);
  }

  get tasks(): DispatchMessage[] {
    return this.assigns.flatMap((a) => a.tasks);
  }

  /** The mark a worker's heartbeat carries, as the worker keeps it. */
  get mark(): AssignmentMark | undefined {
    return this.assignMark;
  }

  private take(m: AssignCommand): void {
    this.arrived += 1;
    if (this.lose.has(this.arrived)) return;
    this.assigns.push(m);
    this.assignMark = nextAssignMark(this.assignMark, m);
  }

  async start(): Promise<void> {
    await this.broker.start();
    const t = this.broker.topology;
    await this.broker.consume(t.workerControlQueue(this.id), async (m) => this.onControl(m), {
      validate: validators.control,
      prefetch: 10,
      exclusive: true,
    });
    await this.register();
  }

  /** Requests to register again received. */
  registerRequests = 0;

  private async onControl(m: ControlMessage): Promise<void> {
    if (m.type === 'assign') this.take(m);
    if (m.type === 'register_request') {
      this.registerRequests += 1;
      await this.register();
    }
  }

  private async register(): Promise<void> {
    await this.send({ type: 'register', worker_id: this.id, host: 'test', pid: 1, queues: ['default'], functions: ['echo'], concurrency: 8, started_at: this.startedAt });
  }

  private readonly startedAt = new Date().toISOString();

  /** Heartbeats every 200 ms, with what `beat` makes of each. */
  heartbeatEvery(beat: (hb: WorkerHeartbeat) => WorkerHeartbeat): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = setInterval(() => void this.send(beat({ type: 'heartbeat', worker_id: this.id, host: 'test', running: [], at: new Date().toISOString() })), 200);
  }

  /** Heartbeats that carry its mark, as a worker's do. */
  heartbeatWithMark(): void {
    this.heartbeatEvery((hb) => ({ ...hb, ...(this.mark ? { assigned: this.mark } : {}) }));
  }

  /** Heartbeats that carry its mark and list every task it took in as running. */
  heartbeatListingAll(): void {
    this.heartbeatEvery((hb) => ({ ...hb, running: this.tasks.map((t) => ({ task_id: t.task_id, lease_id: t.lease_id })), ...(this.mark ? { assigned: this.mark } : {}) }));
  }

  /** Leaves the pool, giving nothing back (its runs go on and report). */
  async deregister(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.send({ type: 'deregister', worker_id: this.id, at: new Date().toISOString(), released: [] });
  }

  async succeed(d: DispatchMessage): Promise<void> {
    const t = this.broker.topology;
    await this.broker.publish(t.exchanges.commands, t.routingKeys.command, { type: 'outcome', task_id: d.task_id, lease_id: d.lease_id, worker_id: this.id, outcome: 'succeeded', result: { ok: true }, at: new Date().toISOString() });
  }

  private async send(msg: object): Promise<void> {
    const t = this.broker.topology;
    await this.broker.publish(t.exchanges.commands, t.routingKeys.worker, msg, { persistent: false });
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.broker.close();
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function setup(taskManager: Record<string, unknown> = {}) {
  const config = await testConfig({ task_manager: { worker_timeout_ms: TIMEOUT_MS, ...taskManager } });
  const make = (): Promise<TaskManager> => createTaskManager({ config, logger: silent, opsPort: false });
  let tm = await make();
  await tm.start();
  const executor = new Broker({ url: config.amqp.url, topology: createTopology({ prefix: config.topology.prefix }), logger: silent, service: 'executor' });
  await executor.start();
  const worker = new Assignee(config);
  await worker.start();
  cleanups.push(async () => {
    await worker.close();
    await executor.close();
    await tm.close();
    await disposeTestConfig(config, ['default']);
  });
  const submit = async (): Promise<string> => {
    const spec: TaskSpec = { task_id: uuidv7(), function: 'echo', params: {}, queue: 'default', priority: 0, depends_on: [], labels: {} };
    await executor.publish(executor.topology.exchanges.commands, 'command', { type: 'submit', tasks: [spec], submitted_at: new Date().toISOString() });
    return spec.task_id;
  };
  const record = async (id: string) => (await tm.store.getTasks([id])).get(id);
  await until('the worker registered', async () => {
    const gauge = await tm.runtime.metrics.getSingleMetric('sje_workers_registered')?.get();
    return (gauge?.values[0]?.value ?? 0) >= 1;
  });
  const poolQueue = (): Promise<DispatchMessage[]> =>
    drainQueue(config.amqp.url, executor.topology.taskQueue('default'), { min: 1, timeoutMs: 5000 }).then((got) => got.map((m) => m.body as DispatchMessage));
  const restart = async (): Promise<void> => {
    await tm.close();
    tm = await make();
    await tm.start();
  };
  const counter = async (name: string): Promise<number> => (await tm.runtime.metrics.getSingleMetric(name)?.get())?.values[0]?.value ?? 0;
  /** A gauge's value for pool `default` (0 when it has none). */
  const poolGauge = async (name: string): Promise<number> =>
    (await tm.runtime.metrics.getSingleMetric(name)?.get())?.values.find((v) => v.labels.queue === 'default')?.value ?? 0;
  /** Messages ready in the pool's queue, as the broker counts them. */
  const readyInPool = (): Promise<number> =>
    executor.withChannel(async (ch) => (await ch.checkQueue(executor.topology.taskQueue('default'))).messageCount).catch(() => 0); // no such queue: nothing in it
  /** Another hand-played worker of the pool, registered now. */
  const anotherWorker = async (): Promise<Assignee> => {
    const other = new Assignee(config);
    cleanups.push(() => other.close());
    await other.start();
    return other;
  };
  /** Submits `n` tasks, more than the worker's 8 slots, and waits until 8 are assigned and the rest held; returns their ids. */
  const submitPastSlots = async (n: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push(await submit());
    await until(`eight assigned, ${n - 8} held`, async () => worker.tasks.length === 8 && (await poolGauge('sje_tasks_held')) === n - 8);
    return ids;
  };
  return { worker, submit, record, poolQueue, restart, counter, poolGauge, readyInPool, anotherWorker, submitPastSlots };
}

describe('assignment at idle', () => {
  it('sends a task to a registered worker with a free slot, running at once; it stays there while the heartbeats carry the mark', async () => {
    const s = await setup();
    s.worker.heartbeatWithMark();
    const id = await s.submit();
    await until('its assign', () => s.worker.tasks.some((t) => t.task_id === id));
    const sent = s.worker.tasks.find((t) => t.task_id === id)!;
    const stored = await s.record(id);
    expect(stored).toMatchObject({ status: 'running', worker_id: s.worker.id, lease_id: sent.lease_id, deliveries: 1 });
    expect(stored?.history.map((h) => h.status)).toEqual(['pending', 'queued', 'running']);
    // Twice the confirmation time later it is still the worker's, under the same lease.
    await new Promise((r) => setTimeout(r, 2 * TIMEOUT_MS));
    expect(await s.record(id)).toMatchObject({ status: 'running', worker_id: s.worker.id, lease_id: sent.lease_id });
    await s.worker.succeed(sent);
    await until('succeeded', async () => (await s.record(id))?.status === 'succeeded');
  });

  it('hands on to the pool queue a task whose worker does not take its assign in within worker_timeout_ms', async () => {
    const s = await setup();
    // Heartbeats (the worker is alive) without the mark: the assign never arrived.
    s.worker.heartbeatEvery((hb) => hb);
    const id = await s.submit();
    await until('its assign', () => s.worker.tasks.some((t) => t.task_id === id));
    const assignedLease = (await s.record(id))?.lease_id;
    const [dispatch] = await s.poolQueue();
    expect(dispatch).toMatchObject({ type: 'dispatch', task_id: id });
    expect(dispatch!.lease_id).not.toBe(assignedLease);
    const after = await s.record(id);
    expect(after).toMatchObject({ status: 'queued', lease_id: dispatch!.lease_id });
    expect(after?.history.at(-1)?.reason).toBe(`not taken in by worker ${s.worker.id} in time`);
    expect(await s.counter('sje_assignments_handed_on_total')).toBe(1);
    expect(await s.counter('sje_tasks_assigned_total')).toBe(1);
  });

  it('holds the tasks past the free slots, counted as queue depth, and assigns them in order as runs end; the pool queue gets none', async () => {
    const s = await setup();
    s.worker.heartbeatWithMark();
    const ids = await s.submitPastSlots(12);
    expect(s.worker.tasks.map((t) => t.task_id)).toEqual(ids.slice(0, 8));
    expect(await s.poolGauge('sje_queue_depth')).toBe(4);
    expect((await s.record(ids[8]!))?.status).toBe('queued');
    for (const d of s.worker.tasks.slice(0, 3)) await s.worker.succeed(d);
    await until('three more assigned', () => s.worker.tasks.length === 11);
    expect(s.worker.tasks.slice(8).map((t) => t.task_id)).toEqual(ids.slice(8, 11));
    expect(await s.record(ids[8]!)).toMatchObject({ status: 'running', worker_id: s.worker.id, deliveries: 1 });
    for (const d of s.worker.tasks.slice(3)) await s.worker.succeed(d);
    await until('the last assigned', () => s.worker.tasks.length === 12);
    await s.worker.succeed(s.worker.tasks[11]!);
    await until('all succeeded', async () => (await Promise.all(ids.map((id) => s.record(id)))).every((r) => r?.status === 'succeeded'));
    expect(await s.readyInPool()).toBe(0);
    expect(await s.counter('sje_tasks_assigned_total')).toBe(12);
    expect(await s.poolGauge('sje_tasks_held')).toBe(0);
  });

  it('hands held tasks to a worker that registers with free slots, without waiting for a run to end', async () => {
    // The delay scheduler's tick runs a batch too (at most every scheduler_tick_ms): out of the way here.
    const s = await setup({ scheduler_tick_ms: 120_000 });
    s.worker.heartbeatWithMark();
    const ids = await s.submitPastSlots(12);
    const newcomer = await s.anotherWorker();
    await until('the newcomer assigned the held tasks', () => newcomer.tasks.length === 4);
    expect(newcomer.tasks.map((t) => t.task_id)).toEqual(ids.slice(8));
    expect(await s.record(ids[8]!)).toMatchObject({ status: 'running', worker_id: newcomer.id });
    expect(await s.poolGauge('sje_tasks_held')).toBe(0);
    expect(s.worker.tasks).toHaveLength(8);
  });

  it('sends the held tasks to the pool queue when the pool\'s last worker leaves, where the broker counts them', async () => {
    const s = await setup();
    s.worker.heartbeatWithMark();
    const ids = await s.submitPastSlots(11);
    const leases = await Promise.all(ids.slice(8).map(async (id) => (await s.record(id))?.lease_id));
    await s.worker.deregister();
    const sent = await s.poolQueue();
    expect(sent.map((d) => [d.task_id, d.lease_id])).toEqual(ids.slice(8).map((id, i) => [id, leases[i]]));
    expect(await s.poolGauge('sje_tasks_held')).toBe(0);
    for (const id of ids.slice(8)) expect((await s.record(id))?.status).toBe('queued');
  });

  it('after a restart, sends the tasks the previous process held to the pool queue, under their leases', async () => {
    const s = await setup();
    s.worker.heartbeatListingAll();
    const ids = await s.submitPastSlots(10);
    const leases = await Promise.all(ids.slice(8).map(async (id) => (await s.record(id))?.lease_id));
    await s.restart();
    const sent = await s.poolQueue();
    expect(sent.map((d) => [d.task_id, d.lease_id])).toEqual(ids.slice(8).map((id, i) => [id, leases[i]]));
    for (const id of ids.slice(8)) expect((await s.record(id))?.status).toBe('queued');
    expect(await s.poolGauge('sje_tasks_held')).toBe(0);
    // What the worker held stays its own.
    for (const d of s.worker.tasks) expect(await s.record(d.task_id)).toMatchObject({ status: 'running', worker_id: s.worker.id, lease_id: d.lease_id });
  });

  it('hands on the tasks of an assign lost on the way, though later assigns arrived; the later ones stay', async () => {
    const s = await setup();
    s.worker.lose.add(2);
    s.worker.heartbeatListingAll();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(await s.submit());
      await until(`task ${i + 1} assigned`, async () => (await s.record(ids[i]!))?.status === 'running');
    }
    await until('the third assign taken in', () => s.worker.tasks.length === 2);
    expect(s.worker.tasks.map((t) => t.task_id)).toEqual([ids[0], ids[2]]);
    const [dispatch] = await s.poolQueue();
    expect(dispatch).toMatchObject({ type: 'dispatch', task_id: ids[1] });
    expect(await s.record(ids[1]!)).toMatchObject({ status: 'queued', lease_id: dispatch!.lease_id });
    for (const t of s.worker.tasks) expect(await s.record(t.task_id)).toMatchObject({ status: 'running', worker_id: s.worker.id, lease_id: t.lease_id });
    expect(await s.counter('sje_assignments_handed_on_total')).toBe(1);
  });

  it('after a restart, asks a worker it knows only from heartbeats to register again, and then assigns to it', async () => {
    const s = await setup();
    s.worker.heartbeatWithMark();
    const first = await s.submit();
    await until('the first task assigned', async () => (await s.record(first))?.status === 'running');
    await s.restart();
    await until('asked to register again', () => s.worker.registerRequests > 0);
    // Until its register is read, a new task goes through the pool queue; after it, tasks are assigned.
    let assigned: string | undefined;
    await until(
      'a task assigned by the new process',
      async () => {
        const id = await s.submit();
        await until('placed', async () => ['running', 'queued'].includes((await s.record(id))?.status ?? ''));
        if ((await s.record(id))?.status === 'running') assigned = id;
        return assigned !== undefined;
      },
      10_000,
    );
    await until('its assign taken in', () => s.worker.tasks.some((t) => t.task_id === assigned));
    expect(await s.record(assigned!)).toMatchObject({ status: 'running', worker_id: s.worker.id });
  });

  it('after a restart, hands on a running task its worker does not list within worker_timeout_ms', async () => {
    const s = await setup();
    s.worker.heartbeatWithMark();
    const listed = await s.submit();
    const dropped = await s.submit();
    await until('both assigns', () => [listed, dropped].every((id) => s.worker.tasks.some((t) => t.task_id === id)));
    const keep = s.worker.tasks.find((t) => t.task_id === listed)!;
    // The new process cannot tell whether it sent them: the worker lists only `listed` as held, and its mark names the old process.
    s.worker.heartbeatEvery((hb) => ({ ...hb, running: [{ task_id: keep.task_id, lease_id: keep.lease_id }], ...(s.worker.mark ? { assigned: s.worker.mark } : {}) }));
    await s.restart();
    const [dispatch] = await s.poolQueue();
    expect(dispatch).toMatchObject({ task_id: dropped });
    expect(await s.record(listed)).toMatchObject({ status: 'running', lease_id: keep.lease_id, worker_id: s.worker.id });
  });
});
