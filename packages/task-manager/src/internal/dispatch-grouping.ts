/**
 * Several dispatches per message under a backlog: the dispatches one batch
 * sends to the same task queue with the same priority travel in `dispatches`
 * groups, so that the broker writes, delivers and is acknowledged once per
 * group instead of once per task.
 *
 * The group size is chosen so that grouping never costs fairness: a batch
 * makes at least two groups per live worker of the pool (the broker hands a
 * queue's messages round-robin to its consumers, so every worker gets some,
 * and has a second one to go on with while the first is claimed), and a group
 * holds at most a quarter of the smallest worker's concurrency (so its slots
 * are filled from several deliveries, and a group does not sit waiting for
 * slots). When a batch holds too few dispatches for groups of two, or the
 * pool has no registered worker, nothing changes: a dispatch alone is sent as
 * it is, so an idle system sends exactly what it did without grouping.
 */
import { dispatchGroupCap, type DispatchMessage, type DispatchMessages, type Topology } from '@sje/core';
import type { OutboxMessage } from '@sje/store';

/** The live workers of one pool (task queue), as the worker registry knows them. */
export interface PoolView {
  /** Registered workers heard from recently that consume the queue. */
  workers: number;
  /** The smallest concurrency among them (0 when there are none). */
  minConcurrency: number;
}

/** Groups a batch makes at least per live worker of the pool. */
export const GROUPS_PER_WORKER = 2;

/**
 * How many dispatches go in one group when a batch holds `dispatches` for
 * one queue: `floor(dispatches / (2 × workers))`, at most
 * {@link dispatchGroupCap} of the pool's smallest concurrency, at least 1.
 * 1 means "do not group".
 */
export function dispatchGroupSize(dispatches: number, pool: PoolView): number {
  if (pool.workers < 1 || dispatches < 2) return 1;
  const size = Math.floor(dispatches / (GROUPS_PER_WORKER * pool.workers));
  return Math.max(1, Math.min(size, dispatchGroupCap(pool.minConcurrency)));
}

interface Group {
  /** Position of the group in the output. */
  index: number;
  first: OutboxMessage;
  tasks: DispatchMessage[];
}

function isDispatch(message: OutboxMessage, topology: Topology): boolean {
  return message.exchange === topology.exchanges.tasks && (message.body as { type?: unknown }).type === 'dispatch';
}

function keyOf(message: OutboxMessage): string {
  return `${message.routing_key}\u0000${message.priority ?? ''}`;
}

function toMessage(group: Group): OutboxMessage {
  if (group.tasks.length === 1) return group.first;
  const body: DispatchMessages = { type: 'dispatches', tasks: group.tasks };
  const message: OutboxMessage = { exchange: group.first.exchange, routing_key: group.first.routing_key, body };
  if (group.first.priority !== undefined) message.priority = group.first.priority;
  return message;
}

/**
 * Groups the dispatches of a batch by queue and priority, keeping everything
 * else in place. Each queue's dispatches are split into
 * `ceil(n / size)` groups of nearly equal size (see {@link dispatchGroupSize});
 * a group sits where its first member was and keeps its members' order.
 * @param poolOf - the live workers of a queue.
 */
export function groupDispatches(messages: readonly OutboxMessage[], topology: Topology, poolOf: (queue: string) => PoolView): OutboxMessage[] {
  const counts = new Map<string, number>();
  for (const m of messages) if (isDispatch(m, topology)) counts.set(keyOf(m), (counts.get(keyOf(m)) ?? 0) + 1);
  /** Per key: how many groups the dispatches are split into (absent: not grouped). */
  const groupsOf = new Map<string, number>();
  for (const [key, n] of counts) {
    const queue = key.slice(0, key.indexOf('\u0000'));
    const size = dispatchGroupSize(n, poolOf(queue));
    if (size > 1) groupsOf.set(key, Math.ceil(n / size));
  }
  if (groupsOf.size === 0) return [...messages];

  const out: (OutboxMessage | Group)[] = [];
  const seen = new Map<string, number>();
  const open = new Map<string, Group>();
  for (const message of messages) {
    const key = isDispatch(message, topology) ? keyOf(message) : undefined;
    const groups = key === undefined ? undefined : groupsOf.get(key);
    if (key === undefined || groups === undefined) {
      out.push(message);
      continue;
    }
    const n = counts.get(key) ?? 1;
    const j = seen.get(key) ?? 0;
    seen.set(key, j + 1);
    // The j-th of n dispatches goes to group floor(j * groups / n): sizes differ by at most one.
    const slot = `${key}\u0000${Math.floor((j * groups) / n)}`;
    let group = open.get(slot);
    if (!group) {
      group = { index: out.length, first: message, tasks: [] };
      out.push(group);
      open.set(slot, group);
    }
    group.tasks.push(message.body as DispatchMessage);
  }
  return out.map((entry) => ('tasks' in entry ? toMessage(entry) : entry));
}
