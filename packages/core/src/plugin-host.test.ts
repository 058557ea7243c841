import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { ErrorCode, SjeError } from './errors.js';
import { createLogger } from './logger.js';
import type { DispatchMessage, TaskView } from './messages.js';
import { loadPlugins, PluginHost, validatePlugin, type PluginContext, type SjePlugin } from './plugin-host.js';

function makeHost(): { host: PluginHost; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = createLogger({ service: 'worker', format: 'json', level: 'debug', stream });
  const host = new PluginHost({ service: 'worker', logger, metrics: new Registry(), config: loadConfig({ env: {} }) });
  const lines = (): Record<string, unknown>[] =>
    chunks
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { host, lines };
}

async function registrationError(p: Promise<unknown>): Promise<SjeError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SjeError);
  expect((err as SjeError).code).toBe(ErrorCode.PLUGIN_INVALID);
  return err as SjeError;
}

const task = { type: 'dispatch', task_id: 't1', lease_id: 'l', function: 'echo', params: {}, attempt: 1, queue: 'default', priority: 0, labels: {} } satisfies DispatchMessage;

describe('plugin registration', () => {
  it('refuses an unknown hook name, naming the plugin and the hook', async () => {
    const { host } = makeHost();
    const err = await registrationError(host.register({ name: 'p', hooks: { onTaskStart: async () => undefined } }));
    expect(err.message).toContain("plugin 'p'");
    expect(err.message).toContain("unknown hook 'onTaskStart'");
    expect(host.names).toEqual([]);
  });

  it('refuses a hook or interceptor that is not a function', async () => {
    const { host } = makeHost();
    expect((await registrationError(host.register({ name: 'p', hooks: { onReady: 'yes' } }))).message).toContain("hook 'onReady' must be a function");
    expect((await registrationError(host.register({ name: 'q', interceptors: { execute: 1 } }))).message).toContain("interceptor 'execute' must be a function");
    expect((await registrationError(host.register({ name: 'r', interceptors: { run: async () => undefined } }))).message).toContain("unknown interceptor 'run'");
  });

  it('refuses malformed plugins', async () => {
    const { host } = makeHost();
    await registrationError(host.register(null));
    await registrationError(host.register({ hooks: {} }));
    await registrationError(host.register({ name: 'p', setup: 'x' }));
    await registrationError(host.register({ name: 'p', dependencies: 'logging' }));
    expect((await registrationError(host.register({ name: 'p', hook: {} }))).message).toContain("unknown property 'hook'");
    expect(() => validatePlugin({ name: 'ok', hooks: { onReady: () => undefined } })).not.toThrow();
  });

  it('refuses a plugin whose dependency is not registered before it', async () => {
    const { host } = makeHost();
    const err = await registrationError(host.register({ name: 'b', dependencies: ['a'] }));
    expect(err.message).toContain("needs plugin 'a'");
    await host.register({ name: 'a' });
    await host.register({ name: 'b', dependencies: ['a'] });
    expect(host.names).toEqual(['a', 'b']);
  });

  it('refuses the same name twice', async () => {
    const { host } = makeHost();
    await host.register({ name: 'a' });
    expect((await registrationError(host.register({ name: 'a' }))).message).toContain('registered twice');
  });

  it('runs setup with its namespaced options and a tagged logger', async () => {
    const { host } = makeHost();
    let ctx: PluginContext | undefined;
    await host.register({ name: 'a', setup: (c: PluginContext) => void (ctx = c) }, { level: 3 });
    expect(ctx?.options).toEqual({ level: 3 });
    expect(ctx?.service).toBe('worker');
    expect(ctx?.config.executor.port).toBe(8080);
  });
});

describe('hooks', () => {
  it('run in registration order', async () => {
    const { host } = makeHost();
    const calls: string[] = [];
    for (const name of ['a', 'b', 'c']) {
      await host.register({ name, hooks: { onReady: ({ service }) => void calls.push(`${name}:${service}`) } } satisfies SjePlugin);
    }
    expect(host.has('onReady')).toBe(true);
    expect(host.has('afterExecute')).toBe(false);
    await host.run('onReady', { service: 'worker' });
    expect(calls).toEqual(['a:worker', 'b:worker', 'c:worker']);
  });

  it('a before* hook error vetoes the action and stops later hooks', async () => {
    const { host } = makeHost();
    const calls: string[] = [];
    await host.register({ name: 'a', hooks: { beforeExecute: () => void calls.push('a') } });
    await host.register({
      name: 'b',
      hooks: {
        beforeExecute: () => {
          throw new SjeError(ErrorCode.VALIDATION, 'refused by b');
        },
      },
    });
    await host.register({ name: 'c', hooks: { beforeExecute: () => void calls.push('c') } });
    await expect(host.run('beforeExecute', { task, worker_id: 'w' })).rejects.toThrow('refused by b');
    expect(calls).toEqual(['a']);
  });

  it('on* and after* hook errors are logged, never thrown, and later hooks still run', async () => {
    const { host, lines } = makeHost();
    const calls: string[] = [];
    await host.register({
      name: 'broken',
      hooks: {
        onReady: async () => {
          throw new Error('on failed');
        },
        afterExecute: () => {
          throw new Error('after failed');
        },
      },
    });
    await host.register({ name: 'fine', hooks: { onReady: () => void calls.push('onReady'), afterExecute: () => void calls.push('afterExecute') } });
    await expect(host.run('onReady', { service: 'worker' })).resolves.toBeUndefined();
    await expect(host.run('afterExecute', { task, worker_id: 'w', outcome: 'succeeded', run_ms: 1 })).resolves.toBeUndefined();
    expect(calls).toEqual(['onReady', 'afterExecute']);
    const errors = lines().filter((l) => l['level'] === 'error');
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatchObject({ plugin: 'broken', hook: 'onReady', err: 'on failed' });
    expect(errors[1]).toMatchObject({ plugin: 'broken', hook: 'afterExecute', err: 'after failed' });
  });

  it('running a hook nobody registered does nothing', async () => {
    const { host } = makeHost();
    await expect(host.run('onWorkerOnline', { worker: { worker_id: 'w', host: 'h', queues: [], functions: [], concurrency: 1 } })).resolves.toBeUndefined();
  });
});

describe('interceptors', () => {
  const view = { task_id: 't1' } as TaskView;

  it('compose with the first registered outermost', async () => {
    const { host } = makeHost();
    const trace: string[] = [];
    for (const name of ['outer', 'middle', 'inner']) {
      await host.register({
        name,
        interceptors: {
          execute: async (input, next) => {
            trace.push(`${name}>`);
            const out = await next(input);
            trace.push(`<${name}`);
            return `${name}(${String(out)})`;
          },
        },
      } satisfies SjePlugin);
    }
    const result = await host.intercept('execute', { task, worker_id: 'w' }, async () => {
      trace.push('core');
      return 'r';
    });
    expect(result).toBe('outer(middle(inner(r)))');
    expect(trace).toEqual(['outer>', 'middle>', 'inner>', 'core', '<inner', '<middle', '<outer']);
  });

  it('may answer without calling next, and may change the input', async () => {
    const { host } = makeHost();
    await host.register({ name: 'never-retry', interceptors: { retryDecision: async () => ({ retry: false, reason: 'policy' }) } });
    let coreCalled = false;
    const decision = await host.intercept('retryDecision', { task: view, error: undefined, outcome: 'failed' }, async () => {
      coreCalled = true;
      return { retry: true };
    });
    expect(decision).toEqual({ retry: false, reason: 'policy' });
    expect(coreCalled).toBe(false);

    const { host: h2 } = makeHost();
    await h2.register({ name: 'rename', interceptors: { execute: (input, next) => next({ ...input, worker_id: 'changed' }) } } satisfies SjePlugin);
    expect(await h2.intercept('execute', { task, worker_id: 'w' }, async (i) => i.worker_id)).toBe('changed');
  });

  it('calls the core directly when none is registered', async () => {
    const { host } = makeHost();
    expect(await host.intercept('execute', { task, worker_id: 'w' }, async () => 42)).toBe(42);
  });
});

describe('close', () => {
  it('runs onClose hooks and close() in reverse registration order, once, logging failures', async () => {
    const { host, lines } = makeHost();
    const calls: string[] = [];
    for (const name of ['a', 'b', 'c']) {
      await host.register({
        name,
        hooks: { onClose: () => void calls.push(`onClose:${name}`) },
        close: () => {
          calls.push(`close:${name}`);
          if (name === 'b') throw new Error('close b failed');
        },
      } satisfies SjePlugin);
    }
    await host.close();
    await host.close();
    expect(calls).toEqual(['onClose:c', 'onClose:b', 'onClose:a', 'close:c', 'close:b', 'close:a']);
    expect(lines().some((l) => l['level'] === 'error' && l['plugin'] === 'b')).toBe(true);
  });
});

describe('loadPlugins', () => {
  it('loads bundled short names, package names and default or named exports, in order', async () => {
    const { host } = makeHost();
    const imported: string[] = [];
    const importer = async (spec: string): Promise<Record<string, unknown>> => {
      imported.push(spec);
      if (spec === '@acme/named') return { plugin: { name: 'named' } };
      return { default: { name: spec } };
    };
    await loadPlugins(host, [{ name: 'retry', options: { a: 1 } }, { name: '@acme/named' }, { name: 'logging' }], importer);
    expect(imported).toEqual(['@sje/plugin-retry', '@acme/named', '@sje/plugin-logging']);
    expect(host.names).toEqual(['@sje/plugin-retry', 'named', '@sje/plugin-logging']);
  });

  it('resolves paths against the working directory as file URLs', async () => {
    const { host } = makeHost();
    let seen = '';
    await loadPlugins(host, [{ name: './my-plugin.js' }], async (spec) => {
      seen = spec;
      return { default: { name: 'mine' } };
    });
    expect(seen).toBe(new URL('my-plugin.js', `file://${process.cwd()}/`).href);
  });

  it('reports a module that cannot be loaded or has no plugin export', async () => {
    const { host } = makeHost();
    const failing = async (): Promise<Record<string, unknown>> => {
      throw new Error('Cannot find module');
    };
    expect((await registrationError(loadPlugins(host, [{ name: 'nope' }], failing))).message).toContain("cannot load plugin 'nope'");
    expect((await registrationError(loadPlugins(host, [{ name: 'empty' }], async () => ({ other: 1 })))).message).toContain('no default export');
  });
});
