/**
 * The build (`pnpm build`): the services run from JavaScript alone, without
 * tsx, the way `pnpm start:compiled` and the container images start them.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SjeConfig } from '../packages/core/src/index.js';
import { buildAll } from '../scripts/build.js';
import { http, waitForStatus } from './helpers/http.js';
import { disposeTestConfig, freePort, REPO_ROOT, testConfig } from './helpers/stack.js';

let config: SjeConfig;
let cli: ChildProcess;
let output = '';
let api: string;

/** The command lines of a process's children. */
function childCommands(pid: number): string[] {
  return execFileSync('ps', ['--ppid', String(pid), '-o', 'args='], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.trim() !== '');
}

async function waitReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ready = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return;
    if (Date.now() > deadline || cli.exitCode !== null) throw new Error(`not ready at ${url}; output:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  expect(await buildAll()).toBeGreaterThan(50);
  const [executorPort, tmPort, workerPort] = await Promise.all([freePort(), freePort(), freePort()]);
  config = await testConfig({
    plugins: [{ name: 'logging' }, { name: 'retry' }, { name: 'metrics' }],
    executor: { port: executorPort },
    task_manager: { ops_port: tmPort },
    worker: { ops_port: workerPort, concurrency: 2 },
  });
  const file = join(config.task_manager.data_dir, 'compiled.yaml');
  await writeFile(file, `${JSON.stringify(config)}\n`);
  // The build of the `sje` command, which starts the builds of the services.
  cli = spawn(process.execPath, ['--conditions=sje-compiled', join(REPO_ROOT, 'packages/cli/dist/main.js'), 'start', 'all', '--config', file], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cli.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  cli.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  api = `http://127.0.0.1:${executorPort}`;
  await Promise.all([waitReady(`${api}/readyz`, 45_000), waitReady(`http://127.0.0.1:${tmPort}/readyz`, 45_000), waitReady(`http://127.0.0.1:${workerPort}/readyz`, 45_000)]);
});

afterAll(async () => {
  if (cli && cli.exitCode === null) {
    const exited = new Promise((r) => cli.once('exit', r));
    cli.kill('SIGTERM');
    await exited;
  }
  if (config) await disposeTestConfig(config);
});

describe('the build', () => {
  it('starts every service from its dist/main.js with plain Node, no tsx', () => {
    const commands = childCommands(cli.pid!);
    expect(commands).toHaveLength(3);
    for (const service of ['task-manager', 'worker', 'executor']) {
      expect(commands.filter((c) => c.includes(`packages/${service}/dist/main.js`) && c.includes('--conditions=sje-compiled'))).toHaveLength(1);
    }
    expect(commands.join('\n')).not.toContain('tsx');
  });

  it('runs a task end to end, with the bundled plugins loaded from their builds', async () => {
    const submit = await http(`${api}/submit`, { json: { function: 'echo', params: { built: true } } });
    expect(submit.status).toBe(201);
    const done = await waitForStatus(api, submit.body.task_id, ['succeeded']);
    expect(done.result).toEqual({ built: true });
    // The metrics plugin, loaded by its short name, counted the submit.
    const metrics = await fetch(`${api}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/^sje_tasks_submitted_total(\{[^}]*\})? [1-9]/m);
  });
});
