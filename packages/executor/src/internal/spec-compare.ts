/**
 * Idempotency comparison: is a resubmitted task the same as the one already
 * accepted under its id? Compared after defaults are filled in, on the fields
 * a client controls; `depends_on` is compared as a set, an absent `kind` or
 * `trigger_rule` equals its default.
 */
import { createHash } from 'node:crypto';
import type { TaskSpec, TaskView } from '@sje/core';

/** The client-controlled fields compared between a resubmission and the stored task. */
export const COMPARED_FIELDS = ['function', 'kind', 'trigger_rule', 'params', 'queue', 'priority', 'depends_on', 'retry', 'timeout_ms', 'delay_ms', 'labels'] as const;

/** Defaults of optional fields whose absence means the default. */
const FIELD_DEFAULTS: Partial<Record<ComparedField, unknown>> = { kind: 'task', trigger_rule: 'all_success' };

/** One of {@link COMPARED_FIELDS}. */
export type ComparedField = (typeof COMPARED_FIELDS)[number];

/**
 * JSON with object keys sorted at every level, so equal data gives equal
 * text. Only own enumerable keys are read; a `__proto__` key is plain data.
 * `undefined` members are left out, as `JSON.stringify` does.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const parts: string[] = [];
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key];
      if (member !== undefined) parts.push(`${JSON.stringify(key)}:${canonicalJson(member)}`);
    }
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function fieldText(source: Partial<Record<ComparedField, unknown>>, field: ComparedField): string {
  const value = source[field] ?? FIELD_DEFAULTS[field];
  if (field === 'depends_on' && Array.isArray(value)) return canonicalJson([...new Set(value as string[])].sort());
  return value === undefined ? '' : canonicalJson(value);
}

/**
 * The fields on which `spec` differs from the stored task `stored`; empty
 * when they are the same task. `delay_ms` is compared only when the stored
 * view reports it (a task's view may carry `not_before` instead).
 */
export function specDifferences(spec: TaskSpec, stored: TaskView): ComparedField[] {
  const storedFields = stored as unknown as Partial<Record<ComparedField, unknown>>;
  const specFields = spec as unknown as Partial<Record<ComparedField, unknown>>;
  return COMPARED_FIELDS.filter((field) => {
    if (field === 'delay_ms' && !Object.hasOwn(stored, 'delay_ms')) return false;
    return fieldText(specFields, field) !== fieldText(storedFields, field);
  });
}

/** A short digest of a spec's compared fields: equal digests mean the same task. */
export function specFingerprint(spec: TaskSpec): string {
  const fields = spec as unknown as Partial<Record<ComparedField, unknown>>;
  const text = COMPARED_FIELDS.map((f) => `${f}=${fieldText(fields, f)}`).join('\n');
  return createHash('sha256').update(text).digest('base64url');
}
