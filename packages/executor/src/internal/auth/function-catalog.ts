/**
 * The functions each worker pool can run, as the task-manager's worker
 * registry knows them (`get_functions`), reused for a few seconds.
 */
import { askTaskManager, invalidReply } from '../task-manager-query.js';
import type { BrokerPort } from '../../app-deps.js';

/** Options of {@link FunctionCatalog}. */
export interface FunctionCatalogOptions {
  broker: BrokerPort;
  /** How long one answer is reused. */
  ttlMs: number;
  /** Longest wait for the task-manager. */
  timeoutMs: number;
  /** Clock in ms. @defaultValue Date.now */
  now?: () => number;
}

/** Registered functions by queue, fetched on demand and cached. */
export class FunctionCatalog {
  private cached: { at: number; queues: ReadonlyMap<string, ReadonlySet<string>> } | undefined;
  private inFlight: Promise<ReadonlyMap<string, ReadonlySet<string>>> | undefined;
  private readonly now: () => number;

  constructor(private readonly options: FunctionCatalogOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * The functions registered per queue.
   * @throws SjeError `TASK_MANAGER_UNAVAILABLE` (and what the broker raises) when the task-manager cannot be asked.
   */
  async queues(): Promise<ReadonlyMap<string, ReadonlySet<string>>> {
    const c = this.cached;
    if (c !== undefined && this.now() - c.at < this.options.ttlMs) return c.queues;
    this.inFlight ??= this.fetch().finally(() => {
      this.inFlight = undefined;
    });
    return await this.inFlight;
  }

  private async fetch(): Promise<ReadonlyMap<string, ReadonlySet<string>>> {
    const { broker } = this.options;
    const reply = await askTaskManager(broker, { type: 'get_functions' }, this.options.timeoutMs);
    if (reply.type !== 'functions' || typeof reply.queues !== 'object' || reply.queues === null) {
      throw invalidReply(`expected 'functions', got '${reply.type}'`);
    }
    const queues = new Map(Object.entries(reply.queues).map(([q, fns]) => [q, new Set(fns)] as const));
    this.cached = { at: this.now(), queues };
    return queues;
  }
}
