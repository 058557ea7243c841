/** A workspace package (see `workspace.mjs`). */
export interface WorkspacePackage {
  name: string;
  dir: string;
  rel: string;
  deps: Set<string>;
}

/** Every package under `packages/` and `plugins/` of `root` that has a `package.json`. */
export function listPackages(root: string): WorkspacePackage[];

/** The TypeScript sources under `dir` (no declaration files, nothing under `node_modules`), sorted. */
export function listSources(dir: string): string[];
