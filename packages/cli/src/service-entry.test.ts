import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SERVICES, serviceCommand, serviceEntry, tsxLoader } from './service-entry.js';

const packagesDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('serviceEntry', () => {
  it.each(SERVICES)('finds the main.ts of %s in the workspace', (service) => {
    const entry = serviceEntry(service);
    expect(entry).toBe(join(packagesDir, service, 'src', 'main.ts'));
    expect(existsSync(entry)).toBe(true);
  });
});

describe('tsxLoader', () => {
  it("points at tsx's ESM loader file", () => {
    const url = tsxLoader();
    expect(url.startsWith('file://')).toBe(true);
    expect(existsSync(fileURLToPath(url))).toBe(true);
  });
});

describe('serviceCommand', () => {
  it('makes a relative config path absolute', () => {
    const cmd = serviceCommand('worker', 'config/x.yaml');
    expect(cmd.args.at(-1)).toBe(join(process.cwd(), 'config/x.yaml'));
  });
});
