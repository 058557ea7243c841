#!/usr/bin/env node
/**
 * Keeps the dependency direction of the workspace (run by `pnpm test` as `pretest`).
 *
 * 1. package.json: `@sje/core` depends on no `@sje/*` package; services, client,
 *    examples, plugins and the task store (`@sje/store`) depend on `@sje/core`
 *    only — services may also depend on the bundled plugins (`@sje/plugin-*`) to
 *    load them by name, the task-manager and the executor on `@sje/store` (the
 *    one writes it, the other may read it), and `@sje/worker` on `@sje/examples`;
 *    `@sje/cli` may depend on anything.
 * 2. Sources (`src/**\/*.ts`): an import of a workspace package by name must be
 *    declared in the package's package.json and allowed by rule 1; a relative
 *    import must stay inside its package (test files may also use the shared
 *    test code under the repository's `test/`).
 * 3. No import cycle between the files of one package (type-only imports,
 *    which vanish at run time, are not counted).
 *
 * Prints `dependency check passed (N packages, M files)` or the problems, exit 1.
 * Usage: `node scripts/check-deps.mjs [repo-root]`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { listPackages, listSources } from './workspace.mjs';

// The repository root, or the directory given as the first argument.
const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
const SCOPE = '@sje/';
const SERVICES = new Set(['@sje/executor', '@sje/task-manager', '@sje/worker']);
/** Shared test code (helpers, fixtures, certificates) that test files of any package may import. */
const sharedTestDir = join(root, 'test');

/** Which internal packages `name` may depend on, and the rule in words. */
function ruleFor(name) {
  if (name === '@sje/cli') return { allows: () => true, text: 'anything' };
  if (name === '@sje/core') return { allows: () => false, text: 'no @sje/* package' };
  if (SERVICES.has(name)) {
    const extra = name === '@sje/worker' ? '@sje/examples' : '@sje/store';
    return {
      allows: (dep) => dep === '@sje/core' || dep.startsWith('@sje/plugin-') || dep === extra,
      text: `only @sje/core, the bundled @sje/plugin-* packages and ${extra}`,
    };
  }
  return { allows: (dep) => dep === '@sje/core', text: 'only @sje/core' };
}

/** Every module specifier of a file, with whether it disappears at run time. */
function importsOf(file) {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const found = [];
  const visit = (node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ spec: node.moduleSpecifier.text, typeOnly: node.importClause?.isTypeOnly === true, line: lineOf(sf, node) });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ spec: node.moduleSpecifier.text, typeOnly: node.isTypeOnly, line: lineOf(sf, node) });
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      found.push({ spec: node.moduleReference.expression.text, typeOnly: node.isTypeOnly, line: lineOf(sf, node) });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
      found.push({ spec: node.arguments[0].text, typeOnly: false, line: lineOf(sf, node) });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push({ spec: node.argument.literal.text, typeOnly: true, line: lineOf(sf, node) });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

function lineOf(sf, node) {
  return sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
}

/** The file a relative specifier points at (`./x.js` → `./x.ts`), or undefined. */
function resolveRelative(from, spec) {
  const target = resolve(dirname(from), spec);
  const candidates = [target];
  const js = target.match(/^(.*)\.(m|c)?js$/);
  if (js) candidates.unshift(`${js[1]}.${js[2] ?? ''}ts`, `${js[1]}.${js[2] ?? ''}tsx`);
  candidates.push(`${target}.ts`, `${target}.tsx`, join(target, 'index.ts'));
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

function packageNameOf(spec) {
  if (!spec.startsWith(SCOPE)) return undefined;
  return spec.split('/').slice(0, 2).join('/');
}

function isInside(dir, file) {
  return file === dir || file.startsWith(dir + sep);
}

/** Import cycles among `files` along run-time edges. */
function findCycles(files, edges) {
  const state = new Map();
  const stack = [];
  const cycles = [];
  const seen = new Set();
  const visit = (f) => {
    state.set(f, 'open');
    stack.push(f);
    for (const next of edges.get(f) ?? []) {
      const s = state.get(next);
      if (s === 'open') {
        const cycle = [...stack.slice(stack.indexOf(next)), next];
        const key = [...cycle.slice(0, -1)].sort().join('|');
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push(cycle);
        }
      } else if (s === undefined) visit(next);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of files) if (!state.has(f)) visit(f);
  return cycles;
}

function main() {
  const problems = [];
  const packages = listPackages(root);
  let fileCount = 0;

  for (const pkg of packages) {
    const rule = ruleFor(pkg.name);
    for (const dep of pkg.deps) {
      if (dep.startsWith(SCOPE) && dep !== pkg.name && !rule.allows(dep)) {
        problems.push(`${pkg.rel}/package.json: ${pkg.name} depends on ${dep}, but it may depend on ${rule.text}`);
      }
    }

    const files = listSources(join(pkg.dir, 'src'));
    fileCount += files.length;
    const edges = new Map();
    for (const file of files) {
      const where = relative(root, file);
      const isTest = /\.test\.(m|c)?tsx?$/.test(file);
      const runtimeTargets = [];
      for (const { spec, typeOnly, line } of importsOf(file)) {
        const dep = packageNameOf(spec);
        if (dep !== undefined) {
          if (dep === pkg.name) continue;
          if (!rule.allows(dep)) problems.push(`${where}:${line}: imports ${spec}, but ${pkg.name} may depend on ${rule.text}`);
          else if (!pkg.deps.has(dep)) problems.push(`${where}:${line}: imports ${spec}, which ${pkg.rel}/package.json does not declare`);
          continue;
        }
        if (!spec.startsWith('.')) continue;
        const target = resolve(dirname(file), spec);
        if (!isInside(pkg.dir, target)) {
          const other = packages.find((p) => p !== pkg && isInside(p.dir, target));
          if (other) problems.push(`${where}:${line}: reaches into ${other.name} by the relative path '${spec}'; import '${other.name}' by name (if ${pkg.name} may depend on it)`);
          else if (!(isTest && isInside(sharedTestDir, target))) problems.push(`${where}:${line}: the relative import '${spec}' leaves the package ${pkg.rel}`);
          continue;
        }
        const resolved = resolveRelative(file, spec);
        if (resolved && !typeOnly) runtimeTargets.push(resolved);
      }
      edges.set(file, runtimeTargets);
    }
    for (const cycle of findCycles(files, edges)) {
      problems.push(`import cycle in ${pkg.name}: ${cycle.map((f) => relative(pkg.dir, f)).join(' → ')}`);
    }
  }

  if (problems.length > 0) {
    process.stderr.write(`dependency check failed (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
    process.exit(1);
  }
  process.stdout.write(`dependency check passed (${packages.length} packages, ${fileCount} files)\n`);
}

main();
