import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, createRuntime, loadConfig, type DispatchMessage, type ServiceName, type ServiceRuntime, type TaskEvent, type TaskSpec } from '@sje/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const cliDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const docPath = join(cliDir, '..', '..', 'docs', 'plugins.md');

/** The TypeScript block that follows the `example:audit-plugin` marker in docs/plugins.md. */
function exampleSource(): string {
  const doc = readFileSync(docPath, 'utf8');
  const match = /<!-- example:audit-plugin -->\s*```ts\n([\s\S]*?)\n```/.exec(doc);
  if (!match?.[1]) throw new Error('docs/plugins.md has no example:audit-plugin code block');
  return match[1];
}

// The example is written inside this package so its `@sje/core` import resolves as it would in a deployment.
let dir: string;
let pluginPath: string;
let auditFile: string;

beforeAll(() => {
  dir = mkdtempSync(join(cliDir, '.doc-example-'));
  pluginPath = join(dir, 'audit-plugin.ts');
  auditFile = join(dir, 'audit.jsonl');
  writeFileSync(pluginPath, exampleSource());
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Loads the example through the configuration, by path, as a service does. */
async function load(service: ServiceName, options: Record<string, unknown>): Promise<ServiceRuntime> {
  const config = loadConfig({ env: {}, overrides: { plugins: [{ name: pluginPath, options }] } });
  return await createRuntime(service, config, {
    logger: createLogger({ service, silent: true }),
    importer: (spec) => import(spec) as Promise<Record<string, unknown>>,
  });
}

const spec = (fn: string): TaskSpec => ({ task_id: `id-${fn}`, function: fn, params: {}, queue: 'default', priority: 0, depends_on: [], labels: {} });

describe('the audit plugin example of docs/plugins.md', () => {
  it('refuses submits of denied functions in the executor', async () => {
    const rt = await load('executor', { file: auditFile, deny: ['drop_database'] });
    await expect(rt.plugins.run('beforeSubmit', { tasks: [spec('resize'), spec('drop_database')] })).rejects.toMatchObject({
      code: 'SJE_ERR_VALIDATION',
      message: "function 'drop_database' is not accepted",
    });
    await expect(rt.plugins.run('beforeSubmit', { tasks: [spec('resize')] })).resolves.toBeUndefined();
  });

  it('appends one line per finished task in the task-manager', async () => {
    const rt = await load('task-manager', { file: auditFile });
    const base: TaskEvent = { type: 'task_event', task_id: 't1', function: 'resize', queue: 'default', status: 'running', attempt: 1, at: '2025-01-01T00:00:00.000Z', labels: {} };
    await rt.plugins.run('onTaskStateChange', { event: base });
    await rt.plugins.run('onTaskStateChange', { event: { ...base, status: 'succeeded', previous_status: 'running' } });
    const lines = readFileSync(auditFile, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toEqual({ at: base.at, task_id: 't1', function: 'resize', status: 'succeeded', attempt: 1 });
  });

  it('passes handler results through its execute interceptor in the worker', async () => {
    const rt = await load('worker', { file: auditFile, slow_run_ms: 1 });
    const task: DispatchMessage = { type: 'dispatch', task_id: 't', lease_id: 'l', function: 'f', params: {}, attempt: 1, queue: 'default', priority: 0, labels: {} };
    const result = await rt.plugins.intercept('execute', { task, worker_id: 'w' }, async () => {
      await new Promise((r) => setTimeout(r, 5));
      return { ok: true };
    });
    expect(result).toEqual({ ok: true });
  });

  it.each([
    [{}, 'file'],
    [{ file: 'audit.jsonl', deny: 'x' }, 'deny'],
    [{ file: 'audit.jsonl', slow_run_ms: 0 }, 'slow_run_ms'],
    [{ file: 'audit.jsonl', colour: 'red' }, 'colour'],
  ])('refuses bad options %j naming %s', async (options, name) => {
    await expect(load('worker', options)).rejects.toMatchObject({ code: 'SJE_ERR_PLUGIN_INVALID', message: expect.stringContaining(`'${name}'`) });
  });
});
