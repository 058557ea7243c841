/**
 * The broker topology: every exchange, queue and routing key name SJE uses,
 * and {@link assertTopology} that declares them. No service spells a RabbitMQ
 * name itself.
 * @module
 */
import type { Channel } from 'amqplib';

/** Queue type used for durable queues. */
export type DurableQueueType = 'quorum' | 'classic';

/** Options for {@link createTopology}. */
export interface TopologyOptions {
  /** Prefix of every name; tests use a unique one. @defaultValue 'sje' */
  prefix?: string;
  /** Type of the durable queues (commands, task queues). @defaultValue 'quorum' */
  queueType?: DurableQueueType;
  /** Deliveries of one message before the broker dead-letters it (quorum queues). @defaultValue 20 */
  deliveryLimit?: number;
}

/** All names of one SJE installation, derived from its prefix. */
export interface Topology {
  readonly prefix: string;
  readonly queueType: DurableQueueType;
  readonly deliveryLimit: number;
  readonly exchanges: {
    /** direct: executor and worker → task-manager (submit, cancel, run reports). */
    readonly commands: string;
    /** direct: task-manager → worker pools, routing key = the task's queue. */
    readonly tasks: string;
    /** topic: authoritative state events, `task.<status>.<function>`. */
    readonly events: string;
    /** topic: task-manager → workers: `worker.all` broadcasts, `worker.<id>` to one. */
    readonly control: string;
    /** fanout: messages no service could process. */
    readonly deadLetter: string;
  };
  readonly queues: {
    /** Durable queue of task-manager commands and run reports. */
    readonly commands: string;
    /** Worker registrations and heartbeats (transient data). */
    readonly workers: string;
    /** Lease claims (`started`) from workers: transient, answered by a grant, repeated by the worker when unanswered. */
    readonly claims: string;
    /** Status queries from executors. */
    readonly queries: string;
    /** Messages that failed validation or processing, with the reason in headers. */
    readonly deadLetter: string;
  };
  readonly routingKeys: {
    readonly command: string;
    readonly worker: string;
    readonly claim: string;
    readonly query: string;
    readonly controlBroadcast: string;
  };
  /** Name of the durable queue of one worker pool. */
  taskQueue(queue: string): string;
  /** Routing key of a control message for one worker. */
  controlKeyFor(workerId: string): string;
  /** Routing key of a task event. */
  eventKey(status: string, fn: string): string;
  /** Name of a worker's own (exclusive) control queue. */
  workerControlQueue(workerId: string): string;
}

/** Header names SJE puts on dead-lettered messages. */
export const DeadLetterHeaders = {
  reason: 'x-sje-reason',
  sourceQueue: 'x-sje-source-queue',
  service: 'x-sje-service',
  at: 'x-sje-dead-lettered-at',
} as const;

/**
 * Builds the names of one installation.
 * @example
 * ```ts
 * const t = createTopology({ prefix: 'sje' });
 * t.taskQueue('default'); // 'sje.tasks.default'
 * ```
 */
export function createTopology(options: TopologyOptions = {}): Topology {
  const prefix = options.prefix ?? 'sje';
  return {
    prefix,
    queueType: options.queueType ?? 'quorum',
    deliveryLimit: options.deliveryLimit ?? 20,
    exchanges: {
      commands: `${prefix}.commands`,
      tasks: `${prefix}.tasks`,
      events: `${prefix}.events`,
      control: `${prefix}.control`,
      deadLetter: `${prefix}.dead-letter`,
    },
    queues: {
      commands: `${prefix}.task-manager.commands`,
      workers: `${prefix}.task-manager.workers`,
      claims: `${prefix}.task-manager.claims`,
      queries: `${prefix}.task-manager.queries`,
      deadLetter: `${prefix}.dead-letter`,
    },
    routingKeys: { command: 'command', worker: 'worker', claim: 'claim', query: 'query', controlBroadcast: 'worker.all' },
    taskQueue: (queue) => `${prefix}.tasks.${queue}`,
    controlKeyFor: (workerId) => `worker.${workerId}`,
    eventKey: (status, fn) => `task.${status}.${fn}`,
    workerControlQueue: (workerId) => `${prefix}.worker.${workerId}.control`,
  };
}

function durableQueueArgs(t: Topology): Record<string, unknown> {
  const args: Record<string, unknown> = { 'x-queue-type': t.queueType, 'x-dead-letter-exchange': t.exchanges.deadLetter };
  if (t.queueType === 'quorum') args['x-delivery-limit'] = t.deliveryLimit;
  else args['x-max-priority'] = 9;
  return args;
}

/**
 * Declares the shared exchanges and queues. Idempotent; every service calls it
 * on each (re)connect.
 */
export async function assertTopology(channel: Channel, t: Topology): Promise<void> {
  const ex = t.exchanges;
  await channel.assertExchange(ex.commands, 'direct', { durable: true });
  await channel.assertExchange(ex.tasks, 'direct', { durable: true });
  await channel.assertExchange(ex.events, 'topic', { durable: true });
  await channel.assertExchange(ex.control, 'topic', { durable: true });
  await channel.assertExchange(ex.deadLetter, 'fanout', { durable: true });

  await channel.assertQueue(t.queues.deadLetter, { durable: true, arguments: { 'x-queue-type': t.queueType } });
  await channel.bindQueue(t.queues.deadLetter, ex.deadLetter, '');

  await channel.assertQueue(t.queues.commands, { durable: true, arguments: durableQueueArgs(t) });
  await channel.bindQueue(t.queues.commands, ex.commands, t.routingKeys.command);

  // Registrations and heartbeats are only useful fresh: classic, short TTL.
  await channel.assertQueue(t.queues.workers, {
    durable: true,
    arguments: { 'x-queue-type': 'classic', 'x-message-ttl': 60_000, 'x-dead-letter-exchange': ex.deadLetter },
  });
  await channel.bindQueue(t.queues.workers, ex.commands, t.routingKeys.worker);

  // Claims need no Raft write: the store records the claim, and a worker repeats an
  // unanswered claim (so an expired or lost one costs a repeat, never a task).
  await channel.assertQueue(t.queues.claims, {
    durable: true,
    arguments: { 'x-queue-type': 'classic', 'x-message-ttl': 60_000 },
  });
  await channel.bindQueue(t.queues.claims, ex.commands, t.routingKeys.claim);

  // Queries expire quickly: an executor waits at most a few seconds for an answer.
  await channel.assertQueue(t.queues.queries, {
    durable: true,
    arguments: { 'x-queue-type': 'classic', 'x-message-ttl': 10_000, 'x-dead-letter-exchange': ex.deadLetter },
  });
  await channel.bindQueue(t.queues.queries, ex.commands, t.routingKeys.query);
}

/** Declares the durable queue of one worker pool and binds it. Idempotent. */
export async function assertTaskQueue(channel: Channel, t: Topology, queue: string): Promise<string> {
  const name = t.taskQueue(queue);
  await channel.assertQueue(name, { durable: true, arguments: durableQueueArgs(t) });
  await channel.bindQueue(name, t.exchanges.tasks, queue);
  return name;
}

/**
 * Deletes every queue and exchange of a topology (used by tests to clean up
 * their unique prefix). Task queues are named by the caller.
 */
export async function deleteTopology(channel: Channel, t: Topology, taskQueues: string[] = []): Promise<void> {
  for (const q of [...Object.values(t.queues), ...taskQueues.map((q) => t.taskQueue(q))]) await channel.deleteQueue(q);
  for (const e of Object.values(t.exchanges)) await channel.deleteExchange(e);
}
