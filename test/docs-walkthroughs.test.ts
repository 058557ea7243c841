/**
 * The documentation's examples, run as written against `sje start all` (the
 * same as `pnpm start`) with the default ports: the README's walkthrough, and
 * every shell example of docs/workflows.md, compared with the output the page
 * shows below it.
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

/** Runs a shell snippet as a user would paste it. */
function sh(script: string, timeoutMs = 60_000): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    execFile('bash', ['-euo', 'pipefail', '-c', script], { timeout: timeoutMs }, (err, out, errOut) =>
      err ? reject(new Error(`${err.message}\n${out}\n${errOut}\n--- services ---\n${output.slice(-4000)}`)) : resolve(out),
    );
  });
}

/** Shell examples of a page, each with the output block that follows it (if any). */
function examples(markdown: string): { script: string; expected?: { lang: string; text: string } }[] {
  const blocks = [...markdown.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, text: m[2]! }));
  const out: { script: string; expected?: { lang: string; text: string } }[] = [];
  blocks.forEach((b, i) => {
    if (b.lang !== 'sh') return;
    const next = blocks[i + 1];
    out.push(next && (next.lang === 'json' || next.lang === 'text') ? { script: b.text, expected: next } : { script: b.text });
  });
  return out;
}

/** Whether `got` reads as `want`, where `…` in `want` stands for any run of characters (ids, times). */
function matchesWithEllipsis(got: string, want: string): boolean {
  const squash = (t: string): string => t.replaceAll(/\s+/g, '');
  const pattern = squash(want)
    .split('…')
    .map((part) => part.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*?');
  return new RegExp(`^${pattern}$`, 's').test(squash(got));
}

function parseJsonLines(text: string): unknown[] {
  // One JSON value per line (jq -c), or one pretty-printed value.
  try {
    return [JSON.parse(text)];
  } catch {
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as unknown);
  }
}

describe('docs/workflows.md examples', () => {
  it('run as written and print what the page shows', async () => {
    const page = readFileSync(join(REPO_ROOT, 'docs/workflows.md'), 'utf8');
    const runnable = examples(page).filter((e) => e.script.includes('curl'));
    expect(runnable.length).toBeGreaterThan(3);
    for (const [i, e] of runnable.entries()) {
      const out = await sh(e.script);
      if (!e.expected) continue;
      const want = e.expected.text.trim();
      const got = out.trim();
      const label = `example ${i + 1}:\n${e.script}\n--- got ---\n${got}`;
      if (want.includes('…')) expect(matchesWithEllipsis(got, want), label).toBe(true);
      else if (e.expected.lang === 'json') expect(parseJsonLines(got), label).toEqual(parseJsonLines(want));
      else expect(got, label).toBe(want);
    }
  }, 180_000);
});

describe('README walkthrough', () => {
  it('works as written against `sje start all`', async () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const block = /<!-- walkthrough:start -->\s*```sh\n([\s\S]*?)```\s*<!-- walkthrough:end -->/.exec(readme)?.[1];
    expect(block, 'README has a walkthrough block').toBeDefined();
    const stdout = await sh(block!.replaceAll(/\ncurl /g, '\necho; curl '));
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
