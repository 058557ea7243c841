/**
 * The workspace's packages and their source files, as the scripts that walk
 * them (`check-deps.mjs`, `build.ts`) see them.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const DEP_FIELDS = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'];
const SOURCE_EXT = /\.(m|c)?tsx?$/;

/**
 * Every package under `packages/` and `plugins/` of `root` that has a
 * `package.json`, in name order per folder: its name, directory, directory
 * relative to `root`, and every package it depends on (any dependency field).
 * @param {string} root
 * @returns {{ name: string; dir: string; rel: string; deps: Set<string> }[]}
 */
export function listPackages(root) {
  const out = [];
  for (const group of ['packages', 'plugins']) {
    const base = join(root, group);
    if (!existsSync(base)) continue;
    for (const entry of readdirSync(base).sort()) {
      const dir = join(base, entry);
      const manifest = join(dir, 'package.json');
      if (!statSync(dir).isDirectory() || !existsSync(manifest)) continue;
      const json = JSON.parse(readFileSync(manifest, 'utf8'));
      const deps = new Set();
      for (const field of DEP_FIELDS) for (const dep of Object.keys(json[field] ?? {})) deps.add(dep);
      out.push({ name: json.name, dir, rel: relative(root, dir), deps });
    }
  }
  return out;
}

/**
 * The TypeScript sources under `dir` (`.ts`, `.tsx`, `.mts`, `.cts`; no
 * declaration files, nothing under `node_modules`), sorted; none when `dir`
 * does not exist.
 * @param {string} dir
 * @returns {string[]}
 */
export function listSources(dir) {
  const out = [];
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.name === 'node_modules') continue;
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (SOURCE_EXT.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out.sort();
}
