import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SjeError, type TaskInput } from '@sje/core';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defaultDeps, runCli, type CliDeps, type TaskClient } from './program.js';
import type { ChildSpec } from './supervisor.js';

interface Harness {
  deps: CliDeps;
  out: () => string;
  err: () => string;
  calls: { method: string; arg: unknown; url: string; apiKey?: string; options?: unknown }[];
  started: { children: ChildSpec[]; killAfterMs: number }[];
}

function harness(behaviour: Partial<Record<keyof TaskClient, (arg: unknown) => Promise<unknown>>> = {}): Harness {
  let out = '';
  let err = '';
  const calls: Harness['calls'] = [];
  const started: Harness['started'] = [];
  const deps: CliDeps = {
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
    createClient: (target) => {
      const call =
        (method: keyof TaskClient) =>
        async (arg: unknown, options?: unknown): Promise<unknown> => {
          calls.push({ method, arg, url: target.baseUrl, ...(target.apiKey === undefined ? {} : { apiKey: target.apiKey }), ...(options === undefined ? {} : { options }) });
          const fn = behaviour[method];
          return fn ? await fn(arg) : { ok: method };
        };
      return { submit: call('submit'), status: call('status'), cancel: call('cancel'), waitFor: call('waitFor') };
    },
    runServices: async (children, options) => {
      started.push({ children, killAfterMs: options.killAfterMs });
      return 0;
    },
  };
  return { deps, out: () => out, err: () => err, calls, started };
}

const cli = (h: Harness, ...args: string[]): Promise<number> => runCli(['node', 'sje', ...args], h.deps);

describe('sje submit', () => {
  it('builds the task from the flags and prints the answer as JSON', async () => {
    const h = harness({ submit: async () => ({ task_id: 'abc', status: 'pending' }) });
    const code = await cli(
      h,
      'submit',
      'resize',
      '--params',
      '{"w":100}',
      '--queue',
      'images',
      '--priority',
      '7',
      '--task-id',
      'img-1',
      '--depends-on',
      'a, b',
      '--timeout-ms',
      '5000',
      '--delay-ms',
      '10',
      '--max-attempts',
      '3',
      '--label',
      'team=media',
      '--label',
      'env=dev',
      '--url',
      'http://exec:9000',
    );
    expect(code).toBe(0);
    const task: TaskInput = {
      function: 'resize',
      params: { w: 100 },
      queue: 'images',
      task_id: 'img-1',
      priority: 7,
      timeout_ms: 5000,
      delay_ms: 10,
      retry: { max_attempts: 3 },
      depends_on: ['a', 'b'],
      labels: { team: 'media', env: 'dev' },
    };
    expect(h.calls).toEqual([{ method: 'submit', arg: task, url: 'http://exec:9000' }]);
    expect(JSON.parse(h.out())).toEqual({ task_id: 'abc', status: 'pending' });
  });

  it('sends only the function when no flag is given, to the default URL', async () => {
    const h = harness();
    expect(await cli(h, 'submit', 'echo')).toBe(0);
    expect(h.calls).toEqual([{ method: 'submit', arg: { function: 'echo' }, url: 'http://127.0.0.1:8080' }]);
  });

  it('takes the URL from SJE_URL when --url is not given', async () => {
    const h = harness();
    const before = process.env['SJE_URL'];
    process.env['SJE_URL'] = 'http://from-env:8080';
    try {
      await cli(h, 'status', 't1');
    } finally {
      if (before === undefined) delete process.env['SJE_URL'];
      else process.env['SJE_URL'] = before;
    }
    expect(h.calls[0]?.url).toBe('http://from-env:8080');
  });

  it.each([
    [['--params', '{nope'], '--params is not valid JSON'],
    [['--params', '[1,2]'], '--params must be a JSON object'],
    [['--priority', 'high'], '--priority must be an integer'],
    [['--label', 'novalue'], '--label must be key=value'],
  ])('refuses %j before calling the executor', async (flags, message) => {
    const h = harness();
    expect(await cli(h, 'submit', 'echo', ...flags)).toBe(1);
    expect(h.calls).toEqual([]);
    expect(h.err()).toContain(message);
  });

  it('exits 1 with the error message when the executor answers with an error', async () => {
    const h = harness({
      submit: async () => {
        throw new SjeError('SJE_ERR_VALIDATION', "priority must be <= 9");
      },
    });
    expect(await cli(h, 'submit', 'echo', '--priority', '12')).toBe(1);
    expect(h.err()).toBe('sje: SJE_ERR_VALIDATION: priority must be <= 9\n');
    expect(h.out()).toBe('');
  });
});

describe('sje status / cancel / wait', () => {
  it.each([
    ['status', 'status'],
    ['cancel', 'cancel'],
    ['wait', 'waitFor'],
  ])('%s calls the client %s with the id and prints JSON', async (command, method) => {
    const h = harness({ [method]: async (id: unknown) => ({ task_id: id, status: 'succeeded' }) });
    expect(await cli(h, command, 'task-9', '--url', 'http://x:1', '--api-key', 'k1')).toBe(0);
    expect(h.calls).toMatchObject([{ method, arg: 'task-9', url: 'http://x:1', apiKey: 'k1' }]);
    expect(JSON.parse(h.out())).toEqual({ task_id: 'task-9', status: 'succeeded' });
  });

  it('passes --timeout-ms and --interval-ms to waitFor', async () => {
    const h = harness();
    expect(await cli(h, 'wait', 't', '--timeout-ms', '60000', '--interval-ms', '250')).toBe(0);
    expect(h.calls[0]?.options).toEqual({ timeoutMs: 60_000, intervalMs: 250 });
  });

  it('refuses a wait timeout that is not a positive integer', async () => {
    const h = harness();
    expect(await cli(h, 'wait', 't', '--timeout-ms', '-5')).toBe(1);
    expect(h.err()).toContain('--timeout-ms must be a positive integer');
    expect(h.calls).toEqual([]);
  });

  it('exits 1 with the message on a not-found error', async () => {
    const h = harness({
      status: async () => {
        throw Object.assign(new Error('task nope not found'), { code: 'SJE_ERR_TASK_NOT_FOUND', status: 404 });
      },
    });
    expect(await cli(h, 'status', 'nope')).toBe(1);
    expect(h.err()).toContain('SJE_ERR_TASK_NOT_FOUND: task nope not found');
  });

  it('needs a task id', async () => {
    const h = harness();
    expect(await cli(h, 'status')).toBe(1);
    expect(h.err()).toContain("missing required argument 'task_id'");
  });
});

describe('sje start', () => {
  it('starts task-manager, worker and executor for all, through tsx, with an absolute --config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sje-cli-'));
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'worker:\n  grace_ms: 45000\n');
    const h = harness();
    const rel = resolve(file);
    expect(await cli(h, 'start', 'all', '--config', rel)).toBe(0);
    const [run] = h.started;
    expect(run?.children.map((c) => c.name)).toEqual(['task-manager', 'worker', 'executor']);
    for (const child of run?.children ?? []) {
      expect(child.command).toBe(process.execPath);
      expect(child.args[0]).toBe('--import');
      expect(child.args[1]).toMatch(/^file:.*tsx.*loader\.mjs$/);
      expect(child.args[2]).toMatch(new RegExp(`packages/${child.name}/src/main\\.ts$`));
      expect(child.args.slice(3)).toEqual(['--config', rel]);
    }
    // stragglers are killed only after the longest configured grace time, plus a margin
    expect(run?.killAfterMs).toBe(45_000 + 15_000);
  });

  it('starts one service without --config when none is given', async () => {
    const h = harness();
    expect(await cli(h, 'start', 'worker')).toBe(0);
    expect(h.started[0]?.children).toHaveLength(1);
    expect(h.started[0]?.children[0]?.args).toHaveLength(3);
  });

  it('returns the exit code of the services', async () => {
    const h = harness();
    h.deps.runServices = async () => 1;
    expect(await cli(h, 'start', 'executor')).toBe(1);
  });

  it('refuses an unknown service', async () => {
    const h = harness();
    expect(await cli(h, 'start', 'scheduler')).toBe(1);
    expect(h.err()).toContain("Allowed choices are all, task-manager, worker, executor");
    expect(h.started).toEqual([]);
  });

  it('refuses to start with an invalid configuration file', async () => {
    const h = harness();
    expect(await cli(h, 'start', 'all', '--config', '/nonexistent/sje.yaml')).toBe(1);
    expect(h.err()).toContain('config file not found');
    expect(h.started).toEqual([]);
  });
});

describe('sje config', () => {
  it('prints the effective configuration as YAML with the broker password redacted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sje-cli-'));
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'amqp:\n  url: amqps://app:hunter2@mq.example.com:5671/prod\nworker:\n  concurrency: 16\nplugins:\n  - logging\n');
    const h = harness();
    expect(await cli(h, 'config', '--config', file)).toBe(0);
    expect(h.out()).not.toContain('hunter2');
    const printed = parse(h.out()) as { amqp: { url: string }; worker: { concurrency: number }; plugins: unknown[] };
    expect(printed.amqp.url).toBe('amqps://app:***@mq.example.com:5671/prod');
    expect(printed.worker.concurrency).toBe(16);
    expect(printed.plugins).toEqual([{ name: 'logging' }]);
  });

  it('prints the table of every key with --docs', async () => {
    const h = harness();
    expect(await cli(h, 'config', '--docs')).toBe(0);
    expect(h.out()).toMatch(/^\| Key \| Environment variable \|/);
    expect(h.out()).toContain('| `worker.concurrency` | `SJE_WORKER_CONCURRENCY` |');
  });

  it('exits 1 naming the bad key of an invalid file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sje-cli-'));
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'worker:\n  concurency: 3\n');
    const h = harness();
    expect(await cli(h, 'config', '--config', file)).toBe(1);
    expect(h.err()).toContain("worker.concurency");
  });
});

describe('sje --help', () => {
  it('lists every command and exits 0', async () => {
    const h = harness();
    expect(await cli(h, '--help')).toBe(0);
    for (const c of ['start', 'config', 'submit', 'status', 'cancel', 'wait']) expect(h.out()).toContain(c);
  });
});

describe('task commands over HTTP with the real client', () => {
  it('print the answer as JSON, and exit 1 with the message on an HTTP error', async () => {
    const server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/status/known') {
        res.end(JSON.stringify({ task_id: 'known', function: 'echo', status: 'queued', attempt: 1 }));
        return;
      }
      res.statusCode = 404;
      res.end(JSON.stringify({ error: { code: 'SJE_ERR_TASK_NOT_FOUND', message: 'task nope not found' } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      let out = '';
      let err = '';
      const deps: CliDeps = { ...defaultDeps(), stdout: (t) => (out += t), stderr: (t) => (err += t) };
      expect(await runCli(['node', 'sje', 'status', 'known', '--url', url], deps)).toBe(0);
      expect(JSON.parse(out)).toMatchObject({ task_id: 'known', status: 'queued' });
      expect(await runCli(['node', 'sje', 'status', 'nope', '--url', url], deps)).toBe(1);
      expect(err).toBe('sje: SJE_ERR_TASK_NOT_FOUND: task nope not found\n');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
