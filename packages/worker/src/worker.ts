/**
 * The worker: takes dispatches from its task queues, claims each lease from
 * the task-manager, runs the handler within the concurrency cap and reports
 * the outcome (see `docs/protocol.md`).
 * @module
 */
import {
  assertTaskQueue,
  ConfigError,
  createRuntime,
  ErrorCode,
  loadConfig,
  SjeError,
  startOpsServer,
  validators,
  type AckToken,
  type AssignCommand,
  type AssignmentMark,
  type ConsumerHandle,
  type ControlMessage,
  type Delivery,
  type DispatchMessage,
  type LeaseGrant,
  type LeaseRef,
  type Logger,
  type OpsServer,
  type OutcomeReport,
  type ProgressReport,
  type StartedReport,
  type TaskQueueMessage,
  type RuntimeOptions,
  type ServiceRuntime,
  type SjeConfig,
  type WorkerHeartbeat,
  type WorkerMessage,
} from '@sje/core';
import type { Channel } from 'amqplib';
import { Counter } from 'prom-client';
import { nextAssignMark } from './internal/assign-mark.js';
import { ConsumerSwitch } from './internal/consumer-switch.js';
import { validateHandlers } from './internal/handler-validation.js';
import { isoNow as now } from './internal/iso-clock.js';
import { LeaseBook, type LeaseEntry } from './internal/lease-book.js';
import { PrefetchSizer } from './internal/prefetch-sizer.js';
import { RecentSet } from './internal/recent-set.js';
import { ReliablePublisher } from './internal/reliable-publisher.js';
import { ReceiptBook } from './internal/receipt-book.js';
import { ReportCoalescer, type ReportsMessage } from './internal/report-coalescer.js';
import { reportsJson, withResultJson } from './internal/report-json.js';
import { abortReport, type RunReport } from './internal/run-report.js';
import { shareDelivery } from './internal/shared-delivery.js';
import { SlotGate } from './internal/slot-gate.js';
import { TaskRun, type TaskRunDeps } from './internal/task-run.js';
import { TurnCoalescer } from './internal/turn-coalescer.js';
import { waitFor } from './internal/wait-for.js';
import { defaultWorkerId } from './internal/worker-id.js';
import type { TaskHandler } from './task-handler.js';
import type { WorkerOptions } from './worker-options.js';

/** A worker built by {@link createWorker}. */
export interface Worker {
  /** This worker's id (routing key `worker.<id>` on the control exchange). */
  readonly id: string;
  /** The port of its ops endpoint once started; `undefined` before, or without one. */
  readonly opsPort: number | undefined;
  /** Handlers running right now. */
  readonly running: number;
  /**
   * Starts the ops endpoint, connects to the broker (waiting up to 30 s for
   * the first connection), registers and starts taking tasks.
   * @throws BrokerUnavailableError when the broker cannot be reached; the worker is then closed.
   */
  start(): Promise<void>;
  /**
   * Stops taking tasks, lets running ones finish for up to `graceMs`, aborts
   * the rest (reported as `requeue`), deregisters and disconnects. Idempotent.
   */
  close(opts?: { graceMs?: number }): Promise<void>;
}

/** Topic-safe worker ids: no `*`, `#` or spaces in the control routing key. */
const WORKER_ID = /^[A-Za-z0-9_.:-]{1,150}$/;
const QUEUE_NAME = /^[A-Za-z0-9._-]{1,100}$/;
/** Gap between repeats of an unanswered claim. */
const CLAIM_RESEND_MS = 5000;
/** Gap between attempts to publish an outcome the broker did not confirm. */
const OUTCOME_RETRY_MS = 1000;
/** At shutdown, how long aborted runs get to settle (their own settle wait is 1 s). */
const ABORT_WAIT_MS = 3000;
/** How long a report sent transient waits for the task-manager's `stored` before it is sent the durable way. */
const RECEIPT_TIMEOUT_MS = 1000;
/** At shutdown, how long unconfirmed outcomes may take to reach the broker. */
const OUTCOME_DRAIN_MS = 5000;

/**
 * Builds a worker: validates the handlers, loads plugins (adding the task
 * handlers they contribute) and prepares the broker connection. Does not
 * connect; call `start()`.
 * @throws SjeError `SJE_ERR_HANDLER_INVALID` naming a handler that is not a function;
 *   `ConfigError` for a bad concurrency, queue name or worker id.
 * @example
 * ```ts
 * const worker = await createWorker({ handlers: { echo: (params) => params }, concurrency: 2 });
 * await worker.start();
 * process.once('SIGTERM', () => void worker.close());
 * ```
 */
export async function createWorker(options: WorkerOptions): Promise<Worker> {
  const handlers = validateHandlers(options.handlers);
  const config = options.config ?? loadConfig();
  const concurrency = options.concurrency ?? config.worker.concurrency;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new ConfigError(`worker concurrency must be a positive integer, got ${concurrency}`, { key: 'worker.concurrency' });
  }
  const queues = [...new Set(options.queues ?? config.worker.queues)];
  if (queues.length === 0) throw new ConfigError('a worker needs at least one queue', { key: 'worker.queues' });
  for (const q of queues) if (!QUEUE_NAME.test(q)) throw new ConfigError(`invalid queue name '${q}' (1-100 chars of [A-Za-z0-9._-])`, { key: 'worker.queues' });
  const id = options.workerId ?? (config.worker.id || defaultWorkerId());
  if (!WORKER_ID.test(id)) throw new ConfigError(`invalid worker id '${id}' (1-150 chars of [A-Za-z0-9_.:-])`, { key: 'worker.id' });
  const opsPort = options.opsPort ?? config.worker.ops_port;

  // The runtime's broker declares the worker's queues on each connect; the worker exists by then.
  const ref: { worker?: SjeWorker } = {};
  const runtimeOptions: RuntimeOptions = {
    onConnect: async (channel) => {
      if (ref.worker) await ref.worker.declareQueues(channel);
    },
  };
  if (options.importer) runtimeOptions.importer = options.importer;
  if (options.plugins) runtimeOptions.plugins = options.plugins;
  if (options.logger) runtimeOptions.logger = options.logger;
  const runtime = await createRuntime('worker', config, runtimeOptions);
  try {
    addPluginHandlers(handlers, runtime);
  } catch (err) {
    await runtime.plugins.close();
    throw err;
  }
  ref.worker = new SjeWorker(runtime, { id, handlers, concurrency, queues, opsPort });
  return ref.worker;
}

/** Heartbeats between two repeated `register` messages. */
const REGISTER_EVERY_HEARTBEATS = 15;

/** Registers the handlers plugins contribute; a name the worker already has is an error. */
function addPluginHandlers(handlers: Map<string, TaskHandler>, runtime: ServiceRuntime): void {
  const contributed = validateHandlers(runtime.plugins.contributedHandlers(), 'plugin handlers');
  for (const [name, fn] of contributed) {
    if (handlers.has(name)) {
      throw new SjeError(ErrorCode.HANDLER_INVALID, `handler '${name}' is both given to the worker and contributed by a plugin`, { data: { function: name } });
    }
    handlers.set(name, fn);
  }
}

interface WorkerSettings {
  id: string;
  handlers: Map<string, TaskHandler>;
  concurrency: number;
  queues: string[];
  opsPort: number | false;
}

type Phase = 'created' | 'starting' | 'started' | 'closing' | 'closed';

class SjeWorker implements Worker {
  readonly id: string;
  private readonly rt: ServiceRuntime;
  private readonly config: SjeConfig;
  private readonly settings: WorkerSettings;
  private readonly log: Logger;
  private readonly gate: SlotGate;
  private readonly book: LeaseBook;
  private readonly outcomes: ReliablePublisher<OutcomeReport>;
  /** Coalesces run reports under load (one message per confirm round trip). */
  private readonly reports = new ReportCoalescer((message) => this.sendReports(message));
  /** Report messages sent at idle that wait for the task-manager's `stored` (worker.report_receipts). */
  private readonly receipts = new ReceiptBook(RECEIPT_TIMEOUT_MS);
  /** Report messages sent and not yet confirmed or stored. */
  private reportsInFlight = 0;
  /** Report messages let go of, by how they were made safe (see {@link SjeWorker.sendReports}). */
  private readonly reportMessages: Counter<'way'>;
  /**
   * Sends claims on the transient claims queue, those of one turn together:
   * the grant answers a claim and an unanswered one is repeated, so it needs
   * neither a durable write nor a confirm before the next — both would sit
   * between every dispatch and its run.
   */
  private readonly claims = new TurnCoalescer((message) => {
    const t = this.rt.broker.topology;
    return this.rt.broker.publish(t.exchanges.commands, t.routingKeys.claim, message, { persistent: false });
  });
  private consumers: ConsumerSwitch | undefined;
  private taskConsumers: ConsumerHandle[] = [];
  /** The task consumers' prefetch, in deliveries (see {@link PrefetchSizer}). */
  private readonly prefetch: PrefetchSizer;
  /**
   * Leases granted to this worker lately: a group requeued by a lost
   * connection may bring one back after its run ended here, before the
   * task-manager applied the outcome, when a claim by this same worker would
   * be granted again.
   */
  private readonly grantedHere: RecentSet<string>;
  /** What every {@link TaskRun} of this worker is given. */
  private readonly runDeps: TaskRunDeps;
  private ops: OpsServer | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private phase: Phase = 'created';
  private registered = false;
  private heartbeats = 0;
  private saturated = false;
  /** The last `assign` taken in (the sending task-manager process and its number), for the heartbeats. */
  private assignMark: AssignmentMark | undefined;
  private closing: Promise<void> | undefined;
  private readonly startedAt = new Date().toISOString();
  private readonly onConnected = (): void => void this.afterConnect();

  constructor(runtime: ServiceRuntime, settings: WorkerSettings) {
    this.rt = runtime;
    this.config = runtime.config;
    this.settings = settings;
    this.grantedHere = new RecentSet(4 * settings.concurrency);
    this.id = settings.id;
    this.log = runtime.logger.child({ worker_id: settings.id });
    this.gate = new SlotGate(settings.concurrency, (saturated) => {
      this.saturated = saturated;
      this.syncConsumers();
    });
    this.prefetch = new PrefetchSizer(settings.concurrency, (prefetch, restartNow) => {
      for (const handle of this.taskConsumers) {
        handle.setPrefetch(prefetch, restartNow).catch((err: unknown) => this.log.warn('could not change a task consumer\'s prefetch', { err: errText(err) }));
      }
    });
    this.book = new LeaseBook(
      (task) => this.claims.send(this.startedReport(task)),
      CLAIM_RESEND_MS,
      (task, err) => this.log.warn('could not send a claim; it will be repeated', { task_id: task.task_id, err: errText(err) }),
    );
    this.runDeps = {
      workerId: this.id,
      handlers: settings.handlers,
      plugins: runtime.plugins,
      logger: this.log,
      sendProgress: (task, progress) => void this.sendProgress(task, progress),
      maxResultBytes: this.config.worker.max_result_bytes,
    };
    this.reportMessages = new Counter({
      name: 'sje_worker_report_messages_total',
      help: 'Report messages this worker sent and let go of, by how each was made safe: receipt (the task-manager answered that it is stored), durable (confirmed on the commands queue), fallback (sent with a receipt, no answer in time, then confirmed on the commands queue)',
      labelNames: ['way'],
      registers: [runtime.metrics],
    });
    this.outcomes = new ReliablePublisher<OutcomeReport>(
      (report) => this.publishCommand(report),
      OUTCOME_RETRY_MS,
      (report, err) => this.log.warn('outcome not confirmed by the broker; retrying', { task_id: report.task_id, outcome: report.outcome, err: errText(err) }),
    );
  }

  get opsPort(): number | undefined {
    return this.ops?.port;
  }

  get running(): number {
    return this.book.count('running');
  }

  /** Declares the task queues and this worker's control queue (on every (re)connect). */
  async declareQueues(channel: Channel): Promise<void> {
    const t = this.rt.broker.topology;
    for (const q of this.settings.queues) await assertTaskQueue(channel, t, q);
    const control = t.workerControlQueue(this.id);
    await channel.assertQueue(control, { exclusive: true, autoDelete: true, durable: false });
    await channel.bindQueue(control, t.exchanges.control, t.routingKeys.controlBroadcast);
    await channel.bindQueue(control, t.exchanges.control, t.controlKeyFor(this.id));
  }

  async start(): Promise<void> {
    if (this.phase === 'starting' || this.phase === 'started') return;
    if (this.phase !== 'created') throw new SjeError(ErrorCode.SHUTTING_DOWN, `worker ${this.id} is closed and cannot start again`);
    this.phase = 'starting';
    const { broker } = this.rt;
    const t = broker.topology;
    try {
      // The control queue first: grants must have somewhere to go before any claim is sent.
      await broker.consume(t.workerControlQueue(this.id), async (msg: ControlMessage) => this.onControl(msg), {
        validate: validators.control,
        prefetch: 100,
        noAck: true,
        exclusive: true,
      });
      const handles: ConsumerHandle[] = [];
      for (const q of this.settings.queues) {
        const handle = await broker.consume(t.taskQueue(q), (message: TaskQueueMessage, delivery) => this.onDispatch(message, delivery), {
          validate: validators.dispatchMessage,
          prefetch: this.prefetch.prefetch,
        });
        // Dispatch consumers wait for the registration (see afterConnect).
        await handle.pause();
        handles.push(handle);
      }
      this.taskConsumers = handles;
      this.consumers = new ConsumerSwitch(handles, false, (err) => this.log.warn('could not pause or resume a task consumer', { err: errText(err) }));
      broker.on('connected', this.onConnected);
      if (this.settings.opsPort !== false) {
        this.ops = await startOpsServer({
          host: this.config.worker.ops_host,
          port: this.settings.opsPort,
          registry: this.rt.metrics,
          token: this.config.security.ops_token,
          readiness: () => ({
            ready: broker.connected && this.phase === 'started',
            checks: { broker: broker.connected, accepting_tasks: this.phase === 'started' },
          }),
        });
      }
      await broker.start();
      this.phase = 'started';
      this.syncConsumers();
      this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.config.worker.heartbeat_ms);
      this.heartbeatTimer.unref();
      await this.rt.plugins.run('onReady', { service: 'worker' });
      this.log.info('worker started', {
        queues: this.settings.queues,
        concurrency: this.settings.concurrency,
        functions: [...this.settings.handlers.keys()],
        ops_port: this.opsPort,
      });
    } catch (err) {
      await this.close({ graceMs: 0 });
      throw err;
    }
  }

  close(opts: { graceMs?: number } = {}): Promise<void> {
    this.closing ??= this.shutdown(opts.graceMs ?? this.config.worker.grace_ms);
    return this.closing;
  }

  // ------------------------------------------------------------------ connection

  private async afterConnect(): Promise<void> {
    if (this.phase === 'closing' || this.phase === 'closed') return;
    // What was sent transient before the connection dropped may be gone with it: the durable way now.
    this.receipts.cancelAll();
    await this.register();
    this.book.resendAll();
    this.outcomes.kick();
  }

  /** Publishes `register`; task consumers start once it went through. */
  private async register(): Promise<void> {
    try {
      await this.publishWorkerMessage({
        type: 'register',
        worker_id: this.id,
        host: this.rt.host,
        pid: process.pid,
        queues: this.settings.queues,
        functions: [...this.settings.handlers.keys()],
        concurrency: this.settings.concurrency,
        started_at: this.startedAt,
      });
      this.registered = true;
      this.syncConsumers();
    } catch (err) {
      this.log.warn('could not register with the task-manager; retrying with the next heartbeat', { err: errText(err) });
    }
  }

  private syncConsumers(): void {
    if (!this.consumers) return;
    const on = this.registered && this.phase === 'started' && !this.saturated;
    void this.consumers.set(on);
  }

  private async heartbeat(): Promise<void> {
    if (!this.rt.broker.connected) return;
    // Registering again now and then lets a restarted task-manager relearn this
    // worker's queues and functions without waiting for a reconnect.
    this.heartbeats += 1;
    if (!this.registered || this.heartbeats % REGISTER_EVERY_HEARTBEATS === 0) await this.register();
    try {
      const hb: WorkerHeartbeat = { type: 'heartbeat', worker_id: this.id, host: this.rt.host, running: this.book.held(), at: now() };
      // Replaced, never changed in place: the heartbeat may hold it as it is.
      if (this.assignMark) hb.assigned = this.assignMark;
      await this.publishWorkerMessage(hb);
    } catch (err) {
      this.log.debug('heartbeat not sent', { err: errText(err) });
    }
  }

  private publishWorkerMessage(msg: WorkerMessage): Promise<void> {
    const t = this.rt.broker.topology;
    return this.rt.broker.publish(t.exchanges.commands, t.routingKeys.worker, msg, { persistent: false });
  }

  private publishCommand(msg: ProgressReport | OutcomeReport): Promise<void> {
    return this.reports.send(msg);
  }

  /**
   * Sends one message of the report coalescer; resolves once it is safe. At
   * idle (no other report message in flight) it goes transient on the claims
   * queue asking for a receipt, and is safe once the task-manager answers
   * that it is stored; otherwise, or without an answer in time, durable on
   * the commands queue, safe once the broker confirms it there.
   */
  private async sendReports(message: ReportsMessage): Promise<void> {
    const { broker } = this.rt;
    const t = broker.topology;
    this.reportsInFlight += 1;
    let way: 'durable' | 'fallback' = 'durable';
    try {
      if (this.reportsInFlight === 1 && this.config.worker.report_receipts && this.phase === 'started') {
        const receipt = this.receipts.open();
        const json = reportsJson(message, { worker_id: this.id, seq: receipt.seq });
        try {
          await broker.publishJson(t.exchanges.commands, t.routingKeys.claim, json, { persistent: false });
        } catch {
          this.receipts.cancel(receipt.seq);
        }
        if (await receipt.stored) {
          this.reportMessages.inc({ way: 'receipt' });
          return;
        }
        way = 'fallback';
      }
      await broker.publishJson(t.exchanges.commands, t.routingKeys.command, reportsJson(message));
      this.reportMessages.inc({ way });
    } finally {
      this.reportsInFlight -= 1;
    }
  }

  // ------------------------------------------------------------------ dispatches and claims

  /**
   * A `dispatch`, or a `dispatches` group whose tasks are admitted one by one
   * as if each came alone; they share the delivery, acknowledged once every
   * claim in it is answered, or requeued whole if any task is given back.
   */
  private async onDispatch(message: TaskQueueMessage, delivery: Delivery): Promise<'ack' | 'defer'> {
    const token: AckToken = { channel: delivery.channel, message: delivery.raw };
    if (this.phase !== 'started') {
      requeue(token);
      return 'defer';
    }
    const tasks = message.type === 'dispatches' ? message.tasks : [message];
    this.prefetch.delivered(tasks.length);
    const parts = shareDelivery(tasks.length, (giveBack) => {
      this.prefetch.settled(tasks.length);
      if (giveBack) requeue(token);
      else this.rt.broker.ack(token);
    });
    tasks.forEach((task, i) => {
      const part = parts[i]!;
      const admission = this.grantedHere.has(task.lease_id) ? 'duplicate' : this.book.admit(task, part);
      if (admission === 'duplicate') {
        this.log.info('duplicate dispatch of a lease already held; ignored', { task_id: task.task_id, lease_id: task.lease_id });
        part.settle('done');
      } else if (admission === 'new') void this.handleLease(task);
    });
    return 'defer';
  }

  /** A lease from its first delivery to its confirmed outcome. */
  private async handleLease(task: DispatchMessage): Promise<void> {
    const leaseId = task.lease_id;
    // A free slot is taken in this turn; only a full gate makes the lease wait.
    const slot = this.gate.tryAcquire() || (await this.gate.acquire());
    const entry = this.book.get(leaseId);
    if (!entry) {
      if (slot) this.gate.release();
      return;
    }
    if (!slot || this.phase !== 'started') {
      // Shutting down before the claim: the dispatch goes back to its queue for another worker.
      for (const part of entry.parts) part.settle('give-back');
      this.book.remove(leaseId);
      if (slot) this.gate.release();
      return;
    }
    let slotHandedOn = false;
    try {
      const granted = await this.book.claim(leaseId);
      if (granted === undefined) {
        for (const part of entry.parts) part.settle('give-back');
        return;
      }
      for (const part of entry.parts) part.settle('done');
      entry.parts = [];
      if (!granted) return;
      this.grantedHere.add(leaseId);
      this.book.setState(leaseId, 'running');
      slotHandedOn = true;
      await this.runHeld(task, entry);
    } finally {
      if (!slotHandedOn) {
        this.book.remove(leaseId);
        this.gate.release();
      }
    }
  }

  /**
   * Tasks the task-manager assigned to this worker at idle: each is already
   * granted, so it runs as soon as it has a slot, without a claim. The mark
   * of the last `assign` taken in goes out with the next heartbeat.
   */
  private onAssign(msg: AssignCommand): void {
    this.assignMark = nextAssignMark(this.assignMark, msg);
    for (const task of msg.tasks) {
      if (this.grantedHere.has(task.lease_id) || !this.book.adopt(task)) {
        this.log.info('duplicate assignment of a lease already held; ignored', { task_id: task.task_id, lease_id: task.lease_id });
        continue;
      }
      this.grantedHere.add(task.lease_id);
      void this.runAssigned(task);
    }
  }

  private async runAssigned(task: DispatchMessage): Promise<void> {
    const slot = this.gate.tryAcquire() || (await this.gate.acquire());
    const entry = this.book.get(task.lease_id);
    if (!entry) {
      if (slot) this.gate.release();
      return;
    }
    // No slot: the worker is shutting down (its waiters were given up); runHeld hands the task back unrun.
    await this.runHeld(task, entry, slot);
  }

  /**
   * Runs a granted lease whose slot is taken (or, shutting down, hands it back
   * unrun), frees the slot once the run ended, reports the outcome and
   * forgets the lease. `holdsSlot` false: a lease that never got a slot (it is
   * handed back).
   */
  private async runHeld(task: DispatchMessage, entry: LeaseEntry, holdsSlot = true): Promise<void> {
    let released = !holdsSlot;
    try {
      let summary: RunReport & { run_ms?: number };
      if (!holdsSlot || this.phase !== 'started') summary = abortReport('shutdown');
      else if (entry.abortRequested !== undefined) summary = abortReport(entry.abortRequested, task.timeout_ms);
      else {
        const run = new TaskRun(task, this.runDeps);
        entry.run = run;
        summary = await run.execute();
      }
      this.book.setState(task.lease_id, 'reporting');
      if (!released) this.gate.release();
      released = true;
      // Checked first: winston builds and pipes a line before the level drops it.
      if (this.log.isInfoEnabled()) this.log.info('task run ended', { task_id: task.task_id, function: task.function, outcome: summary.outcome, run_ms: summary.run_ms });
      await this.report(task, summary);
    } finally {
      this.book.remove(task.lease_id);
      if (!released) this.gate.release();
    }
  }

  private report(task: DispatchMessage, report: RunReport): Promise<void> {
    const msg: OutcomeReport = { type: 'outcome', task_id: task.task_id, lease_id: task.lease_id, worker_id: this.id, outcome: report.outcome, at: now() };
    if (report.error !== undefined) msg.error = report.error;
    if (report.outcome === 'succeeded' && report.resultJson !== undefined) withResultJson(msg, report.resultJson);
    return this.outcomes.send(msg);
  }

  private async sendProgress(task: DispatchMessage, progress: number): Promise<void> {
    try {
      await this.publishCommand({ type: 'progress', task_id: task.task_id, lease_id: task.lease_id, progress, at: now() });
    } catch (err) {
      this.log.debug('progress report not sent', { task_id: task.task_id, err: errText(err) });
    }
  }

  private startedReport(task: DispatchMessage): StartedReport {
    return { type: 'started', task_id: task.task_id, lease_id: task.lease_id, worker_id: this.id, host: this.rt.host, at: now() };
  }

  // ------------------------------------------------------------------ control

  private onControl(msg: ControlMessage): void {
    if (msg.type === 'grants') {
      for (const grant of msg.grants) this.onGrant(grant);
      return;
    }
    if (msg.type === 'grant') {
      this.onGrant(msg);
      return;
    }
    if (msg.type === 'assign') {
      this.onAssign(msg);
      return;
    }
    if (msg.type === 'stored') {
      this.receipts.stored(msg.seq);
      return;
    }
    if (msg.type === 'register_request') {
      // A task-manager that started after this worker registered: it learns the pools, functions and concurrency now.
      if (this.registered && this.phase === 'started') void this.register();
      return;
    }
    for (const entry of this.book.inState('running')) {
      if (entry.task.task_id !== msg.task_id) continue;
      if (msg.lease_id !== undefined && entry.task.lease_id !== msg.lease_id) continue;
      if (entry.run === undefined) entry.abortRequested ??= msg.reason;
      else if (entry.run.abort(msg.reason)) this.log.info('aborting task', { task_id: msg.task_id, lease_id: entry.task.lease_id, reason: msg.reason });
    }
  }

  private onGrant(grant: LeaseGrant): void {
    const applied = this.book.answer(grant.task_id, grant.lease_id, grant.granted);
    if (!applied) this.log.debug('grant for no pending claim; ignored', { task_id: grant.task_id, lease_id: grant.lease_id });
    else if (!grant.granted) this.log.info('claim refused', { task_id: grant.task_id, lease_id: grant.lease_id, reason: grant.reason });
  }

  // ------------------------------------------------------------------ shutdown

  private async shutdown(graceMs: number): Promise<void> {
    const wasRunning = this.phase === 'starting' || this.phase === 'started';
    this.phase = 'closing';
    const { broker } = this.rt;
    if (wasRunning) {
      this.log.info('worker shutting down', { running: this.running, grace_ms: graceMs });
      await this.consumers?.lockOff();
      this.gate.cancelWaiters();
      // Running tasks and claims in progress get the grace time; a claim granted now is handed back unrun.
      await waitFor(() => this.book.count('running', 'claiming') === 0, graceMs);
      // What the deregister gives back, by lease: claims given up here (the task-manager may have granted them),
      // runs that did not end, outcomes that were not confirmed.
      const released = new Map<string, LeaseRef>();
      const release = (ref: LeaseRef): void => void released.set(ref.lease_id, { task_id: ref.task_id, lease_id: ref.lease_id });
      for (const entry of this.book.inState('claiming')) release(entry.task);
      this.book.abandonClaims();
      const left = this.book.inState('running');
      for (const entry of left) entry.run?.abort('shutdown');
      if (left.length > 0) this.log.warn('grace time over; aborted running tasks, they will be re-queued', { count: left.length });
      await waitFor(() => this.book.count('running') === 0, ABORT_WAIT_MS);
      if (!(await this.outcomes.drain(OUTCOME_DRAIN_MS))) {
        for (const lost of this.outcomes.stop()) {
          this.log.error('outcome could not be delivered before shutdown', { report: lost });
          release(lost);
        }
      }
      for (const held of this.book.held()) release(held);
      if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
      if (broker.connected) {
        await this.publishWorkerMessage({ type: 'deregister', worker_id: this.id, at: now(), released: [...released.values()] }).catch((err: unknown) =>
          this.log.warn('could not deregister', { err: errText(err) }),
        );
      }
    }
    broker.off('connected', this.onConnected);
    this.prefetch.close();
    await this.ops?.close();
    await this.rt.plugins.close();
    await broker.close();
    this.phase = 'closed';
    if (wasRunning) this.log.info('worker stopped');
  }
}

/** Puts a delivery back on its queue (another worker may take it). */
function requeue(token: AckToken): void {
  try {
    token.channel.nack(token.message, false, true);
  } catch {
    // channel already closed: the broker requeues it anyway
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
