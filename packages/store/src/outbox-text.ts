/**
 * How a batch's messages are serialised: once for their publish, and for the
 * outbox row that keeps them until the broker confirms them. The row leaves
 * out what the task records already hold, so a task's bulk is not written
 * twice: a dispatch is stored as its tasks and leases (`dispatch_of`), and a
 * succeeded event without its result (`result_of` names those events). An
 * outbox drain builds both again from the records (`outbox-rebuild.ts`).
 */
import type { DispatchMessage, DispatchMessages, TaskEvent, TaskEvents } from '@sje/core';
import type { DispatchRef, OutboxMessage } from './task-record.js';

/** A message's JSON for the publish and, where its row stores less, for the row. */
interface SerializedMessage {
  json: string;
  /** The body without the results of the events in `resultOf`. */
  stored?: string | undefined;
  resultOf?: string[] | undefined;
}

/**
 * Serialises a message: sets `json` (what is published) and, for events
 * that carry a result, `stored_json` and `result_of` (what the row keeps).
 */
export function serializeOutboxMessage(m: OutboxMessage): void {
  const s = serialized(m.body);
  m.json = s.json;
  if (s.stored !== undefined) m.stored_json = s.stored;
  if (s.resultOf !== undefined) m.result_of = s.resultOf;
}

function serialized(body: unknown): SerializedMessage {
  const type = (body as { type?: unknown }).type;
  if (type === 'task_event' && (body as TaskEvent).result !== undefined) {
    const event = body as TaskEvent;
    return { ...eventJson(event), resultOf: [event.task_id] };
  }
  if (type === 'task_events' && (body as TaskEvents).events.some((e) => e.result !== undefined)) {
    const json: string[] = [];
    const stored: string[] = [];
    const resultOf: string[] = [];
    for (const event of (body as TaskEvents).events) {
      if (event.result === undefined) {
        const text = JSON.stringify(event);
        json.push(text);
        stored.push(text);
        continue;
      }
      const parts = eventJson(event);
      json.push(parts.json);
      stored.push(parts.stored);
      resultOf.push(event.task_id);
    }
    return { json: eventsJson(json), stored: eventsJson(stored), resultOf };
  }
  return { json: JSON.stringify(body) };
}

/**
 * An event's JSON with its result, and without: serialised with the result
 * set to `undefined` (which JSON leaves out; setting it, unlike deleting it,
 * keeps the object's shape), then the result's JSON spliced in last.
 */
function eventJson(event: TaskEvent): { json: string; stored: string } {
  const { result } = event;
  event.result = undefined;
  const stored = JSON.stringify(event);
  event.result = result;
  return { json: `${stored.slice(0, -1)},"result":${JSON.stringify(result)}}`, stored };
}

const eventsJson = (events: readonly string[]): string => `{"type":"task_events","events":[${events.join(',')}]}`;

/**
 * The stored text of a batch's messages: a JSON array of
 * `{exchange, routing_key, priority?, body, result_of?}`, or
 * `{exchange, routing_key, priority?, dispatch_of}` for a dispatch; it reuses
 * what {@link serializeOutboxMessage} made, and serialises a message that
 * went without.
 */
export function outboxText(messages: readonly OutboxMessage[]): string {
  const parts: string[] = [];
  for (const m of messages) {
    const priority = m.priority === undefined ? '' : `,"priority":${JSON.stringify(m.priority)}`;
    const refs = dispatchRefsOf(m.body);
    parts.push(`{"exchange":${JSON.stringify(m.exchange)},"routing_key":${JSON.stringify(m.routing_key)}${priority},${refs === undefined ? bodyText(m) : `"dispatch_of":${JSON.stringify(refs)}`}}`);
  }
  return `[${parts.join(',')}]`;
}

/** The stored `body` (and `result_of`) of a message other than a dispatch. */
function bodyText(m: OutboxMessage): string {
  const s: SerializedMessage = m.json === undefined ? serialized(m.body) : { json: m.json, stored: m.stored_json, resultOf: m.result_of };
  return s.stored === undefined || s.resultOf === undefined ? `"body":${s.json}` : `"body":${s.stored},"result_of":${JSON.stringify(s.resultOf)}`;
}

/** The tasks and leases of a `dispatch` or `dispatches` body; `undefined` for any other message. */
function dispatchRefsOf(body: unknown): DispatchRef[] | undefined {
  const type = (body as { type?: unknown }).type;
  const ref = (d: DispatchMessage): DispatchRef => ({ task_id: d.task_id, lease_id: d.lease_id });
  if (type === 'dispatch') return [ref(body as DispatchMessage)];
  if (type === 'dispatches') return (body as DispatchMessages).tasks.map(ref);
  return undefined;
}

/** An outbox message as loaded: a stored `null` priority means none. */
export function stripNullPriority(m: OutboxMessage): OutboxMessage {
  const loaded = m as OutboxMessage & { priority?: number | null };
  if (loaded.priority === null) delete loaded.priority;
  return m;
}
