/**
 * The README's walkthrough, run as written against `sje start all` (the same
 * as `pnpm start`) with the default ports.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTopology, getBrokerUrl, isPortOpen, uniquePrefix } from './helpers/broker.js';
import { REPO_ROOT } from './helpers/stack.js';

const PORTS = [8080, 8081, 8082];
let child: ChildProcess | undefined;
let output = '';
let prefix: string;
let dataDir: string;
let url: string;

async function ready(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  for (const port of PORTS) {
    if (await isPortOpen('127.0.0.1', port)) throw new Error(`port ${port} is taken: stop whatever runs there (a 'pnpm start'?) before running this test`);
  }
  url = await getBrokerUrl();
  prefix = uniquePrefix();
  dataDir = mkdtempSync(join(tmpdir(), 'sje-readme-'));
  child = spawn(process.execPath, [join(REPO_ROOT, 'packages/cli/bin/sje.mjs'), 'start', 'all'], {
    cwd: REPO_ROOT,
    env: { ...process.env, SJE_AMQP_URL: url, SJE_TOPOLOGY_PREFIX: prefix, SJE_TASK_MANAGER_DATA_DIR: dataDir, SJE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 45_000;
  for (;;) {
    if ((await Promise.all(PORTS.map(ready))).every(Boolean)) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`sje start all did not become ready:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child?.once('exit', r));
    child.kill('SIGINT');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  if (prefix) await cleanupTopology(url, prefix, ['default']);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('README walkthrough', () => {
  it('works as written against `sje start all`', async () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const block = /<!-- walkthrough:start -->\s*```sh\n([\s\S]*?)```\s*<!-- walkthrough:end -->/.exec(readme)?.[1];
    expect(block, 'README has a walkthrough block').toBeDefined();
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile('bash', ['-euo', 'pipefail', '-c', block!.replaceAll(/\ncurl /g, '\necho; curl ')], { timeout: 60_000 }, (err, out, errOut) =>
        err ? reject(new Error(`${err.message}\n${out}\n${errOut}\n--- services ---\n${output}`)) : resolve(out),
      );
    });
    const answers = stdout
      .split('\n')
      .filter((l) => l.trim().startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, any>);
    expect(answers[0]).toEqual({ task_id: 'hello-1', status: 'queued' });
    expect(answers[1]).toMatchObject({ task_id: 'hello-1', status: 'succeeded', attempt: 1, result: { count: 6, sum: 108, mean: 18, min: 4, max: 42 } });
    expect(answers[2]).toMatchObject({ task_id: 'nap-1' });
    expect(answers[3]).toEqual({ task_id: 'nap-1', status: 'cancelled' });
    expect(answers[4]).toMatchObject({ task_id: 'flaky-1' });
    expect(answers[5]).toMatchObject({ task_id: 'flaky-1', status: 'failed', attempt: 3, error: { message: 'boom' } });
  });
});
