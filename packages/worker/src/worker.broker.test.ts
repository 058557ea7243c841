/**
 * The worker against a real RabbitMQ, with the task-manager's side played by
 * hand: dispatches go to the task queue, claims are read from the commands
 * queue and answered on the control exchange.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import {
  assertTaskQueue,
  assertTopology,
  createLogger,
  createTopology,
  deleteTopology,
  ErrorCode,
  loadConfig,
  type AbortCommand,
  type AssignCommand,
  type ControlMessage,
  type DispatchMessage,
  type LeaseGrant,
  type LeaseGrants,
  type OutcomeReport,
  type ProgressReport,
  type ReportReceipt,
  type SjePlugin,
  type StartedReport,
  type Topology,
  type WorkerMessage,
} from '@sje/core';
import { sleep } from '@sje/examples';
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskHandler } from './task-handler.js';
import { createWorker, type Worker } from './worker.js';

const AMQP_URL = process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
const run = promisify(execFile);

/** Closes this process's worker connection from the broker side; false when rabbitmqctl is not usable here. */
async function dropWorkerConnection(): Promise<boolean> {
  try {
    const { stdout } = await run('rabbitmqctl', ['-q', '--no-table-headers', 'list_connections', 'pid', 'client_properties'], { timeout: 10_000 });
    const line = stdout.split('\n').find((l) => l.includes(`{"connection_name","sje-worker-${process.pid}"}`));
    if (!line) return false;
    await run('rabbitmqctl', ['close_connection', line.split('\t')[0] ?? '', 'test: connection dropped'], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

type Report = StartedReport | ProgressReport | OutcomeReport;

/** The task-manager's side of the protocol, by hand. */
class Harness {
  readonly reports: Report[] = [];
  readonly workerMessages: WorkerMessage[] = [];
  /** The queue each report arrived on. */
  readonly queueOf = new Map<Report, string>();
  /** Whether each report arrived as a persistent message. */
  readonly persistentOf = new Map<Report, boolean>();
  /** When set, every claim is answered with this. */
  autoGrant: boolean | undefined;
  /** The receipt each report's message asked for (sent transient at idle). */
  readonly receiptOf = new Map<Report, ReportReceipt>();
  /** Answer `stored` to every message that asks for a receipt, as the task-manager does. */
  answerReceipts = true;
  /** Settings of the worker's `worker` config section for the next {@link Harness.startWorker}. */
  workerSettings: Record<string, unknown> = {};
  worker!: Worker;

  private constructor(
    readonly topology: Topology,
    private readonly conn: ChannelModel,
    readonly ch: ConfirmChannel,
  ) {}

  static async open(): Promise<Harness> {
    const topology = createTopology({ prefix: `t-${randomUUID().slice(0, 8)}` });
    const conn = await connect(AMQP_URL, { noDelay: true });
    const ch = await conn.createConfirmChannel();
    await assertTopology(ch, topology);
    await assertTaskQueue(ch, topology, 'default');
    const h = new Harness(topology, conn, ch);
    // Claims arrive on the claims queue, other reports on the commands queue.
    for (const queue of [topology.queues.commands, topology.queues.claims]) {
      await ch.consume(
        queue,
        (msg) => {
          if (!msg) return;
          // Under load the worker coalesces reports into one `reports` message.
          const body = JSON.parse(msg.content.toString()) as (Report | { type: 'reports'; reports: Report[] }) & { receipt?: ReportReceipt };
          for (const report of body.type === 'reports' ? body.reports : [body]) {
            h.reports.push(report);
            h.queueOf.set(report, queue);
            h.persistentOf.set(report, msg.properties.deliveryMode === 2);
            if (body.receipt) h.receiptOf.set(report, body.receipt);
            if (report.type === 'started' && h.autoGrant !== undefined) void h.grant(report.task_id, report.lease_id, h.autoGrant);
          }
          if (body.receipt && h.answerReceipts) void h.control({ type: 'stored', seq: body.receipt.seq });
        },
        { noAck: true },
      );
    }
    await ch.consume(topology.queues.workers, (msg) => msg && h.workerMessages.push(JSON.parse(msg.content.toString()) as WorkerMessage), { noAck: true });
    return h;
  }

  async startWorker(
    handlers: Record<string, TaskHandler>,
    concurrency = 4,
    plugins: SjePlugin[] = [],
    logger = createLogger({ service: 'worker', silent: true }),
  ): Promise<Worker> {
    const config = loadConfig({ env: {}, overrides: { topology: { prefix: this.topology.prefix }, worker: { heartbeat_ms: 200, ...this.workerSettings } } });
    this.worker = await createWorker({
      handlers,
      config,
      concurrency,
      workerId: `w-${this.topology.prefix}`,
      logger,
      opsPort: 0,
      plugins: plugins.map((plugin) => ({ plugin })),
    });
    await this.worker.start();
    await this.until(() => this.workerMessages.some((m) => m.type === 'register'));
    return this.worker;
  }

  async dispatch(fn: string, params: Record<string, unknown> = {}, extra: Partial<DispatchMessage> = {}): Promise<DispatchMessage> {
    const id = randomUUID();
    const msg: DispatchMessage = { type: 'dispatch', task_id: `task-${id}`, lease_id: `lease-${id}`, function: fn, params, attempt: 1, queue: 'default', priority: 0, labels: {}, ...extra };
    this.ch.publish(this.topology.exchanges.tasks, 'default', Buffer.from(JSON.stringify(msg)), { persistent: true });
    await this.ch.waitForConfirms();
    return msg;
  }

  /** Publishes one `dispatches` message of `n` tasks. */
  async dispatchGroup(fn: string, n: number, params: Record<string, unknown> = {}): Promise<DispatchMessage[]> {
    const tasks = Array.from({ length: n }, (): DispatchMessage => {
      const id = randomUUID();
      return { type: 'dispatch', task_id: `task-${id}`, lease_id: `lease-${id}`, function: fn, params, attempt: 1, queue: 'default', priority: 0, labels: {} };
    });
    this.ch.publish(this.topology.exchanges.tasks, 'default', Buffer.from(JSON.stringify({ type: 'dispatches', tasks })), { persistent: true });
    await this.ch.waitForConfirms();
    return tasks;
  }

  async grant(taskId: string, leaseId: string, granted: boolean): Promise<void> {
    const msg: LeaseGrant = { type: 'grant', task_id: taskId, lease_id: leaseId, granted, ...(granted ? {} : { reason: 'task cancelled' }) };
    this.ch.publish(this.topology.exchanges.control, this.topology.controlKeyFor(this.worker.id), Buffer.from(JSON.stringify(msg)));
    await this.ch.waitForConfirms();
  }

  /** Sends an `assign` of new tasks (already granted) to the worker; returns them. */
  async assign(fn: string, params: Record<string, unknown>[], seq: number, epoch = 'epoch-1'): Promise<DispatchMessage[]> {
    const tasks = params.map((p): DispatchMessage => {
      const id = randomUUID();
      return { type: 'dispatch', task_id: `task-${id}`, lease_id: `lease-${id}`, function: fn, params: p, attempt: 1, queue: 'default', priority: 0, labels: {} };
    });
    await this.sendAssign({ type: 'assign', epoch, seq, tasks });
    return tasks;
  }

  async sendAssign(msg: AssignCommand): Promise<void> {
    this.ch.publish(this.topology.exchanges.control, this.topology.controlKeyFor(this.worker.id), Buffer.from(JSON.stringify(msg)));
    await this.ch.waitForConfirms();
  }

  /** Sends one assign of one new `echo` task with `seq` and `base`; returns the task. */
  async sendAssignTo(seq: number, base: number): Promise<DispatchMessage> {
    const id = randomUUID();
    const task: DispatchMessage = { type: 'dispatch', task_id: `task-${id}`, lease_id: `lease-${id}`, function: 'echo', params: {}, attempt: 1, queue: 'default', priority: 0, labels: {} };
    await this.sendAssign({ type: 'assign', epoch: 'epoch-1', seq, base, tasks: [task] });
    return task;
  }

  /** Publishes a control message to the worker. */
  async control(msg: ControlMessage): Promise<void> {
    this.ch.publish(this.topology.exchanges.control, this.topology.controlKeyFor(this.worker.id), Buffer.from(JSON.stringify(msg)));
    await this.ch.waitForConfirms();
  }

  async abort(msg: AbortCommand): Promise<void> {
    this.ch.publish(this.topology.exchanges.control, this.topology.routingKeys.controlBroadcast, Buffer.from(JSON.stringify(msg)));
    await this.ch.waitForConfirms();
  }

  claims(leaseId?: string): StartedReport[] {
    return this.reports.filter((r): r is StartedReport => r.type === 'started' && (leaseId === undefined || r.lease_id === leaseId));
  }

  outcomes(leaseId?: string): OutcomeReport[] {
    return this.reports.filter((r): r is OutcomeReport => r.type === 'outcome' && (leaseId === undefined || r.lease_id === leaseId));
  }

  async outcome(leaseId: string, timeoutMs = 5000): Promise<OutcomeReport> {
    await this.until(() => this.outcomes(leaseId).length > 0, timeoutMs);
    return this.outcomes(leaseId)[0] as OutcomeReport;
  }

  async until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async readyCount(): Promise<number> {
    return (await this.ch.checkQueue(this.topology.taskQueue('default'))).messageCount;
  }

  async close(): Promise<void> {
    await this.worker?.close({ graceMs: 0 });
    await deleteTopology(this.ch, this.topology, ['default']);
    await this.ch.close();
    await this.conn.close();
  }
}

/** The worker's `sje_worker_report_messages_total`, by `way`, from its ops endpoint. */
async function reportMessagesByWay(worker: Worker): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${worker.opsPort}/metrics`)).text();
  const ways: Record<string, number> = {};
  for (const m of text.matchAll(/^sje_worker_report_messages_total\{[^}]*way="(\w+)"[^}]*\} (\d+)$/gm)) ways[m[1]!] = Number(m[2]);
  return ways;
}

let harness: Harness | undefined;
async function open(): Promise<Harness> {
  harness = await Harness.open();
  return harness;
}
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('worker against RabbitMQ', () => {
  it('registers, claims a dispatch, runs it once granted and reports the result', async () => {
    const h = await open();
    const worker = await h.startWorker({ echo: (p: unknown) => p });
    const register = h.workerMessages.find((m) => m.type === 'register');
    expect(register).toMatchObject({ worker_id: worker.id, queues: ['default'], functions: ['echo'], concurrency: 4, pid: process.pid });
    expect(worker.opsPort).toBeGreaterThan(0);
    const ready = await fetch(`http://127.0.0.1:${worker.opsPort}/readyz`);
    expect(ready.status).toBe(200);

    const task = await h.dispatch('echo', { hello: 'world', n: [1, 2] });
    await h.until(() => h.claims(task.lease_id).length === 1);
    expect(h.claims(task.lease_id)[0]).toMatchObject({ task_id: task.task_id, worker_id: worker.id });
    expect(h.outcomes()).toHaveLength(0);
    await h.grant(task.task_id, task.lease_id, true);
    const outcome = await h.outcome(task.lease_id);
    expect(outcome).toMatchObject({ type: 'outcome', task_id: task.task_id, worker_id: worker.id, outcome: 'succeeded', result: { hello: 'world', n: [1, 2] } });
    await worker.close({ graceMs: 0 });
    expect(await h.readyCount()).toBe(0);
    // Its one outcome was confirmed before: it gives nothing back.
    expect(h.workerMessages.at(-1)).toMatchObject({ type: 'deregister', worker_id: worker.id, released: [] });
  });

  it('on close, names in its deregister the claim it gave up unanswered, which the task-manager may have granted', async () => {
    const h = await open();
    const worker = await h.startWorker({ echo: (p: unknown) => p });
    const task = await h.dispatch('echo', { x: 1 });
    await h.until(() => h.claims(task.lease_id).length === 1);
    await worker.close({ graceMs: 0 });
    expect(h.outcomes(task.lease_id)).toEqual([]);
    expect(h.workerMessages.at(-1)).toMatchObject({ type: 'deregister', worker_id: worker.id, released: [{ task_id: task.task_id, lease_id: task.lease_id }] });
  });

  it('logs the end of each run at level info, with its task, function and outcome', async () => {
    const h = await open();
    const stream = new PassThrough();
    const lines: Record<string, unknown>[] = [];
    stream.on('data', (chunk: Buffer) => {
      for (const l of chunk.toString().trim().split('\n')) lines.push(JSON.parse(l) as Record<string, unknown>);
    });
    await h.startWorker({ echo: (p: unknown) => p }, 4, [], createLogger({ service: 'worker', format: 'json', level: 'info', stream }));
    const task = await h.dispatch('echo', { a: 1 });
    await h.until(() => h.claims(task.lease_id).length === 1);
    await h.grant(task.task_id, task.lease_id, true);
    await h.outcome(task.lease_id);
    await h.until(() => lines.some((l) => l['message'] === 'task run ended'));
    expect(lines.find((l) => l['message'] === 'task run ended')).toMatchObject({ level: 'info', task_id: task.task_id, function: 'echo', outcome: 'succeeded' });
  });

  it('sends claims transient on the claims queue and, with report_receipts off, outcomes persistent on the commands queue', async () => {
    const h = await open();
    h.workerSettings = { report_receipts: false };
    const worker = await h.startWorker({ echo: (p: unknown) => p });
    const task = await h.dispatch('echo', { a: 1 });
    await h.until(() => h.claims(task.lease_id).length === 1);
    const claim = h.claims(task.lease_id)[0]!;
    expect(h.queueOf.get(claim)).toBe(h.topology.queues.claims);
    expect(h.persistentOf.get(claim)).toBe(false);
    await h.grant(task.task_id, task.lease_id, true);
    const outcome = await h.outcome(task.lease_id);
    expect(h.queueOf.get(outcome)).toBe(h.topology.queues.commands);
    expect(h.persistentOf.get(outcome)).toBe(true);
    expect(h.receiptOf.has(outcome)).toBe(false);
    expect(await reportMessagesByWay(worker)).toEqual({ durable: 1 });
    await worker.close({ graceMs: 0 });
  });

  it('at idle sends an outcome transient on the claims queue with a receipt, and nothing more once told it is stored', async () => {
    const h = await open();
    const worker = await h.startWorker({ echo: (p: unknown) => p });
    const [task] = await h.assign('echo', [{ a: 1 }], 1);
    const outcome = await h.outcome(task!.lease_id);
    expect(outcome).toMatchObject({ outcome: 'succeeded', result: { a: 1 } });
    expect(h.queueOf.get(outcome)).toBe(h.topology.queues.claims);
    expect(h.persistentOf.get(outcome)).toBe(false);
    expect(h.receiptOf.get(outcome)).toEqual({ worker_id: worker.id, seq: expect.any(Number) as number });
    // Past the receipt's time limit: no durable copy follows a stored one.
    await new Promise((r) => setTimeout(r, 1500));
    expect(h.outcomes(task!.lease_id)).toHaveLength(1);
    expect(await reportMessagesByWay(worker)).toEqual({ receipt: 1 });
    await worker.close({ graceMs: 0 });
  });

  it('sends an outcome again, durable on the commands queue, when no receipt comes within a second', async () => {
    const h = await open();
    h.answerReceipts = false;
    const worker = await h.startWorker({ echo: (p: unknown) => p });
    const [task] = await h.assign('echo', [{ b: 2 }], 1);
    await h.until(() => h.outcomes(task!.lease_id).length === 2, 5000);
    const [transient, durable] = h.outcomes(task!.lease_id);
    expect(h.queueOf.get(transient!)).toBe(h.topology.queues.claims);
    expect(h.queueOf.get(durable!)).toBe(h.topology.queues.commands);
    expect(h.persistentOf.get(durable!)).toBe(true);
    expect(h.receiptOf.has(durable!)).toBe(false);
    expect(durable).toMatchObject({ outcome: 'succeeded', result: { b: 2 }, lease_id: transient!.lease_id });
    // The durable copy was confirmed: the worker lets go, and nothing else is sent for it.
    await new Promise((r) => setTimeout(r, 1500));
    expect(h.outcomes(task!.lease_id)).toHaveLength(2);
    expect(await reportMessagesByWay(worker)).toEqual({ fallback: 1 });
    await worker.close({ graceMs: 0 });
  });

  it('takes the answers to several claims from one grants message', async () => {
    const h = await open();
    const ran: string[] = [];
    const worker = await h.startWorker({ spy: (p: { n: number }) => ran.push(String(p.n)) }, 4);
    const tasks = [await h.dispatch('spy', { n: 1 }), await h.dispatch('spy', { n: 2 }), await h.dispatch('spy', { n: 3 })];
    await h.until(() => tasks.every((t) => h.claims(t.lease_id).length === 1));
    const msg: LeaseGrants = {
      type: 'grants',
      grants: [
        { type: 'grant', task_id: tasks[0]!.task_id, lease_id: tasks[0]!.lease_id, granted: true },
        { type: 'grant', task_id: tasks[1]!.task_id, lease_id: tasks[1]!.lease_id, granted: false, reason: 'task cancelled' },
        { type: 'grant', task_id: tasks[2]!.task_id, lease_id: tasks[2]!.lease_id, granted: true },
      ],
    };
    h.ch.publish(h.topology.exchanges.control, h.topology.controlKeyFor(worker.id), Buffer.from(JSON.stringify(msg)));
    await h.ch.waitForConfirms();
    await h.outcome(tasks[0]!.lease_id);
    await h.outcome(tasks[2]!.lease_id);
    await new Promise((r) => setTimeout(r, 300));
    expect(ran.sort()).toEqual(['1', '3']);
    await worker.close({ graceMs: 0 });
    expect(await h.readyCount()).toBe(0);
  });

  it('never runs a task whose claim is refused, and acks its dispatch', async () => {
    const h = await open();
    let calls = 0;
    const worker = await h.startWorker({ spy: () => ++calls });
    const task = await h.dispatch('spy');
    await h.until(() => h.claims(task.lease_id).length === 1);
    await h.grant(task.task_id, task.lease_id, false);
    await new Promise((r) => setTimeout(r, 400));
    expect(calls).toBe(0);
    expect(h.outcomes()).toHaveLength(0);
    await worker.close({ graceMs: 0 });
    expect(await h.readyCount()).toBe(0);
  });

  it('repeats an unanswered claim every 5 s', async () => {
    const h = await open();
    await h.startWorker({ echo: (p: unknown) => p });
    const task = await h.dispatch('echo', { a: 1 });
    await h.until(() => h.claims(task.lease_id).length === 1);
    const first = Date.now();
    await h.until(() => h.claims(task.lease_id).length === 2, 8000);
    expect(Date.now() - first).toBeGreaterThanOrEqual(4500);
    await h.grant(task.task_id, task.lease_id, true);
    expect((await h.outcome(task.lease_id)).outcome).toBe('succeeded');
  });

  it('aborts a running task on an abort command and reports it cancelled; heartbeats list it meanwhile', async () => {
    const h = await open();
    let signalReason: unknown;
    await h.startWorker({
      sleep: async (p: { ms: number }, ctx) => {
        ctx.signal.addEventListener('abort', () => (signalReason = ctx.signal.reason));
        return await sleep(p, ctx);
      },
    });
    h.autoGrant = true;
    const task = await h.dispatch('sleep', { ms: 30_000 });
    await h.until(() => h.workerMessages.some((m) => m.type === 'heartbeat' && m.running.some((r) => r.lease_id === task.lease_id)));
    await h.until(() => h.reports.some((r) => r.type === 'progress' && r.lease_id === task.lease_id), 3000);
    const t0 = Date.now();
    await h.abort({ type: 'abort', task_id: task.task_id, lease_id: task.lease_id, reason: 'cancelled' });
    const outcome = await h.outcome(task.lease_id);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(outcome).toMatchObject({ outcome: 'cancelled', error: { code: ErrorCode.TASK_CANCELLED } });
    expect(signalReason).toBe('cancelled');
    expect(h.worker.running).toBe(0);
  });

  it('runs an assigned task at once, without a claim, and its heartbeats carry the mark of the last assign taken in', async () => {
    const h = await open();
    const worker = await h.startWorker({ echo: (p: unknown) => p });
    const [task] = (await h.assign('echo', [{ hello: 'assigned' }], 7)) as [DispatchMessage];
    const outcome = await h.outcome(task.lease_id);
    expect(outcome).toMatchObject({ task_id: task.task_id, worker_id: worker.id, outcome: 'succeeded', result: { hello: 'assigned' } });
    expect(h.claims(task.lease_id)).toEqual([]);
    await h.until(() => h.workerMessages.some((m) => m.type === 'heartbeat' && m.assigned?.seq === 7));
    expect(h.workerMessages.findLast((m) => m.type === 'heartbeat')).toMatchObject({ assigned: { epoch: 'epoch-1', seq: 7 } });
    // A new task-manager process (another epoch) starts its numbers again: the mark follows it.
    await h.assign('echo', [{}], 1, 'epoch-2');
    await h.until(() => h.workerMessages.some((m) => m.type === 'heartbeat' && m.assigned?.epoch === 'epoch-2' && m.assigned.seq === 1));
  });

  it("keeps its mark before an assign that never arrived, though later ones of the same run did", async () => {
    const h = await open();
    await h.startWorker({ echo: (p: unknown) => p });
    await h.outcome((await h.sendAssignTo(1, 1)).lease_id);
    // seq 2 is lost on the way; 3 arrives and runs, but the mark stays at 1.
    await h.outcome((await h.sendAssignTo(3, 1)).lease_id);
    const beats = h.workerMessages.length;
    await h.until(() => h.workerMessages.slice(beats).some((m) => m.type === 'heartbeat'));
    expect(h.workerMessages.slice(beats).findLast((m) => m.type === 'heartbeat')).toMatchObject({ assigned: { epoch: 'epoch-1', seq: 1 } });
    // A new run of the sequence (the task-manager forgot the worker) starts from its base.
    await h.outcome((await h.sendAssignTo(10, 10)).lease_id);
    await h.until(() => h.workerMessages.some((m) => m.type === 'heartbeat' && m.assigned?.seq === 10));
  });

  it('sends its register again when the task-manager asks for it', async () => {
    const h = await open();
    await h.startWorker({ echo: (p: unknown) => p });
    const registers = (): number => h.workerMessages.filter((m) => m.type === 'register').length;
    expect(registers()).toBe(1);
    const asked = h.workerMessages.length;
    await h.control({ type: 'register_request' });
    await h.until(() => registers() === 2);
    // At once, not at its periodic register (every 15 heartbeats).
    expect(h.workerMessages.slice(asked).filter((m) => m.type === 'heartbeat').length).toBeLessThan(5);
    expect(h.workerMessages.findLast((m) => m.type === 'register')).toMatchObject({ type: 'register', worker_id: h.worker.id, queues: ['default'], functions: ['echo'], concurrency: 4 });
  });

  it('ignores an assignment of a lease it already holds', async () => {
    const h = await open();
    await h.startWorker({ sleep });
    const [task] = (await h.assign('sleep', [{ ms: 300 }], 1)) as [DispatchMessage];
    await h.until(() => h.worker.running === 1);
    await h.sendAssign({ type: 'assign', epoch: 'epoch-1', seq: 2, tasks: [task] });
    expect((await h.outcome(task.lease_id)).outcome).toBe('succeeded');
    await new Promise((r) => setTimeout(r, 400));
    expect(h.outcomes(task.lease_id)).toHaveLength(1);
  });

  it('keeps an assigned task waiting while every slot is taken; one aborted while it waits is reported cancelled without running', async () => {
    const h = await open();
    const started: string[] = [];
    await h.startWorker(
      {
        sleep: async (p: { ms: number; name: string }, ctx) => {
          started.push(p.name);
          return await sleep(p, ctx);
        },
      },
      1,
    );
    const [first, second, third] = (await h.assign('sleep', [{ ms: 400, name: 'first' }, { ms: 10, name: 'second' }, { ms: 10, name: 'third' }], 1)) as [
      DispatchMessage,
      DispatchMessage,
      DispatchMessage,
    ];
    await h.until(() => started.length === 1);
    await h.abort({ type: 'abort', task_id: second.task_id, lease_id: second.lease_id, reason: 'cancelled' });
    expect((await h.outcome(first.lease_id)).outcome).toBe('succeeded');
    expect(await h.outcome(second.lease_id)).toMatchObject({ outcome: 'cancelled', error: { code: ErrorCode.TASK_CANCELLED } });
    expect((await h.outcome(third.lease_id)).outcome).toBe('succeeded');
    expect(started).toEqual(['first', 'third']);
  });

  it('on close, hands back as requeue an assigned task that never got a slot, as it does the one running', async () => {
    const h = await open();
    await h.startWorker({ sleep }, 1);
    const [running, waiting] = (await h.assign('sleep', [{ ms: 30_000 }, { ms: 10 }], 1)) as [DispatchMessage, DispatchMessage];
    await h.until(() => h.worker.running === 2);
    await h.worker.close({ graceMs: 0 });
    expect(h.outcomes(waiting.lease_id)).toMatchObject([{ outcome: 'requeue' }]);
    expect(h.outcomes(running.lease_id)).toMatchObject([{ outcome: 'requeue' }]);
  });

  it('ignores an abort for another lease of the same task', async () => {
    const h = await open();
    await h.startWorker({ sleep });
    h.autoGrant = true;
    const task = await h.dispatch('sleep', { ms: 600 });
    await h.until(() => h.worker.running === 1);
    await h.abort({ type: 'abort', task_id: task.task_id, lease_id: 'an-older-lease', reason: 'cancelled' });
    expect((await h.outcome(task.lease_id)).outcome).toBe('succeeded');
  });

  it('runs at most `concurrency` tasks at once and claims no more than it can run', async () => {
    const h = await open();
    let active = 0;
    let maxActive = 0;
    const tracked: TaskHandler<{ ms: number }> = async (p, ctx) => {
      active += 1;
      maxActive = Math.max(maxActive, active);
      try {
        return await sleep(p, ctx);
      } finally {
        active -= 1;
      }
    };
    await h.startWorker({ sleep: tracked }, 2);
    const tasks = [];
    for (let i = 0; i < 5; i++) tasks.push(await h.dispatch('sleep', { ms: 200 }));
    await h.until(() => h.claims().length === 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.claims()).toHaveLength(2);
    h.autoGrant = true;
    for (const c of h.claims()) await h.grant(c.task_id, c.lease_id, true);
    await h.until(() => h.outcomes().length === 5, 10_000);
    expect(h.outcomes().every((o) => o.outcome === 'succeeded')).toBe(true);
    expect(new Set(h.outcomes().map((o) => o.lease_id))).toEqual(new Set(tasks.map((t) => t.lease_id)));
    expect(maxActive).toBe(2);
  });

  it('reports timed_out when a handler ignoring its signal outlives timeout_ms', async () => {
    const h = await open();
    await h.startWorker({ deaf: () => new Promise((r) => setTimeout(r, 3000)) });
    h.autoGrant = true;
    const task = await h.dispatch('deaf', {}, { timeout_ms: 300 });
    const outcome = await h.outcome(task.lease_id, 2000);
    expect(outcome).toMatchObject({ outcome: 'timed_out', error: { code: ErrorCode.TASK_TIMEOUT } });
  });

  it('fails an unknown function after claiming it, without retry', async () => {
    const h = await open();
    await h.startWorker({ echo: (p: unknown) => p });
    h.autoGrant = true;
    const task = await h.dispatch('no_such_function');
    const outcome = await h.outcome(task.lease_id);
    expect(h.claims(task.lease_id)).toHaveLength(1);
    expect(outcome).toMatchObject({ outcome: 'failed', error: { code: ErrorCode.UNKNOWN_FUNCTION, retryable: false } });
  });

  it('acks and ignores a second dispatch of a lease it is already running', async () => {
    const h = await open();
    let calls = 0;
    await h.startWorker({
      slow: async () => {
        calls += 1;
        await new Promise((r) => setTimeout(r, 500));
        return 'done';
      },
    });
    h.autoGrant = true;
    const task = await h.dispatch('slow');
    await h.until(() => calls === 1);
    await h.dispatch('slow', {}, { task_id: task.task_id, lease_id: task.lease_id });
    await h.outcome(task.lease_id);
    await new Promise((r) => setTimeout(r, 200));
    expect(calls).toBe(1);
    expect(h.claims(task.lease_id)).toHaveLength(1);
    expect(h.outcomes(task.lease_id)).toHaveLength(1);
    expect(await h.readyCount()).toBe(0);
  });

  it('on close, aborts tasks that outlive the grace time and reports them as requeue, then deregisters', async () => {
    const h = await open();
    await h.startWorker({ sleep });
    h.autoGrant = true;
    const task = await h.dispatch('sleep', { ms: 30_000 });
    await h.until(() => h.worker.running === 1);
    const t0 = Date.now();
    await h.worker.close({ graceMs: 300 });
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(h.outcomes(task.lease_id)).toEqual([expect.objectContaining({ outcome: 'requeue', error: expect.objectContaining({ code: ErrorCode.SHUTTING_DOWN }) as unknown })]);
    await h.until(() => h.workerMessages.some((m) => m.type === 'deregister'));
    // The aborted run was handed back by its (confirmed) requeue report, not by the deregister.
    expect(h.workerMessages.find((m) => m.type === 'deregister')).toMatchObject({ released: [] });
  });

  it('on close, lets a task finish within the grace time', async () => {
    const h = await open();
    await h.startWorker({ sleep });
    h.autoGrant = true;
    const task = await h.dispatch('sleep', { ms: 300 });
    await h.until(() => h.worker.running === 1);
    await h.worker.close({ graceMs: 5000 });
    expect(h.outcomes(task.lease_id)).toEqual([expect.objectContaining({ outcome: 'succeeded', result: { slept_ms: 300 } })]);
  });

  it('after a dropped connection, re-registers, repeats its claim at once and still runs the task once', async (ctx) => {
    const h = await open();
    let calls = 0;
    await h.startWorker({ echo: (p: unknown) => (calls++, p) });
    const task = await h.dispatch('echo', { x: 1 });
    await h.until(() => h.claims(task.lease_id).length === 1);
    if (!(await dropWorkerConnection())) {
      ctx.skip();
      return;
    }
    await h.until(() => h.workerMessages.filter((m) => m.type === 'register').length === 2, 10_000);
    await h.until(() => h.claims(task.lease_id).length === 2, 2000);
    await h.grant(task.task_id, task.lease_id, true);
    expect(await h.outcome(task.lease_id)).toMatchObject({ outcome: 'succeeded', result: { x: 1 } });
    await new Promise((r) => setTimeout(r, 200));
    expect(calls).toBe(1);
    await h.worker.close({ graceMs: 0 });
    expect(await h.readyCount()).toBe(0);
  });

  it('runs every task of a dispatches group once, and acks the delivery once every claim is answered', async () => {
    const h = await open();
    const ran: number[] = [];
    const worker = await h.startWorker({ spy: (p: { n: number }) => ran.push(p.n) }, 8);
    const tasks = await h.dispatchGroup('spy', 3, { n: 1 });
    await h.until(() => tasks.every((t) => h.claims(t.lease_id).length === 1));
    await h.grant(tasks[0]!.task_id, tasks[0]!.lease_id, true);
    await h.grant(tasks[1]!.task_id, tasks[1]!.lease_id, false);
    await h.grant(tasks[2]!.task_id, tasks[2]!.lease_id, true);
    await h.outcome(tasks[0]!.lease_id);
    await h.outcome(tasks[2]!.lease_id);
    await new Promise((r) => setTimeout(r, 300));
    expect(ran).toEqual([1, 1]);
    expect(h.outcomes(tasks[1]!.lease_id)).toHaveLength(0);
    await worker.close({ graceMs: 0 });
    // Acked: nothing comes back to the queue.
    expect(await h.readyCount()).toBe(0);
  });

  it('requeues a group whole, once, when it must give a task of it back at shutdown', async () => {
    const h = await open();
    const worker = await h.startWorker({ echo: (p: unknown) => p }, 8);
    const tasks = await h.dispatchGroup('echo', 3);
    await h.until(() => tasks.every((t) => h.claims(t.lease_id).length === 1));
    // Two claims answered; the third is still out when the worker closes and gives it up.
    await h.grant(tasks[0]!.task_id, tasks[0]!.lease_id, true);
    await h.grant(tasks[1]!.task_id, tasks[1]!.lease_id, false);
    await h.outcome(tasks[0]!.lease_id);
    await worker.close({ graceMs: 0 });
    expect(await h.readyCount()).toBe(1);
    const back = await h.ch.get(h.topology.taskQueue('default'), { noAck: true });
    expect(back && (JSON.parse(back.content.toString()) as { tasks: DispatchMessage[] }).tasks.map((t) => t.lease_id)).toEqual(tasks.map((t) => t.lease_id));
  });

  it('settles a task of a group that repeats a lease it runs at once, and acks the group with the rest', async () => {
    const h = await open();
    let calls = 0;
    const worker = await h.startWorker({ slow: async () => (++calls, await new Promise((r) => setTimeout(r, 500))) }, 8);
    const first = await h.dispatch('slow');
    await h.until(() => h.claims(first.lease_id).length === 1);
    await h.grant(first.task_id, first.lease_id, true);
    await h.until(() => calls === 1);
    const id = randomUUID();
    const second: DispatchMessage = { ...first, task_id: `task-${id}`, lease_id: `lease-${id}` };
    // A group holding the running lease again beside a new one.
    h.ch.publish(h.topology.exchanges.tasks, 'default', Buffer.from(JSON.stringify({ type: 'dispatches', tasks: [first, second] })), { persistent: true });
    await h.ch.waitForConfirms();
    await h.until(() => h.claims(second.lease_id).length === 1);
    await h.grant(second.task_id, second.lease_id, true);
    await h.outcome(first.lease_id);
    await h.outcome(second.lease_id);
    await new Promise((r) => setTimeout(r, 300));
    expect(calls).toBe(2);
    expect(h.claims(first.lease_id)).toHaveLength(1);
    await worker.close({ graceMs: 0 });
    expect(await h.readyCount()).toBe(0);
  });

  it('does not claim again a lease it was granted and finished when its dispatch comes back', async () => {
    const h = await open();
    let calls = 0;
    const worker = await h.startWorker({ spy: () => ++calls }, 8);
    const [task] = await h.dispatchGroup('spy', 1);
    await h.until(() => h.claims(task!.lease_id).length === 1);
    await h.grant(task!.task_id, task!.lease_id, true);
    await h.outcome(task!.lease_id);
    // The same group again, as a requeue after a lost connection would bring it.
    h.ch.publish(h.topology.exchanges.tasks, 'default', Buffer.from(JSON.stringify({ type: 'dispatches', tasks: [task] })), { persistent: true });
    await h.ch.waitForConfirms();
    await new Promise((r) => setTimeout(r, 500));
    expect(h.claims(task!.lease_id)).toHaveLength(1);
    expect(calls).toBe(1);
    expect(await h.readyCount()).toBe(0);
    await worker.close({ graceMs: 0 });
    expect(await h.readyCount()).toBe(0);
  });

  it('holds about its concurrency in tasks when dispatches come in groups, not prefetch × group size', async () => {
    const h = await open();
    // Concurrency 8: groups of at most 2 (a quarter), so 4 deliveries at once.
    await h.startWorker({ echo: (p: unknown) => p }, 8);
    for (let i = 0; i < 20; i++) await h.dispatchGroup('echo', 2);
    await h.until(() => h.claims().length === 8);
    await new Promise((r) => setTimeout(r, 500));
    // 8 tasks claimed (every slot), none more held: 16 of the 20 groups still in the queue.
    expect(h.claims()).toHaveLength(8);
    expect(await h.readyCount()).toBe(16);
    h.autoGrant = true;
    for (const c of h.claims()) await h.grant(c.task_id, c.lease_id, true);
    await h.until(() => h.outcomes().length === 40, 10_000);
    expect(new Set(h.outcomes().map((o) => o.lease_id)).size).toBe(40);
    expect(await h.readyCount()).toBe(0);
  });

  it('registers and runs the task handlers plugins contribute', async () => {
    const h = await open();
    const plugin: SjePlugin = { name: 'shout', handlers: { shout: (p) => String(p['text']).toUpperCase() } };
    await h.startWorker({ echo: (p: unknown) => p }, 4, [plugin]);
    expect(h.workerMessages.find((m) => m.type === 'register')).toMatchObject({ functions: ['echo', 'shout'] });
    h.autoGrant = true;
    const task = await h.dispatch('shout', { text: 'hi' });
    expect(await h.outcome(task.lease_id)).toMatchObject({ outcome: 'succeeded', result: 'HI' });
  });
});
