/**
 * The worker registry: who is online, with what, and when each was last
 * heard from. A worker silent for longer than the timeout is lost, and the
 * tasks it held are re-queued. Heartbeats that mention a lease the store no
 * longer considers live get an `abort` back. A worker that deregisters hands
 * on at once the leases it names as released; its outcome reports travel on
 * another queue and may still be on their way, so anything else it held is
 * re-queued only if it is still running when the timeout has passed. A
 * worker known from heartbeats alone (it registered with an earlier
 * task-manager process) is asked to register again.
 */
import type { AbortCommand, Broker, LeaseRef, Logger, PluginHost, RegisterRequest, WorkerHeartbeat, WorkerInfo, WorkerMessage } from '@sje/core';
import type { PoolView } from './dispatch-grouping.js';
import type { TaskRecord, TaskStore } from '@sje/store';

interface Entry {
  info: WorkerInfo;
  lastSeen: number;
  /** Known only from the store (running tasks at start-up), not yet heard from. */
  provisional: boolean;
  /** The registered process (`host/pid/started_at`), once a `register` was seen. */
  instance?: string;
  /** Deregistered: no longer online, kept until the timeout for the tasks whose outcome may still come. */
  departed?: true;
  /** When it was last asked to register again (known from heartbeats only). */
  askedToRegisterAt?: number;
}

/** Least time between two requests to one worker to register again. */
const REGISTER_ASK_EVERY_MS = 5000;

/** Options of {@link WorkerRegistry}. */
export interface WorkerRegistryOptions {
  broker: Broker;
  store: TaskStore;
  plugins: PluginHost;
  logger: Logger;
  /** Silence after which a worker is lost. */
  timeoutMs: number;
  /** Called for each lost worker: re-queue its running tasks (only those of `leases`, when given). */
  onLost: (workerId: string, leases?: readonly LeaseRef[]) => Promise<void>;
  /** Called with each heartbeat of a known worker, after its dead leases were dealt with. */
  onHeartbeat?: (heartbeat: WorkerHeartbeat) => Promise<void>;
  /** Called after each `register` and heartbeat of a worker that may be assigned tasks. */
  onSeen?: (worker: WorkerInfo) => void;
}

/** Tracks worker liveness. */
export class WorkerRegistry {
  private readonly workers = new Map<string, Entry>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: WorkerRegistryOptions) {}

  /** Workers heard from (not provisional). */
  get online(): WorkerInfo[] {
    return [...this.onlineNow()];
  }

  /** The workers of {@link online}, without building the array: those that may be assigned tasks. */
  *onlineNow(): IterableIterator<WorkerInfo> {
    for (const e of this.workers.values()) if (!e.provisional && e.departed === undefined) yield e.info;
  }

  /**
   * The registered workers of a pool (those whose `register` names `queue`):
   * how many, and the smallest concurrency among them. Dispatch grouping
   * sizes its groups by it.
   */
  pool(queue: string): PoolView {
    let workers = 0;
    let minConcurrency = 0;
    for (const e of this.workers.values()) {
      if (e.provisional || e.departed !== undefined || e.info.concurrency < 1 || !e.info.queues.includes(queue)) continue;
      workers += 1;
      minConcurrency = workers === 1 ? e.info.concurrency : Math.min(minConcurrency, e.info.concurrency);
    }
    return { workers, minConcurrency };
  }

  /**
   * Starts the liveness check. Workers that hold running tasks in the store
   * get `timeoutMs` from now to speak up before their tasks are re-queued.
   * @param running - the store's running tasks, when the caller has read them already.
   */
  async start(running?: readonly TaskRecord[]): Promise<void> {
    const now = Date.now();
    for (const t of running ?? (await this.options.store.getRunningTasks())) {
      if (t.worker_id === undefined || this.workers.has(t.worker_id)) continue;
      this.workers.set(t.worker_id, {
        info: { worker_id: t.worker_id, host: t.worker_host ?? '', queues: [], functions: [], concurrency: 0 },
        lastSeen: now,
        provisional: true,
      });
    }
    const every = Math.max(100, Math.min(1000, Math.floor(this.options.timeoutMs / 4)));
    this.timer = setInterval(() => void this.sweep(), every);
    this.timer.unref?.();
  }

  /**
   * Restarts every worker's silence clock: after this task-manager was cut off
   * from the broker, silence says nothing about the workers.
   */
  forgiveSilence(): void {
    const now = Date.now();
    for (const entry of this.workers.values()) entry.lastSeen = now;
  }

  /** Stops the liveness check. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Handles a register, heartbeat or deregister message. */
  async handle(msg: WorkerMessage): Promise<void> {
    const now = Date.now();
    switch (msg.type) {
      case 'register': {
        const info: WorkerInfo = { worker_id: msg.worker_id, host: msg.host, queues: msg.queues, functions: msg.functions, concurrency: msg.concurrency };
        const known = this.workers.get(msg.worker_id);
        const instance = `${msg.host}/${msg.pid}/${msg.started_at}`;
        this.workers.set(msg.worker_id, { info, lastSeen: now, provisional: false, instance });
        if (!known || known.provisional) {
          this.options.logger.info('worker online', { worker_id: msg.worker_id, host: msg.host, queues: msg.queues, concurrency: msg.concurrency });
          await this.options.plugins.run('onWorkerOnline', { worker: info });
        } else if (known.instance !== undefined && known.instance !== instance) {
          // A new process under the same worker id (a fixed worker.id, restarted): the runs of the
          // previous process died with it. Its heartbeats would otherwise keep them "running" forever.
          this.options.logger.warn('worker restarted under the same id; handing on the tasks its previous process held', { worker_id: msg.worker_id });
          await this.options.onLost(msg.worker_id);
        }
        this.options.onSeen?.(info);
        return;
      }
      case 'heartbeat': {
        const known = this.workers.get(msg.worker_id);
        if (known) {
          known.lastSeen = now;
          delete known.departed;
          if (known.provisional) {
            known.provisional = false;
            known.info.host = msg.host;
            await this.options.plugins.run('onWorkerOnline', { worker: known.info });
          }
        } else {
          const info: WorkerInfo = { worker_id: msg.worker_id, host: msg.host, queues: [], functions: [], concurrency: 0 };
          this.workers.set(msg.worker_id, { info, lastSeen: now, provisional: false });
          await this.options.plugins.run('onWorkerOnline', { worker: info });
        }
        await this.abortDeadLeases(msg);
        await this.askToRegister(msg.worker_id);
        await this.options.onHeartbeat?.(msg);
        const seen = this.workers.get(msg.worker_id);
        if (seen && seen.departed === undefined) this.options.onSeen?.(seen.info);
        return;
      }
      case 'deregister': {
        const known = this.workers.get(msg.worker_id);
        if (!known || known.departed !== undefined) return;
        this.options.logger.info('worker offline', { worker_id: msg.worker_id, released: msg.released?.length });
        if (msg.released === undefined) {
          // A worker that does not say what it gives back: everything it still held is handed on at once.
          this.workers.delete(msg.worker_id);
          await this.options.plugins.run('onWorkerOffline', { worker: known.info, reason: 'deregistered' });
          await this.options.onLost(msg.worker_id);
          return;
        }
        known.departed = true;
        known.lastSeen = now;
        await this.options.plugins.run('onWorkerOffline', { worker: known.info, reason: 'deregistered' });
        if (msg.released.length > 0) await this.options.onLost(msg.worker_id, msg.released);
        return;
      }
    }
  }

  /**
   * A worker this process knows only from heartbeats (it registered with an
   * earlier task-manager process) is asked to send its `register` again, at
   * most once per {@link REGISTER_ASK_EVERY_MS}: until then its pools,
   * functions and concurrency are unknown, and nothing is assigned to it.
   */
  private async askToRegister(workerId: string): Promise<void> {
    const entry = this.workers.get(workerId);
    if (!entry || entry.instance !== undefined) return;
    const now = Date.now();
    if (entry.askedToRegisterAt !== undefined && now - entry.askedToRegisterAt < REGISTER_ASK_EVERY_MS) return;
    entry.askedToRegisterAt = now;
    const { broker } = this.options;
    const ask: RegisterRequest = { type: 'register_request' };
    await broker.publish(broker.topology.exchanges.control, broker.topology.controlKeyFor(workerId), ask, { persistent: false }).catch((err: unknown) => {
      this.options.logger.debug('could not ask a worker to register again', { worker_id: workerId, err: String(err) });
    });
  }

  private async abortDeadLeases(hb: WorkerHeartbeat): Promise<void> {
    if (hb.running.length === 0) return;
    const tasks = await this.options.store.getTasks(hb.running.map((r) => r.task_id));
    for (const r of hb.running) {
      const t = tasks.get(r.task_id);
      const live = t !== undefined && t.status === 'running' && t.lease_id === r.lease_id && t.worker_id === hb.worker_id;
      // A lease still being claimed (task queued under this lease) is not dead.
      const claiming = t !== undefined && t.status === 'queued' && t.lease_id === r.lease_id;
      if (live || claiming) continue;
      const abort: AbortCommand = { type: 'abort', task_id: r.task_id, lease_id: r.lease_id, reason: t?.status === 'cancelled' ? 'cancelled' : 'lease_lost' };
      this.options.logger.info('telling worker to drop a dead lease', { task_id: r.task_id, worker_id: hb.worker_id, status: t?.status });
      await this.options.broker
        .publish(this.options.broker.topology.exchanges.control, this.options.broker.topology.controlKeyFor(hb.worker_id), abort, { persistent: false })
        .catch(() => undefined);
    }
  }

  private async sweep(): Promise<void> {
    if (!this.options.broker.connected) return;
    const deadline = Date.now() - this.options.timeoutMs;
    for (const [id, entry] of [...this.workers]) {
      if (entry.lastSeen >= deadline) continue;
      this.workers.delete(id);
      if (entry.departed !== undefined) {
        this.options.logger.debug('deregistered worker: re-queueing whatever it still held without an outcome', { worker_id: id });
      } else {
        this.options.logger.warn('worker lost (no heartbeat); re-queueing its tasks', { worker_id: id, silent_ms: Date.now() - entry.lastSeen });
        if (!entry.provisional) await this.options.plugins.run('onWorkerOffline', { worker: entry.info, reason: 'lost' });
      }
      try {
        await this.options.onLost(id);
      } catch (err) {
        this.options.logger.error('re-queueing the tasks of a lost worker failed; will retry', { worker_id: id, err: (err as Error).message });
        entry.lastSeen = Date.now() - this.options.timeoutMs;
        this.workers.set(id, entry);
      }
    }
  }
}
