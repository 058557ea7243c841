/**
 * HTTP helpers for end-to-end tests: JSON requests against a service, polling
 * a task until it reaches a status, and a Prometheus text parser.
 * @module
 */

/** A JSON HTTP answer. */
export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/**
 * Sends a request and parses the JSON answer.
 * @example
 * ```ts
 * const res = await http(`${executor.baseUrl}/submit`, { method: 'POST', json: { function: 'echo' } });
 * ```
 */
export async function http<T = any>(url: string, init: { method?: string; json?: unknown; body?: string; headers?: Record<string, string> } = {}): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  let body = init.body;
  if (init.json !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(init.json);
  }
  const res = await fetch(url, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

/**
 * Polls `GET /status/:id` until the task's status is one of `statuses`.
 * @example
 * ```ts
 * const task = await waitForStatus(baseUrl, id, ['succeeded']);
 * ```
 */
export async function waitForStatus(baseUrl: string, taskId: string, statuses: string[], timeoutMs = 20_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const res = await http(`${baseUrl}/status/${encodeURIComponent(taskId)}`);
    last = res.body;
    if (res.status === 200 && statuses.includes(res.body.status)) return res.body;
    if (Date.now() > deadline) throw new Error(`task ${taskId} did not reach ${statuses.join('|')} within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One sample of a Prometheus text exposition. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Parses Prometheus text format; throws on a line that is not valid.
 * @example
 * ```ts
 * const samples = parsePrometheus(await (await fetch(url + '/metrics')).text());
 * ```
 */
export function parsePrometheus(text: string): PromSample[] {
  const out: PromSample[] = [];
  const lineRe = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(-?[0-9.eE+-]+|NaN|\+Inf|-Inf)(\s+-?\d+)?$/;
  const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const m = lineRe.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(labelRe)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[4]) });
  }
  return out;
}

/** Sum of the samples of one metric whose labels include `match`. */
export function metricValue(samples: PromSample[], name: string, match: Record<string, string> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
}
