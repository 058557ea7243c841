import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COMPILED_CONDITION, RUNS_COMPILED, SERVICES, serviceCommand, serviceEntry, tsxLoader } from './service-entry.js';

const packagesDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('serviceEntry', () => {
  it.each(SERVICES)('finds the main.ts of %s in the workspace', (service) => {
    const entry = serviceEntry(service);
    expect(entry).toBe(join(packagesDir, service, 'src', 'main.ts'));
    expect(existsSync(entry)).toBe(true);
  });

  it.each(SERVICES)("finds the build's main.js of %s in its dist folder", (service) => {
    expect(serviceEntry(service, true)).toBe(join(packagesDir, service, 'dist', 'main.js'));
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

  it('runs the sources through tsx, as this process does', () => {
    expect(RUNS_COMPILED).toBe(false);
    expect(serviceCommand('executor').args).toEqual(['--import', tsxLoader(), join(packagesDir, 'executor', 'src', 'main.ts')]);
  });

  it('runs the build with plain Node under the sje-compiled condition', () => {
    const cmd = serviceCommand('task-manager', '/srv/sje.yaml', true);
    expect(cmd.command).toBe(process.execPath);
    expect(cmd.args).toEqual([`--conditions=${COMPILED_CONDITION}`, join(packagesDir, 'task-manager', 'dist', 'main.js'), '--config', '/srv/sje.yaml']);
  });
});
