/**
 * Fewer messages per task under load: the state events of one batch that
 * share a routing key travel as one `task_events` message, and the grants one
 * batch sends to the same worker as one `grants` message. A message alone in
 * its group is sent as it is, so an idle system sends exactly what it would
 * without grouping.
 */
import { MAX_GROUPED_MESSAGES, type LeaseGrant, type TaskEvent, type Topology } from '@sje/core';
import type { OutboxMessage } from '@sje/store';

type GroupKind = 'task_events' | 'grants';

interface Group {
  kind: GroupKind;
  /** Position of the group in the output. */
  index: number;
  first: OutboxMessage;
  bodies: unknown[];
}

/** Which family a message groups with, if any. */
function kindOf(message: OutboxMessage, topology: Topology): GroupKind | undefined {
  const type = (message.body as { type?: unknown }).type;
  if (type === 'task_event' && message.exchange === topology.exchanges.events) return 'task_events';
  if (type === 'grant' && message.exchange === topology.exchanges.control) return 'grants';
  return undefined;
}

function toMessage(group: Group): OutboxMessage {
  if (group.bodies.length === 1) return group.first;
  const body = group.kind === 'task_events' ? { type: 'task_events', events: group.bodies as TaskEvent[] } : { type: 'grants', grants: group.bodies as LeaseGrant[] };
  const message: OutboxMessage = { exchange: group.first.exchange, routing_key: group.first.routing_key, body };
  if (group.first.transient === true) message.transient = true;
  return message;
}

/**
 * Groups events by routing key and grants by worker, keeping everything else
 * in place. A group sits where its first member was; one task's messages of
 * one family keep their order (a member that would overtake an earlier
 * message of its task opens a new group instead), and no group holds more
 * than {@link MAX_GROUPED_MESSAGES}.
 */
export function groupMessages(messages: readonly OutboxMessage[], topology: Topology): OutboxMessage[] {
  const out: (OutboxMessage | Group)[] = [];
  const open = new Map<string, Group>();
  /** Per family and task: the output position of the task's latest message. */
  const latest = new Map<string, number>();
  for (const message of messages) {
    const kind = kindOf(message, topology);
    if (kind === undefined) {
      out.push(message);
      continue;
    }
    const key = `${message.exchange}\u0000${message.routing_key}`;
    const taskKey = `${kind}\u0000${(message.body as { task_id: string }).task_id}`;
    const previous = latest.get(taskKey);
    let group = open.get(key);
    if (!group || group.bodies.length >= MAX_GROUPED_MESSAGES || (previous !== undefined && previous > group.index)) {
      group = { kind, index: out.length, first: message, bodies: [] };
      out.push(group);
      open.set(key, group);
    }
    group.bodies.push(message.body);
    latest.set(taskKey, group.index);
  }
  return out.map((entry) => ('bodies' in entry ? toMessage(entry) : entry));
}
