import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, createRuntime, ErrorCode, loadConfig, SjeError, type PluginTaskHandler, type ServiceName } from '@sje/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import execPlugin, { createExecPlugin } from './index.js';

const silent = createLogger({ service: 'worker', silent: true });
let base: string;

beforeAll(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'sje-exec-plugin-')));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

async function handlersOf(service: ServiceName, options: Record<string, unknown>): Promise<Record<string, PluginTaskHandler>> {
  const rt = await createRuntime(service, loadConfig({ env: {} }), { logger: silent, plugins: [{ plugin: createExecPlugin(), options }] });
  return rt.plugins.contributedHandlers();
}

async function setupError(options: Record<string, unknown>): Promise<SjeError> {
  try {
    await handlersOf('worker', options);
  } catch (err) {
    expect(err).toBeInstanceOf(SjeError);
    return err as SjeError;
  }
  throw new Error('expected setup to fail');
}

const valid = (): Record<string, unknown> => ({
  work_root: join(base, `w-${randomUUID().slice(0, 8)}`),
  commands: { echo: { program: '/bin/echo' } },
});

describe('exec plugin', () => {
  it('is named exec, and the default export is a plugin object', () => {
    expect(execPlugin.name).toBe('exec');
    expect(typeof execPlugin.setup).toBe('function');
  });

  it('gives a worker the exec handler, which runs tasks end to end', async () => {
    const options = valid();
    const handlers = await handlersOf('worker', options);
    expect(Object.keys(handlers)).toEqual(['exec']);
    expect(existsSync(options['work_root'] as string)).toBe(true);
    const ctx = { taskId: 't-1', attempt: 1, signal: new AbortController().signal, progress: () => undefined, log: silent };
    const result = await handlers['exec']?.({ command: 'echo', args: ['a && b'] }, ctx);
    expect(result).toMatchObject({ exit_code: 0, stdout: 'a && b\n' });
  });

  it('registers the handler under handler_name', async () => {
    const handlers = await handlersOf('worker', { ...valid(), handler_name: 'run_sim' });
    expect(Object.keys(handlers)).toEqual(['run_sim']);
  });

  it('registers no handler outside a worker, but still checks its options', async () => {
    expect(await handlersOf('executor', valid())).toEqual({});
    expect(await handlersOf('task-manager', valid())).toEqual({});
    await expect(handlersOf('executor', { commands: [] })).rejects.toMatchObject({ code: ErrorCode.PLUGIN_INVALID });
  });

  it('refuses a relative program path, naming the option', async () => {
    const err = await setupError({ commands: { sim: { program: 'bin/sim' } } });
    expect(err.code).toBe(ErrorCode.PLUGIN_INVALID);
    expect(err.message).toContain("'commands.sim.program'");
    expect(err.data).toMatchObject({ option: 'commands.sim.program' });
  });

  it('refuses commands that are not a mapping, naming the option', async () => {
    for (const commands of [['/bin/echo'], '/bin/echo', null]) {
      const err = await setupError({ commands });
      expect(err.code).toBe(ErrorCode.PLUGIN_INVALID);
      expect(err.message).toContain("'commands'");
    }
  });

  it('refuses an unknown option key, naming it', async () => {
    const err = await setupError({ ...valid(), shell: true });
    expect(err.code).toBe(ErrorCode.PLUGIN_INVALID);
    expect(err.message).toContain("'shell'");
    expect(err.data).toMatchObject({ option: 'shell' });
  });

  it('refuses a work_root that cannot be created', async () => {
    const file = join(base, 'a-file');
    await writeFile(file, 'not a directory');
    const err = await setupError({ ...valid(), work_root: join(file, 'work') });
    expect(err.code).toBe(ErrorCode.PLUGIN_INVALID);
    expect(err.message).toContain("'work_root'");
  });
});
