import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createLogger, createRuntime, describeConfig, loadConfig, type SjeConfig } from '@sje/core';
import { DEFAULT_BUCKETS } from '@sje/plugin-metrics';
import { DEFAULT_LOGGING_OPTIONS } from '@sje/plugin-logging';
import { DEFAULT_RETRY_OPTIONS } from '@sje/plugin-retry';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

const configDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'config');
const defaultFile = join(configDir, 'default.yaml');
const productionFile = join(configDir, 'example-production.yaml');

/** The configuration without the parts `default.yaml` fills with examples: plugins and workflow templates. */
function withoutExamples(config: SjeConfig): Omit<SjeConfig, 'plugins' | 'workflows'> {
  const { plugins: _plugins, workflows: _workflows, ...rest } = config;
  return rest;
}

/** Registers the configured plugins in a real plugin host, as a service does. */
async function registerPlugins(config: SjeConfig): Promise<string[]> {
  const rt = await createRuntime('task-manager', config, {
    logger: createLogger({ service: 'task-manager', silent: true }),
    importer: (spec) => import(spec) as Promise<Record<string, unknown>>,
  });
  const names = rt.plugins.names;
  await rt.plugins.close();
  return names;
}

describe('config/default.yaml', () => {
  it('loads and equals the schema defaults, apart from plugins and workflow templates', () => {
    const fromFile = loadConfig({ file: defaultFile, env: {} });
    expect(withoutExamples(fromFile)).toEqual(withoutExamples(loadConfig({ env: {} })));
  });

  it('spells out every key of the schema', () => {
    const doc = parse(readFileSync(defaultFile, 'utf8')) as Record<string, unknown>;
    for (const { key } of describeConfig()) {
      let node: unknown = doc;
      for (const part of key.split('.')) node = (node as Record<string, unknown> | undefined)?.[part];
      expect(node, key).not.toBeUndefined();
    }
  });

  it('lists logging, retry and metrics with every option at its default', async () => {
    const config = loadConfig({ file: defaultFile, env: {} });
    expect(config.plugins).toEqual([
      { name: 'logging', options: { ...DEFAULT_LOGGING_OPTIONS } },
      { name: 'retry', options: { ...DEFAULT_RETRY_OPTIONS } },
      { name: 'metrics', options: { buckets: [...DEFAULT_BUCKETS] } },
    ]);
    expect(await registerPlugins(config)).toEqual(['logging', 'retry', 'metrics']);
  });
});

describe('config/example-production.yaml', () => {
  it('loads, takes the broker URL from SJE_AMQP_URL, and its plugins register', async () => {
    const url = 'amqps://sje:s3cret@mq.internal:5671/sje';
    const config = loadConfig({ file: productionFile, env: { SJE_AMQP_URL: url } });
    expect(config.amqp.url).toBe(url);
    expect(config.task_manager.data_dir).toBe('/var/lib/sje');
    expect(config.worker.concurrency).toBeGreaterThan(loadConfig({ env: {} }).worker.concurrency);
    expect(await registerPlugins(config)).toEqual(['logging', 'retry', 'metrics']);
  });
});
