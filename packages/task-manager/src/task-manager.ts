/**
 * The task-manager: a thin composition of the store, the command loop, the
 * dependency resolver, the due-task scheduler, the worker registry, the
 * outbox publisher and the query service.
 */
import {
  ErrorCode,
  loadConfig,
  createRuntime,
  SjeError,
  startOpsServer,
  validators,
  type LeaseRef,
  type Logger,
  type ModuleImporter,
  type OpsServer,
  type ReportReceipt,
  type ReportStored,
  type ServiceRuntime,
  type SjeConfig,
  type SjePlugin,
  type SubmitCommand,
  type SubmitsBatch,
  type TaskManagerCommand,
} from '@sje/core';
import { Counter, Gauge } from 'prom-client';
import { AssignmentBook, type AssignableWorker } from './internal/assignments.js';
import type { CommandLoop, JobOptions } from './internal/command-loop.js';
import { applyCancel } from './internal/commands/cancel.js';
import type { CommandContext } from './internal/commands/command-context.js';
import { applyReport, applyReports } from './internal/commands/reports.js';
import { requeueLostTasks } from './internal/commands/requeue-lost.js';
import { applySubmit } from './internal/commands/submit.js';
import { DependencyResolver } from './internal/dependency-resolver.js';
import { redispatch } from './internal/dispatcher.js';
import { DueTaskScheduler } from './internal/due-task-scheduler.js';
import { RecordCache } from './internal/record-cache.js';
import { StatusCounts } from './internal/status-counts.js';
import { OutboxPublisher } from './internal/outbox-publisher.js';
import { QueryService } from './internal/query-service.js';
import { PostgresTaskStore, SqliteTaskStore, storeIdentity, type TaskRecord, type TaskStore, toView } from '@sje/store';
import { createTaskManagerLoop } from './internal/task-manager-loop.js';
import type { UnitOfWork } from './internal/unit-of-work.js';
import { WorkerRegistry } from './internal/worker-registry.js';
import { WorkflowTracker } from './internal/workflow-tracker.js';

/** Options of {@link createTaskManager}. */
export interface TaskManagerOptions {
  /** @defaultValue loadConfig() (zero config) */
  config?: SjeConfig;
  logger?: Logger;
  /** Plugin objects registered before the configured ones. */
  plugins?: { plugin: SjePlugin; options?: Record<string, unknown> }[];
  /** Imports configured plugins by name. */
  importer?: ModuleImporter;
  /** The task store. @defaultValue the SQLite store under `task_manager.data_dir` */
  store?: TaskStore;
  /** Port of /healthz, /readyz, /metrics; `false` for none. @defaultValue config.task_manager.ops_port */
  opsPort?: number | false;
}

/** A running (or startable) task-manager. */
export interface TaskManager {
  /** Opens the store, connects, starts consuming. */
  start(): Promise<void>;
  /** Stops consuming, finishes the current batch, closes everything. Idempotent. */
  close(): Promise<void>;
  /** The port of the ops endpoint, once started. */
  readonly opsPort: number | undefined;
  /** The task store. */
  readonly store: TaskStore;
  /** The service runtime (broker, logger, metrics, plugins). */
  readonly runtime: ServiceRuntime;
}

/**
 * Builds a task-manager (no I/O until `start`).
 * @example
 * ```ts
 * const tm = await createTaskManager({ config: loadConfig() });
 * await tm.start();
 * ```
 */
export async function createTaskManager(options: TaskManagerOptions = {}): Promise<TaskManager> {
  const config = options.config ?? loadConfig();
  const runtimeOptions: Parameters<typeof createRuntime>[2] = {};
  if (options.logger) runtimeOptions.logger = options.logger;
  if (options.plugins) runtimeOptions.plugins = options.plugins;
  if (options.importer) runtimeOptions.importer = options.importer;
  const rt = await createRuntime('task-manager', config, runtimeOptions);
  const { broker, logger, plugins } = rt;
  const topology = broker.topology;
  const store = options.store ?? createStore(config, logger);
  const outbox = new OutboxPublisher(broker, store, logger);
  // The loop tells the scheduler about due times; the scheduler runs jobs on the loop.
  const schedulerRef: { current?: DueTaskScheduler } = {};
  const workflows = new WorkflowTracker(store, topology);
  // Assignment at idle: the registry (built below) says who is online.
  const assignments: AssignmentBook | undefined = config.task_manager.assign_at_idle
    ? new AssignmentBook({
        topology,
        workers: (): Iterable<AssignableWorker> => registry.onlineNow(),
        confirmWithinMs: config.task_manager.worker_timeout_ms,
        holdLimit: config.task_manager.hold_limit,
      })
    : undefined;
  /** A batch asked for by a worker with free slots while tasks are held (one at a time). */
  let nudged = false;
  const nudge = (worker: AssignableWorker): void => {
    if (nudged || !assignments?.wantsBatchFor(worker)) return;
    nudged = true;
    loop
      .run(async () => {}, { urgent: true })
      .catch((err: unknown) => logger.warn('a batch to assign held tasks failed', { err: (err as Error).message }))
      .finally(() => {
        nudged = false;
      });
  };
  const statusCounts = new StatusCounts();
  const loop = createTaskManagerLoop({
    store,
    outbox,
    plugins,
    logger,
    topology,
    workflows,
    onCommitted: (due) => schedulerRef.current?.notify(due),
    // Dispatch groups are sized by the live workers of each pool (the registry is built below).
    poolOf: (queue) => registry.pool(queue),
    ...recordCacheOption(config.task_manager.record_cache_size),
    ...(assignments ? { assignments } : {}),
    statusCounts,
  });
  const ctx: CommandContext = {
    topology,
    dependencies: new DependencyResolver(topology),
    plugins,
    logger,
    maxDeliveries: config.task_manager.max_deliveries,
  };
  const scheduler = new DueTaskScheduler({ store, loop, topology, logger, maxSleepMs: config.task_manager.scheduler_tick_ms });
  schedulerRef.current = scheduler;
  const registry = new WorkerRegistry({
    broker,
    store,
    plugins,
    logger,
    timeoutMs: config.task_manager.worker_timeout_ms,
    onLost: async (workerId, leases) => {
      const n = await requeueRunning(workerId, leases);
      if (leases === undefined) assignments?.forget(workerId);
      if (n > 0) logger.warn('re-queued the tasks of a lost worker', { worker_id: workerId, tasks: n });
    },
    ...(assignments
      ? {
          onHeartbeat: async (hb) => {
            const overdue = assignments.heartbeat(hb);
            if (overdue.length === 0) return;
            const n = await requeueRunning(hb.worker_id, overdue, `not taken in by worker ${hb.worker_id} in time`);
            if (n > 0) logger.warn('a worker did not take in tasks assigned to it; handing them on', { worker_id: hb.worker_id, tasks: n });
          },
          onSeen: nudge,
        }
      : {}),
  });
  /** Re-queues the running tasks of a worker (only those of `leases`, when given); returns how many. */
  async function requeueRunning(workerId: string, leases?: readonly LeaseRef[], reason?: string): Promise<number> {
    const leaseKey = (taskId: string, leaseId: string | undefined): string => `${taskId}\0${leaseId ?? ''}`;
    const released = leases === undefined ? undefined : new Set(leases.map((l) => leaseKey(l.task_id, l.lease_id)));
    const running = (await store.getRunningTasks(workerId)).filter((t) => released === undefined || released.has(leaseKey(t.task_id, t.lease_id)));
    if (running.length === 0) return 0;
    return loop.run((uow) => requeueLostTasks(uow, ctx, workerId, running, reason));
  }
  /**
   * Queues jobs that send the dispatches of the store's queued tasks again,
   * 500 a batch: a task the previous process held is in no pool queue, and
   * one that is gets a duplicate whose claim is refused once the task runs.
   * Not awaited: the broker may not be connected yet, and a committed batch's
   * messages wait in the outbox until it is.
   */
  function redispatchAtStart(queued: readonly TaskRecord[]): void {
    const leases = queued.flatMap((t) => (t.lease_id === undefined ? [] : [{ task_id: t.task_id, lease_id: t.lease_id }]));
    for (let i = 0; i < leases.length; i += REDISPATCH_BATCH) {
      const part = leases.slice(i, i + REDISPATCH_BATCH);
      loop
        .run((uow) => redispatch(uow, topology, part), { weight: part.length })
        .catch((err: unknown) => logger.warn('sending the dispatches of queued tasks again did not complete; committed ones wait in the outbox', { tasks: part.length, err: (err as Error).message }));
    }
    if (leases.length > 0) logger.info('sending the dispatches of the queued tasks again', { tasks: leases.length });
  }
  const queries = new QueryService(broker, store, loop, ctx, workflows, logger, registry);

  /** Applies one command; a `submits` message is taken apart first (see `applySubmitsApart`). */
  const applyCommand = async (uow: UnitOfWork, cmd: Exclude<TaskManagerCommand, SubmitsBatch>): Promise<void> => {
    switch (cmd.type) {
      case 'reports':
        return applyReports(uow, ctx, cmd.reports);
      case 'submit':
        return applySubmit(uow, ctx, cmd);
      case 'cancel':
        await applyCancel(uow, ctx, cmd.task_id);
        return;
      case 'started':
      case 'progress':
      case 'outcome':
        return applyReport(uow, ctx, cmd);
    }
  };

  /**
   * The submits of a `submits` message, each a job of its own (they may share
   * a batch, but one that fails fails alone). A submit refused for a taken id
   * is dead-lettered by itself; any other failure fails the message, whose
   * redelivery applies again only what is not stored yet.
   */
  const applySubmitsApart = async (submits: readonly SubmitCommand[], queue: string): Promise<void> => {
    const results = await Promise.allSettled(submits.map((submit) => loop.run((uow) => applySubmit(uow, ctx, submit), jobOptions(submit))));
    for (const [i, result] of results.entries()) {
      if (result.status === 'fulfilled') continue;
      const err: unknown = result.reason;
      if (!(err instanceof SjeError && err.code === ErrorCode.TASK_ID_CONFLICT)) throw err;
      await broker.deadLetterPart(submits[i], queue, `${err.code}: ${err.message}`);
    }
  };

  /**
   * Tells a worker that the report message it sent transient with `receipt`
   * is applied and stored. Not waited for: an answer that is lost makes the
   * worker send the message again the durable way, which changes nothing.
   */
  const sendReceipt = (receipt: ReportReceipt): void => {
    const stored: ReportStored = { type: 'stored', seq: receipt.seq };
    broker
      .publish(topology.exchanges.control, topology.controlKeyFor(receipt.worker_id), stored, { persistent: false })
      .catch((err: unknown) => logger.debug('receipt not sent; the worker will send its report again', { worker_id: receipt.worker_id, err: (err as Error).message }));
  };

  registerServiceMetrics(rt, { store, outbox, loop, registry, statusCounts, ...(assignments ? { assignments } : {}) });
  if (assignments) registerAssignmentMetrics(rt.metrics, assignments);

  let ops: OpsServer | undefined;
  let started = false;
  let leader = false;
  const standby = new AbortController();
  let closing: Promise<void> | undefined;

  return {
    get opsPort() {
      return ops?.port;
    },
    store,
    runtime: rt,
    async start() {
      if (started) return;
      started = true;
      await store.init();
      if (options.opsPort !== false) {
        ops = await startOpsServer({
          host: config.task_manager.ops_host,
          port: options.opsPort ?? config.task_manager.ops_port,
          registry: rt.metrics,
          token: config.security.ops_token,
          routes: async (path) => {
            // Read-only task lookups over HTTP (executors read /status here, and while the broker is away),
            // and which store this is (an executor on the same host reads its file itself).
            const m = /^\/tasks\/([^/]+)$/.exec(path);
            if (!m && path !== '/store') return undefined;
            // Only the active task-manager answers (until its store closes): a standby sends executors to the next URL.
            if (!leader) {
              return { status: 503, body: { error: { code: ErrorCode.TASK_MANAGER_UNAVAILABLE, message: 'this task-manager is a standby; ask the active one' } } };
            }
            const headers = { 'x-sje-topology-prefix': topology.prefix };
            if (!m) {
              const identity = storeIdentity(store);
              return identity ? { status: 200, body: identity, headers } : { status: 404, body: { error: { code: ErrorCode.NOT_FOUND, message: 'this store cannot be read from outside' } }, headers };
            }
            const id = decodeURIComponent(m[1] ?? '');
            const found = (await store.getTasks([id])).get(id);
            return found
              ? { status: 200, body: toView(found), headers }
              : { status: 404, body: { error: { code: ErrorCode.TASK_NOT_FOUND, message: `task ${id} not found` } }, headers };
          },
          readiness: () => ({
            ready: broker.connected && leader && !closing,
            checks: { broker: broker.connected, role: leader ? 'active' : 'standby', shutting_down: closing !== undefined },
          }),
        });
        logger.info('task-manager ops endpoint listening', { port: ops.port, token_required: config.security.ops_token !== '' });
        if (config.security.ops_token === '' && (config.security.auth === 'keys' || config.security.api_keys.length > 0)) {
          logger.warn('the ops endpoint answers task lookups (GET /tasks/:id) of every tenant without a token; set security.ops_token or keep ops_host private', {
            ops_host: config.task_manager.ops_host,
          });
        }
      }
      if (store instanceof PostgresTaskStore) {
        logger.info('waiting to become the active task-manager (standby until then)');
        if (!(await store.acquireLeadership(standby.signal))) return;
        logger.info('this task-manager is now active');
      }
      leader = true;
      // Counted once, before any command is applied; each committed batch moves the counts from here on.
      statusCounts.seed(await store.countByStatus());
      // Read once, before any command is applied: the slots the store's running tasks take, each to be
      // seen again (assignments), and the workers that must speak up for them (registry).
      const runningAtStart = await store.getRunningTasks();
      assignments?.seed(runningAtStart);
      // A backlog the previous process held is in the store as queued tasks and in no queue: their dispatches are sent again.
      const queuedAtStart = assignments && config.task_manager.hold_limit > 0 ? await store.getQueuedTasks() : [];
      assignments?.seedQueued(queuedAtStart);
      broker.on('connected', () => {
        registry.forgiveSilence();
        loop.flushOutbox();
      });
      // Commands and reports (durable), and claims (transient): the same loop applies both.
      for (const queue of [topology.queues.commands, topology.queues.claims]) {
        await broker.consume<TaskManagerCommand>(
          queue,
          async (cmd, delivery) => {
            if (cmd.type === 'submits') {
              await applySubmitsApart(cmd.submits, queue);
              return 'ack';
            }
            try {
              await loop.run((uow) => applyCommand(uow, cmd), jobOptions(cmd));
            } catch (err) {
              if (err instanceof SjeError && err.code === ErrorCode.TASK_ID_CONFLICT) {
                await broker.deadLetter(delivery.channel, delivery.raw, queue, `${err.code}: ${err.message}`);
                return 'defer';
              }
              throw err;
            }
            // A report sent transient: its worker lets go of it once told that it is stored.
            if ('receipt' in cmd && cmd.receipt) sendReceipt(cmd.receipt);
            return 'ack';
          },
          { validate: validators.command, prefetch: config.task_manager.prefetch },
        );
      }
      await broker.consume(topology.queues.workers, (msg, _d) => registry.handle(msg), { validate: validators.worker, prefetch: 100, onError: 'dead-letter' });
      await broker.consume(topology.queues.queries, (q, d) => queries.handle(q, d), { validate: validators.query, prefetch: 100, onError: 'dead-letter' });
      await broker.start(0);
      redispatchAtStart(queuedAtStart);
      await registry.start(runningAtStart);
      scheduler.start();
      loop.flushOutbox();
      await plugins.run('onReady', { service: 'task-manager' });
      logger.info('task-manager started', { store: store.constructor.name, prefix: topology.prefix });
    },
    close() {
      closing ??= (async () => {
        standby.abort();
        await broker.pauseAll();
        await loop.idle();
        loop.stop();
        scheduler.stop();
        registry.stop();
        await ops?.close();
        await plugins.close();
        await broker.close();
        await store.close();
        logger.info('task-manager stopped');
      })();
      return closing;
    },
  };
}

/** Queued tasks whose dispatches one start-up batch sends again. */
const REDISPATCH_BATCH = 500;

/** Worker reports go in the loop's urgent lane; a submit weighs as many tasks as it holds. */
function jobOptions(cmd: TaskManagerCommand): JobOptions {
  switch (cmd.type) {
    case 'submit':
      return { weight: cmd.tasks.length };
    case 'reports':
      return { weight: cmd.reports.length, urgent: true };
    case 'started':
    case 'progress':
    case 'outcome':
      return { urgent: true };
    default:
      return {};
  }
}

/** The loop's record cache, unless its size is 0. */
function recordCacheOption(size: number): { recordCache?: RecordCache } {
  return size > 0 ? { recordCache: new RecordCache(size) } : {};
}

function createStore(config: SjeConfig, logger: Logger): TaskStore {
  const settings = config.task_manager;
  if (settings.store === 'postgres') {
    return new PostgresTaskStore({ url: settings.postgres_url, tablePrefix: settings.postgres_table_prefix });
  }
  return new SqliteTaskStore({
    dataDir: settings.data_dir,
    pageSize: settings.sqlite_page_size,
    checkpointMs: settings.sqlite_checkpoint_ms,
    onCheckpointFailure: (err) => logger.warn('the task store\'s checkpoint thread failed; commits checkpoint the log from now on', { err: err.message }),
  });
}

/** What the task-manager's own metrics read. */
interface MeteredParts {
  store: TaskStore;
  outbox: OutboxPublisher;
  loop: CommandLoop;
  registry: WorkerRegistry;
  statusCounts: StatusCounts;
  assignments?: AssignmentBook;
}

function registerServiceMetrics(rt: ServiceRuntime, parts: MeteredParts): void {
  const { store, outbox, loop, registry, statusCounts, assignments } = parts;
  const { broker, metrics } = rt;
  new Gauge({
    name: 'sje_queue_depth',
    help: 'Work waiting for each worker pool (for autoscalers): the tasks the task-manager holds for it plus the messages ready in its queue, where under a backlog one message holds up to 32 dispatches; sje_tasks{status="queued"} counts tasks',
    labelNames: ['queue'],
    registers: [metrics],
    async collect() {
      this.reset();
      // Every pool known: dispatched to, held for, or served by a registered worker (0 when nothing waits).
      const queues = new Set([...outbox.queues, ...(assignments?.heldQueues() ?? [])]);
      for (const w of registry.onlineNow()) for (const q of w.queues) queues.add(q);
      for (const q of queues) {
        let ready = 0;
        if (broker.connected) {
          try {
            ready = (await broker.withChannel((ch) => ch.checkQueue(broker.topology.taskQueue(q)))).messageCount;
          } catch {
            // queue vanished: nothing ready in it
          }
        }
        this.set({ queue: q }, ready + (assignments?.heldCount(q) ?? 0));
      }
    },
  });
  if (assignments) {
    new Gauge({
      name: 'sje_tasks_held',
      help: "Due tasks the task-manager holds for each worker pool until one of its workers has a free slot (task_manager.hold_limit), not in the pool's queue",
      labelNames: ['queue'],
      registers: [metrics],
      collect() {
        this.reset();
        for (const q of assignments.heldQueues()) this.set({ queue: q }, assignments.heldCount(q));
      },
    });
  }
  new Gauge({
    name: 'sje_tasks',
    help: 'Tasks in the store by status',
    labelNames: ['status'],
    registers: [metrics],
    collect() {
      this.reset();
      // Only the active task-manager reports them: a standby's copy of the same store's counts would be
      // counted twice by a sum over instances (and would count the whole table at every scrape).
      for (const [status, n] of Object.entries(statusCounts.snapshot() ?? {})) this.set({ status }, n ?? 0);
    },
  });
  new Gauge({
    name: 'sje_task_manager_backlog',
    help: 'Commands waiting in the task-manager command loop',
    registers: [metrics],
    collect() {
      this.set(loop.backlog);
    },
  });
  if (store instanceof SqliteTaskStore) registerStoreLogMetrics(metrics, store);
  new Gauge({
    name: 'sje_workers_registered',
    help: 'Workers the task-manager has heard from',
    registers: [metrics],
    collect() {
      this.set(registry.online.length);
    },
  });
}

/** How many tasks went to workers by assignment at idle, and how many of those were handed on. */
function registerAssignmentMetrics(metrics: ServiceRuntime['metrics'], assignments: AssignmentBook): void {
  const totals = [
    {
      name: 'sje_tasks_assigned_total',
      help: 'Tasks handed straight to a worker with a free slot at idle (the rest go through their pool queue and a claim)',
      read: () => assignments.assignedTotal,
    },
    {
      name: 'sje_assignments_handed_on_total',
      help: 'Assigned tasks handed on to their pool queue because the worker did not take the assignment in within worker_timeout_ms',
      read: () => assignments.handedOnTotal,
    },
  ];
  for (const { name, help, read } of totals) {
    // The book's figures are totals since start; the counter adds what is new.
    let counted = 0;
    new Counter({
      name,
      help,
      registers: [metrics],
      collect() {
        const now = read();
        this.inc(now - counted);
        counted = now;
      },
    });
  }
}

/** The embedded store's write-ahead log, as its checkpoint thread last found it (nothing when the commits checkpoint it). */
function registerStoreLogMetrics(metrics: ServiceRuntime['metrics'], store: SqliteTaskStore): void {
  new Gauge({
    name: 'sje_store_log_frames',
    help: "Pages in the embedded store's write-ahead log at its checkpoint thread's last checkpoint; a log that keeps growing means the thread falls behind the writes",
    registers: [metrics],
    collect() {
      const stats = store.checkpointStats;
      if (stats) this.set(stats.logFrames);
    },
  });
  // The thread's counts are totals since it started; the counter adds what is new.
  let counted = { passive: 0, restart: 0 };
  new Counter({
    name: 'sje_store_checkpoints_total',
    help: "Checkpoints of the embedded store's write-ahead log by its checkpoint thread, by mode (a restart holds the command loop's next commit)",
    labelNames: ['mode'],
    registers: [metrics],
    collect() {
      const stats = store.checkpointStats;
      if (!stats) return;
      const now = { passive: stats.checkpoints - stats.restarts, restart: stats.restarts };
      this.inc({ mode: 'passive' }, now.passive - counted.passive);
      this.inc({ mode: 'restart' }, now.restart - counted.restart);
      counted = now;
    },
  });
}
