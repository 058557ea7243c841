/**
 * `${params.x}` placeholders in workflow templates: finding them and
 * replacing them. A string that is exactly one placeholder becomes the
 * parameter's JSON value (keeping its type); a placeholder inside a longer
 * string becomes the value's text (a string as is, anything else as JSON).
 * Only strings are looked at, never object keys.
 */

/** One step of a path into a JSON value: an object key or an array index. */
export type PathStep = string | number;

/** A placeholder found in a value. */
export interface Placeholder {
  /** The parameter name (`x` of `${params.x}`). */
  name: string;
  /** Where the string holding it sits. */
  path: PathStep[];
  /** Whether the placeholder is the whole string. */
  whole: boolean;
}

const NAME = '[A-Za-z_][A-Za-z0-9_]*';
const WHOLE = new RegExp(`^\\$\\{params\\.(${NAME})\\}$`);
const anyPlaceholder = (): RegExp => new RegExp(`\\$\\{params\\.(${NAME})\\}`, 'g');

/** Formats a path like the schema errors do: `params.rows[2].id`. */
export function formatPath(path: readonly PathStep[]): string {
  let out = '';
  for (const step of path) out += typeof step === 'number' ? `[${step}]` : out === '' ? step : `.${step}`;
  return out;
}

/** Every placeholder in `value`, depth first, in document order. */
export function findPlaceholders(value: unknown, path: PathStep[] = []): Placeholder[] {
  if (typeof value === 'string') {
    const whole = WHOLE.exec(value);
    if (whole) return [{ name: whole[1]!, path, whole: true }];
    return [...value.matchAll(anyPlaceholder())].map((m) => ({ name: m[1]!, path, whole: false }));
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => findPlaceholders(v, [...path, i]));
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([k, v]) => findPlaceholders(v, [...path, k]));
  return [];
}

/**
 * A copy of `value` with every placeholder replaced by what `resolve` gives
 * for it. `resolve` may throw (a missing parameter).
 * @example
 * ```ts
 * substitute({ n: '${params.n}', title: 'run ${params.n}' }, () => 3); // { n: 3, title: 'run 3' }
 * ```
 */
export function substitute(
  value: unknown,
  resolve: (name: string, path: PathStep[], whole: boolean) => unknown,
  path: PathStep[] = [],
): unknown {
  if (typeof value === 'string') {
    const whole = WHOLE.exec(value);
    if (whole) return structuredClone(resolve(whole[1]!, path, true));
    return value.replace(anyPlaceholder(), (_m, name: string) => {
      const v = resolve(name, path, false);
      return typeof v === 'string' ? v : JSON.stringify(v);
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, resolve, [...path, i]));
  if (typeof value === 'object' && value !== null) {
    // Object.fromEntries defines own properties: a `__proto__` key stays plain data.
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, resolve, [...path, k])]));
  }
  return value;
}
