/**
 * A value that fits a position of a JSON schema: used to check a workflow
 * template at start-up, where a placeholder without a default stands for a
 * value of whatever type the task schema expects at its position.
 */
import type { PathStep } from './template-placeholders.js';

type Schema = Readonly<Record<string, unknown>>;

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The sub-schema that governs the value at `path` under `root`, or
 * `undefined` where the schema leaves the value free (inside `params`).
 */
export function schemaAt(root: Schema, path: readonly PathStep[]): Schema | undefined {
  let schema: Schema | undefined = root;
  for (const step of path) {
    if (schema === undefined) return undefined;
    if (typeof step === 'number') {
      schema = isSchema(schema['items']) ? schema['items'] : undefined;
      continue;
    }
    const properties = schema['properties'];
    if (isSchema(properties) && Object.hasOwn(properties, step)) schema = properties[step] as Schema;
    else schema = isSchema(schema['additionalProperties']) ? schema['additionalProperties'] : undefined;
  }
  return schema;
}

/**
 * A small value `schema` accepts: its `const`, its first `enum` member, or by
 * `type` `'x'`, the minimum number, `true`, a list of one example item, an
 * object (with one example member when it needs one). A free position
 * (`undefined`) gets `'x'`.
 * @example
 * ```ts
 * exampleValue({ type: 'integer', minimum: 1 }); // 1
 * exampleValue({ enum: ['fixed', 'exponential'] }); // 'fixed'
 * ```
 */
export function exampleValue(schema: Schema | undefined): unknown {
  if (schema === undefined) return 'x';
  if (Object.hasOwn(schema, 'const')) return schema['const'];
  const members = schema['enum'];
  if (Array.isArray(members) && members.length > 0) return members[0];
  switch (schema['type']) {
    case 'integer':
    case 'number':
      return typeof schema['minimum'] === 'number' ? schema['minimum'] : 0;
    case 'boolean':
      return true;
    case 'array': {
      const min = typeof schema['minItems'] === 'number' ? schema['minItems'] : 0;
      return min > 0 ? [exampleValue(isSchema(schema['items']) ? schema['items'] : undefined)] : [];
    }
    case 'object': {
      const min = typeof schema['minProperties'] === 'number' ? schema['minProperties'] : 0;
      const member = schema['additionalProperties'];
      return min > 0 ? { x: exampleValue(isSchema(member) ? member : undefined) } : {};
    }
    default:
      return 'x';
  }
}
