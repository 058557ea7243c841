/**
 * A task record as the embedded store keeps it: in two parts. The spec —
 * what the submit fixed, params included — is written once, when the task is
 * stored; the state — status, lease, times, history, result — is rewritten
 * at every transition. A transition then serialises and writes only the
 * state, however large the task's params are.
 */
import type { TaskRecord } from './task-record.js';

/** Which part each field of a record belongs to. Every field is listed (the compiler checks), so a new one has to be placed. */
const PART_OF: Record<keyof TaskRecord, 'spec' | 'state'> = {
  task_id: 'spec',
  workflow_id: 'spec',
  function: 'spec',
  kind: 'spec',
  trigger_rule: 'spec',
  queue: 'spec',
  priority: 'spec',
  params: 'spec',
  depends_on: 'spec',
  labels: 'spec',
  retry: 'spec',
  timeout_ms: 'spec',
  delay_ms: 'spec',
  tenant: 'spec',
  created_at: 'spec',
  status: 'state',
  attempt: 'state',
  deliveries: 'state',
  deps_remaining: 'state',
  has_dependents: 'state',
  lease_id: 'state',
  worker_id: 'state',
  worker_host: 'state',
  result: 'state',
  error: 'state',
  progress: 'state',
  queued_at: 'state',
  started_at: 'state',
  finished_at: 'state',
  not_before: 'state',
  history: 'state',
};

const fieldsOf = (part: 'spec' | 'state'): readonly (keyof TaskRecord)[] =>
  (Object.keys(PART_OF) as (keyof TaskRecord)[]).filter((f) => PART_OF[f] === part);

/** The fields fixed at submit. */
export const SPEC_FIELDS = fieldsOf('spec');
/** The fields transitions change. */
export const STATE_FIELDS = fieldsOf('state');

function partJson(r: TaskRecord, fields: readonly (keyof TaskRecord)[]): string {
  // Every field set, absent ones as undefined (which JSON leaves out): one object shape for all records.
  const part: Record<string, unknown> = {};
  for (const f of fields) part[f] = r[f];
  return JSON.stringify(part);
}

/** The JSON of a record's spec part. */
export function specJson(r: TaskRecord): string {
  return partJson(r, SPEC_FIELDS);
}

/** The JSON of a record's state part. */
export function stateJson(r: TaskRecord): string {
  return partJson(r, STATE_FIELDS);
}

/** The record from its two parts, as parsed objects (`spec` is taken over). */
export function joinParts(spec: Partial<TaskRecord>, state: Partial<TaskRecord>): TaskRecord {
  return Object.assign(spec, state) as TaskRecord;
}

/** The record from its stored parts, as JSON. */
export function recordFromParts(spec: string, state: string): TaskRecord {
  return joinParts(JSON.parse(spec) as Partial<TaskRecord>, JSON.parse(state) as Partial<TaskRecord>);
}

/**
 * SQL (SQLite, with its JSON functions) that splits the whole records in
 * `tasks.data` into a spec row of `specs` each and the state left in `data`.
 */
export function splitRecordsSql(tasks: string, specs: string): string {
  const paths = (fields: readonly string[]): string => fields.map((f) => `'$.${f}'`).join(', ');
  return `INSERT INTO ${specs} (task_id, spec) SELECT task_id, json_remove(data, ${paths(STATE_FIELDS)}) FROM ${tasks};
   UPDATE ${tasks} SET data = json_remove(data, ${paths(SPEC_FIELDS)});`;
}
