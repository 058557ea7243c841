/**
 * `pnpm build`: compiles every workspace package and plugin to JavaScript,
 * for running the services without tsx. Each `.ts` file under
 * `<package>/src` (tests left out) becomes `<package>/dist/<same path>.js`
 * with a source map, transpiled one file at a time by esbuild; types are
 * checked by `tsc` (`pnpm typecheck`), not here. Every package's `exports`
 * name its build under the `sje-compiled` condition, so
 * `node --conditions=sje-compiled packages/task-manager/dist/main.js` runs
 * from JavaScript alone, `@sje/*` imports and bundled plugins included.
 *
 * Usage: `pnpm build` (`tsx scripts/build.ts`), or import {@link buildAll}.
 */
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { listPackages, listSources } from './workspace.mjs';

/** The repository root. */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The workspace's package and plugin directories that have a `src` folder. */
export function workspacePackages(root: string = ROOT): string[] {
  return listPackages(root)
    .map((pkg) => pkg.dir)
    .filter((dir) => existsSync(join(dir, 'src')));
}

/** The TypeScript sources under `dir` that the build compiles: tests left out. */
function sourcesOf(dir: string): string[] {
  return listSources(dir).filter((path) => path.endsWith('.ts') && !path.endsWith('.test.ts'));
}

/** Compiles every package to its `dist` folder, replacing what was there. Resolves with the number of files written. */
export async function buildAll(root: string = ROOT): Promise<number> {
  let files = 0;
  for (const pkg of workspacePackages(root)) {
    const src = join(pkg, 'src');
    const out = join(pkg, 'dist');
    rmSync(out, { recursive: true, force: true });
    const entryPoints = sourcesOf(src);
    await build({ entryPoints, outdir: out, outbase: src, format: 'esm', platform: 'node', target: 'node20', sourcemap: true, logLevel: 'warning' });
    files += entryPoints.length;
  }
  return files;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = performance.now();
  const files = await buildAll();
  process.stdout.write(`built ${files} files into packages/*/dist and plugins/*/dist in ${Math.round(performance.now() - started)} ms\n`);
}
