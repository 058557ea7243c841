import { ConfigError, createLogger, ErrorCode, loadConfig, SjeError } from '@sje/core';
import { describe, expect, it } from 'vitest';
import { createWorker } from './worker.js';

const logger = createLogger({ service: 'worker', silent: true });
const config = loadConfig({ env: {} });

describe('createWorker', () => {
  it('builds without connecting, with defaults from the configuration', async () => {
    const worker = await createWorker({ handlers: { echo: (p: unknown) => p }, config, logger, opsPort: false });
    expect(worker.id).toMatch(/^[A-Za-z0-9_.:-]+-\d+-[0-9a-f]{4}$/);
    expect(worker.running).toBe(0);
    expect(worker.opsPort).toBeUndefined();
    await worker.close();
    await worker.close();
  });

  it('takes the id from the options, then from the configuration', async () => {
    const a = await createWorker({ handlers: {}, config, logger, workerId: 'node-7' });
    expect(a.id).toBe('node-7');
    const b = await createWorker({ handlers: {}, config: loadConfig({ env: {}, overrides: { worker: { id: 'from-config' } } }), logger });
    expect(b.id).toBe('from-config');
    await Promise.all([a.close(), b.close()]);
  });

  it('refuses a handler that is not a function, naming it', async () => {
    const err = await createWorker({ handlers: { echo: (p: unknown) => p, nope: 'x' as never }, config, logger }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SjeError);
    expect((err as SjeError).code).toBe(ErrorCode.HANDLER_INVALID);
    expect((err as Error).message).toContain("'nope'");
  });

  it('refuses a bad concurrency, queue name or worker id', async () => {
    await expect(createWorker({ handlers: {}, config, logger, concurrency: 0 })).rejects.toBeInstanceOf(ConfigError);
    await expect(createWorker({ handlers: {}, config, logger, queues: ['bad queue'] })).rejects.toBeInstanceOf(ConfigError);
    await expect(createWorker({ handlers: {}, config, logger, queues: [] })).rejects.toBeInstanceOf(ConfigError);
    await expect(createWorker({ handlers: {}, config, logger, workerId: 'a*b' })).rejects.toBeInstanceOf(ConfigError);
  });

  it('cannot start again once closed', async () => {
    const worker = await createWorker({ handlers: {}, config, logger, opsPort: false });
    await worker.close();
    const err = await worker.start().catch((e: unknown) => e);
    expect((err as SjeError).code).toBe(ErrorCode.SHUTTING_DOWN);
  });

  it('refuses a plugin handler whose name the worker already has', async () => {
    const plugin = { name: 'extra', handlers: { echo: () => 'from plugin' } };
    const err = await createWorker({ handlers: { echo: (p: unknown) => p }, config, logger, plugins: [{ plugin }] }).catch((e: unknown) => e);
    expect((err as SjeError).code).toBe(ErrorCode.HANDLER_INVALID);
    expect((err as Error).message).toContain("'echo'");
  });
});
