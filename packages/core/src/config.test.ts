import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeConfig, loadConfig, redactConfig } from './config.js';
import { ConfigError, ErrorCode } from './errors.js';

const dir = mkdtempSync(join(tmpdir(), 'sje-config-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function yamlFile(text: string): string {
  const file = join(dir, `c${n++}.yaml`);
  writeFileSync(file, text);
  return file;
}

function loadError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe(ErrorCode.CONFIG_INVALID);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('loads working defaults with zero config', () => {
    const c = loadConfig({ env: {} });
    expect(c.amqp.url).toBe('amqp://guest:guest@127.0.0.1:5672');
    expect(c.executor.port).toBe(8080);
    expect(c.topology).toEqual({ prefix: 'sje', queue_type: 'quorum', delivery_limit: 20 });
    expect(c.worker.queues).toEqual(['default']);
    expect(c.worker.handlers).toEqual(['@sje/examples']);
    expect(c.plugins).toEqual([]);
    expect(c.log.level).toBe('info');
  });

  it('ignores SJE_* variables of the process when an env is given', () => {
    process.env['SJE_EXECUTOR_PORT'] = '1234';
    try {
      expect(loadConfig({ env: {} }).executor.port).toBe(8080);
    } finally {
      delete process.env['SJE_EXECUTOR_PORT'];
    }
  });

  it('applies a YAML file over the defaults, keeping the other keys', () => {
    const file = yamlFile(
      ['executor:', '  port: 9000', 'worker:', '  queues: [gpu, cpu]', '  concurrency: 8', 'plugins:', '  - logging', '  - name: retry', '    options: { max: 3 }', ''].join('\n'),
    );
    const c = loadConfig({ file, env: {} });
    expect(c.executor.port).toBe(9000);
    expect(c.executor.host).toBe('0.0.0.0');
    expect(c.worker.queues).toEqual(['gpu', 'cpu']);
    expect(c.worker.concurrency).toBe(8);
    expect(c.plugins).toEqual([{ name: 'logging' }, { name: 'retry', options: { max: 3 } }]);
  });

  it('accepts an empty YAML file', () => {
    expect(loadConfig({ file: yamlFile(''), env: {} }).executor.port).toBe(8080);
  });

  it('applies SJE_* environment variables over the file, including lists', () => {
    const file = yamlFile('executor:\n  port: 9000\nworker:\n  queues: [a]\n');
    const c = loadConfig({
      file,
      env: {
        SJE_EXECUTOR_PORT: '9100',
        SJE_AMQP_URL: 'amqp://u:p@rabbit:5672',
        SJE_WORKER_QUEUES: 'gpu, cpu ,io',
        SJE_WORKER_HANDLERS: '["./a.js","@acme/tasks"]',
        SJE_TOPOLOGY_QUEUE_TYPE: 'classic',
        SJE_LOG_LEVEL: 'debug',
        SJE_PLUGINS: '[{"name":"metrics","options":{"port":1}}]',
      },
    });
    expect(c.executor.port).toBe(9100);
    expect(c.amqp.url).toBe('amqp://u:p@rabbit:5672');
    expect(c.worker.queues).toEqual(['gpu', 'cpu', 'io']);
    expect(c.worker.handlers).toEqual(['./a.js', '@acme/tasks']);
    expect(c.topology.queue_type).toBe('classic');
    expect(c.log.level).toBe('debug');
    expect(c.plugins).toEqual([{ name: 'metrics', options: { port: 1 } }]);
  });

  it('reads process.env by default', () => {
    process.env['SJE_WORKER_CONCURRENCY'] = '7';
    try {
      expect(loadConfig().worker.concurrency).toBe(7);
    } finally {
      delete process.env['SJE_WORKER_CONCURRENCY'];
    }
  });

  it('applies programmatic overrides last', () => {
    const c = loadConfig({ env: { SJE_EXECUTOR_PORT: '9100' }, overrides: { executor: { port: 0 }, topology: { prefix: 't-x' } } });
    expect(c.executor.port).toBe(0);
    expect(c.topology.prefix).toBe('t-x');
    expect(c.executor.host).toBe('0.0.0.0');
  });

  it('refuses an unknown key in the YAML, naming it', () => {
    const err = loadError(() => loadConfig({ file: yamlFile('executor:\n  prot: 9000\n'), env: {} }));
    expect(err.message).toContain("'executor.prot'");
    expect(err.data).toEqual({ key: 'executor.prot' });
    expect(loadError(() => loadConfig({ file: yamlFile('colour: red\n'), env: {} })).message).toContain("'colour'");
  });

  it('refuses a scalar where a section belongs, naming it', () => {
    expect(loadError(() => loadConfig({ file: yamlFile('executor: 8080\n'), env: {} })).message).toContain("'executor'");
  });

  it('refuses a bad value in the YAML, naming the key', () => {
    expect(loadError(() => loadConfig({ file: yamlFile('executor:\n  port: 70000\n'), env: {} })).message).toContain('executor.port');
    expect(loadError(() => loadConfig({ file: yamlFile('log:\n  level: loud\n'), env: {} })).message).toContain('log.level');
    expect(loadError(() => loadConfig({ file: yamlFile('worker:\n  queues: []\n  concurrency: -1\n'), env: {} })).message).toContain('worker.concurrency');
    expect(loadError(() => loadConfig({ file: yamlFile('worker:\n  queues: [""]\n'), env: {} })).message).toContain('worker.queues');
    expect(loadError(() => loadConfig({ file: yamlFile('plugins:\n  - options: {}\n'), env: {} })).message).toContain('plugins');
  });

  it('refuses a bad value in the environment, naming the key', () => {
    expect(loadError(() => loadConfig({ env: { SJE_EXECUTOR_PORT: 'eighty' } })).message).toContain('executor.port');
    expect(loadError(() => loadConfig({ env: { SJE_TOPOLOGY_QUEUE_TYPE: 'stream' } })).message).toContain('topology.queue_type');
    expect(loadError(() => loadConfig({ env: { SJE_WORKER_QUEUES: '[1,2]' } })).message).toContain('worker.queues');
  });

  it('reports a missing file and broken YAML', () => {
    expect(loadError(() => loadConfig({ file: join(dir, 'nope.yaml'), env: {} })).message).toContain('not found');
    expect(loadError(() => loadConfig({ file: yamlFile('executor: [1,\n'), env: {} })).message).toContain('not valid YAML');
    expect(loadError(() => loadConfig({ file: yamlFile('- a\n- b\n'), env: {} })).message).toContain('mapping');
  });
});

describe('redactConfig', () => {
  it('hides the broker password and leaves the original untouched', () => {
    const c = loadConfig({ env: { SJE_AMQP_URL: 'amqps://admin:s3cret@rabbit.example:5671/vh' } });
    const r = redactConfig(c);
    expect(r.amqp.url).toBe('amqps://admin:***@rabbit.example:5671/vh');
    expect(JSON.stringify(r)).not.toContain('s3cret');
    expect(c.amqp.url).toContain('s3cret');
    expect(r.executor).toEqual(c.executor);
  });
});

describe('describeConfig', () => {
  it('lists every key with its SJE_* variable and default', () => {
    const keys = describeConfig();
    const port = keys.find((k) => k.key === 'executor.port');
    expect(port).toMatchObject({ env: 'SJE_EXECUTOR_PORT', default: 8080 });
    expect(keys.find((k) => k.key === 'task_manager.data_dir')?.env).toBe('SJE_TASK_MANAGER_DATA_DIR');
    for (const k of keys) expect(k.doc.length).toBeGreaterThan(0);
  });
});
