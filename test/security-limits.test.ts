/**
 * Limits against real services (in process, real RabbitMQ): task params
 * size, the per-key submit rate limit, the result size a worker accepts, and
 * the function allow-list (`security.strict_functions`).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import retryPlugin from '../plugins/retry/src/index.js';
import { apiKey, call, startStack, waitForStatus, type Stack } from './security-support.js';

const sizes = apiKey('sizes', ['submit', 'read'], 'acme');
const limited = apiKey('limited', ['submit', 'read'], 'acme');
const other = apiKey('other', ['submit', 'read'], 'acme');
const results = apiKey('results', ['submit', 'read'], 'acme');
const strict = apiKey('strict', ['submit', 'read'], 'acme');

let stack: Stack;
let api: string;

beforeAll(async () => {
  stack = await startStack(
    {
      security: {
        api_keys: [sizes.entry, limited.entry, other.entry, results.entry, strict.entry],
        max_params_bytes: 2000,
        rate_limit: { per_second: 1, burst: 5 },
        strict_functions: true,
      },
      worker: { max_result_bytes: 5000 },
    },
    { taskManagerPlugins: [{ plugin: retryPlugin }] },
  );
  api = stack.api;
});

afterAll(async () => {
  await stack?.close();
});

describe('limits', () => {
  it('refuses params over security.max_params_bytes with 413 naming the task', async () => {
    const big = { blob: 'y'.repeat(2000) };
    const one = await call(api, 'POST', '/submit', { key: sizes.key, json: { task_id: 'big-one', function: 'echo', params: big } });
    expect(one.status).toBe(413);
    expect(one.body.error.code).toBe('SJE_ERR_PAYLOAD_TOO_LARGE');
    expect(one.body.error.message).toContain('task big-one');
    expect(one.body.error.details).toMatchObject({ task_id: 'big-one', index: 0, max_params_bytes: 2000 });
    const batch = await call(api, 'POST', '/submit', {
      key: sizes.key,
      json: {
        tasks: [
          { function: 'echo', params: { small: 1 } },
          { function: 'echo', params: big },
        ],
      },
    });
    expect(batch.status).toBe(413);
    expect(batch.body.error.message).toMatch(/^tasks\[1\] \(task [0-9a-f-]{36}\) has params of \d+ bytes/);
    const fits = await call(api, 'POST', '/submit', { key: sizes.key, json: { function: 'echo', params: { blob: 'y'.repeat(1980) } } });
    expect(fits.status).toBe(201);
  });

  it('limits submits per key with 429 and Retry-After; other keys and reads are not held back', async () => {
    const answers = [];
    for (let i = 0; i < 6; i++)
      answers.push(await call(api, 'POST', '/submit', { key: limited.key, json: { function: 'echo', params: { i } } }));
    expect(answers.slice(0, 5).map((a) => a.status)).toEqual([201, 201, 201, 201, 201]);
    const refused = answers[5]!;
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('SJE_ERR_RATE_LIMITED');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await call(api, 'POST', '/submit', { key: other.key, json: { function: 'echo' } })).status).toBe(201);
    expect((await call(api, 'GET', `/status/${answers[0]!.body.task_id}`, { key: limited.key })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await call(api, 'POST', '/submit', { key: limited.key, json: { function: 'echo' } })).status).toBe(201);
  });

  it('fails a task whose result is over worker.max_result_bytes with RESULT_TOO_LARGE, without retrying or cutting it', async () => {
    const over = await call(api, 'POST', '/submit', {
      key: results.key,
      json: { function: 'repeat', params: { bytes: 6000 }, retry: { max_attempts: 3, backoff: 'fixed', delay_ms: 10, jitter: false } },
    });
    const under = await call(api, 'POST', '/submit', { key: results.key, json: { function: 'repeat', params: { bytes: 4000 } } });
    const failed = await waitForStatus(api, results.key, over.body.task_id, ['failed', 'succeeded']);
    expect(failed.status).toBe('failed');
    expect(failed.attempt).toBe(1);
    expect(failed.result).toBeUndefined();
    expect(failed.error).toMatchObject({ code: 'SJE_ERR_RESULT_TOO_LARGE', retryable: false, data: { bytes: 6002, max_bytes: 5000 } });
    const ok = await waitForStatus(api, results.key, under.body.task_id, ['failed', 'succeeded']);
    expect(ok.status).toBe('succeeded');
    expect(ok.result).toHaveLength(4000);
  });

  it('with strict_functions, refuses a function no worker of the queue registered', async () => {
    expect((await call(api, 'POST', '/submit', { key: strict.key, json: { function: 'echo' } })).status).toBe(201);
    const unknown = await call(api, 'POST', '/submit', { key: strict.key, json: { function: 'rm_rf', params: {} } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ code: 'SJE_ERR_FUNCTION_NOT_ALLOWED', details: { function: 'rm_rf', queue: 'default' } });
    const elsewhere = await call(api, 'POST', '/submit', { key: strict.key, json: { function: 'echo', queue: 'gpu' } });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body.error.details).toMatchObject({ function: 'echo', queue: 'gpu' });
    const gate = `gate-${randomUUID()}`;
    const batch = await call(api, 'POST', '/submit', {
      key: strict.key,
      json: {
        tasks: [
          { task_id: gate, kind: 'approval' },
          { function: 'echo', depends_on: [gate] },
        ],
      },
    });
    expect(batch.status).toBe(201);
  });
});
