import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { ErrorCode, SjeError } from '@sje/core';
import { describe, expect, it } from 'vitest';
import { loadHandlerModules } from './handler-modules.js';

const echo = (p: unknown): unknown => p;
const add = (p: { a: number; b: number }): number => p.a + p.b;

function importerOf(modules: Record<string, Record<string, unknown>>): (s: string) => Promise<Record<string, unknown>> {
  return async (s) => {
    const mod = modules[s];
    if (!mod) throw new Error(`Cannot find module '${s}'`);
    return mod;
  };
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  return err instanceof SjeError ? err.code : undefined;
}

describe('loadHandlerModules', () => {
  it('takes a module\'s handlers record first, else its default object, else its exported functions', async () => {
    const handlers = await loadHandlerModules(
      ['with-record', 'with-default', 'with-functions'],
      importerOf({
        'with-record': { handlers: { echo }, ignored: () => 0 },
        'with-default': { default: { add } },
        'with-functions': { mul: (p: { a: number }) => p.a * 2, VERSION: '1.0' },
      }),
    );
    expect(Object.keys(handlers).sort()).toEqual(['add', 'echo', 'mul']);
    expect(handlers['echo']).toBe(echo);
  });

  it('resolves paths against the working directory and packages through the importer', async () => {
    const asked: string[] = [];
    await loadHandlerModules(['./handlers/mine.ts', 'some-package'], async (s) => {
      asked.push(s);
      return { handlers: { [s.includes('mine') ? 'mine' : 'pkg']: echo } };
    });
    expect(asked).toEqual([pathToFileURL(resolve('./handlers/mine.ts')).href, 'some-package']);
  });

  it('loads the bundled examples', async () => {
    const handlers = await loadHandlerModules(['@sje/examples'], (s) => import(s) as Promise<Record<string, unknown>>);
    expect(Object.keys(handlers).sort()).toEqual(['calculate_data', 'echo', 'fail', 'fib', 'sleep', 'sum']);
  });

  it('refuses a handler name offered twice, naming both modules', async () => {
    const p = loadHandlerModules(['a', 'b'], importerOf({ a: { handlers: { echo } }, b: { handlers: { echo } } }));
    await expect(p).rejects.toThrow(/'echo' is exported by both 'a' and 'b'/);
    expect(await codeOf(loadHandlerModules(['a', 'b'], importerOf({ a: { handlers: { echo } }, b: { handlers: { echo } } })))).toBe(ErrorCode.HANDLER_INVALID);
  });

  it('refuses a non-function handler, naming it', async () => {
    const p = loadHandlerModules(['m'], importerOf({ m: { handlers: { echo, broken: 42 } } }));
    await expect(p).rejects.toThrow(/handler 'broken' in handler module 'm' must be a function/);
  });

  it('refuses a module that cannot be loaded or offers nothing', async () => {
    expect(await codeOf(loadHandlerModules(['nowhere'], importerOf({})))).toBe(ErrorCode.HANDLER_INVALID);
    await expect(loadHandlerModules(['nowhere'], importerOf({}))).rejects.toThrow(/cannot load handler module 'nowhere'/);
    await expect(loadHandlerModules(['empty'], importerOf({ empty: { VERSION: '1' } }))).rejects.toThrow(/exports no handlers/);
  });
});
