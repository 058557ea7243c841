import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@sje/core';
import { afterAll, describe, expect, it } from 'vitest';
import { parseExecOptions } from './exec-options.js';
import { parseExecParams } from './exec-params.js';

const docPath = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docs', 'exec-plugin.md');
const doc = readFileSync(docPath, 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'sje-exec-doc-'));

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The YAML blocks of docs/exec-plugin.md that configure plugins. */
const yamlBlocks = [...doc.matchAll(/```yaml\n([\s\S]*?)\n```/g)].map((m) => m[1] ?? '').filter((b) => b.includes('plugins:'));

describe('docs/exec-plugin.md', () => {
  it('has configuration examples', () => {
    expect(yamlBlocks.length).toBeGreaterThanOrEqual(2);
  });

  it.each(yamlBlocks.map((b, i) => [i, b] as const))('YAML example %i loads and passes the option checks', (i, block) => {
    const file = join(dir, `example-${i}.yaml`);
    writeFileSync(file, block);
    const config = loadConfig({ file, env: {} });
    const entry = config.plugins.find((p) => p.name === 'exec');
    expect(entry).toBeDefined();
    const options = parseExecOptions(entry?.options ?? {}, dir);
    expect(options.commands.size).toBeGreaterThan(0);
  });

  it('documents params the handler accepts', () => {
    const match = /## Task params\s*```json\n([\s\S]*?)\n```/.exec(doc);
    const params = JSON.parse(match?.[1] ?? 'null') as unknown;
    const options = parseExecOptions({ commands: { simulate: { program: '/usr/bin/python3' } }, env_allow_params: ['SIM_SEED'] }, dir);
    expect(parseExecParams(params, options)).toMatchObject({ command: 'simulate', cwd: 'run1', env: { SIM_SEED: '42' } });
  });
});
