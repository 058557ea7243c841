import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeConfig, ErrorCode } from '@sje/core';
import { describe, expect, it } from 'vitest';
import { renderConfigTable, renderConfigurationDoc } from './config-docs.js';

const docsDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docs');
const read = (name: string): string => readFileSync(join(docsDir, name), 'utf8');

describe('docs/configuration.md', () => {
  it('is what `pnpm docs:config` generates from the schema (run it after changing the schema)', () => {
    expect(read('configuration.md')).toBe(renderConfigurationDoc());
  });

  it('has a row for every key with its environment variable', () => {
    const table = renderConfigTable();
    for (const { key, env } of describeConfig()) expect(table).toContain(`| \`${key}\` | \`${env}\` |`);
  });
});

describe('docs/errors.md', () => {
  it('has a catalog row for every error code', () => {
    const doc = read('errors.md');
    const missing = Object.values(ErrorCode).filter((code) => !doc.includes(`| \`${code}\` |`));
    expect(missing).toEqual([]);
  });
});
