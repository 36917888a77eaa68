/**
 * Bundling: every folder under actions/ with an action.yml is one action whose
 * entry `main.ts` is bundled by @vercel/ncc into `dist/` (what GitHub runs).
 * The bundle is CommonJS (`dist/package.json` says so): Node loads a CommonJS entry faster than
 * an ES module one (`npm run bench` measures both), and the sources' top-level await still works
 * (webpack runs the entry as an async module).
 * ncc compiles each file on its own (`transpileOnly`, with actions/tsconfig.json's ES module settings):
 * the output is the same as with ncc's own type-check, which cost a whole TypeScript program per bundle;
 * `npm run build` type-checks the actions once first, and `npm run lint` checks everything.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

type Ncc = (entry: string, opts: Record<string, unknown>) => Promise<{ code: string; assets: Record<string, { source: string | Buffer }> }>;
const ncc = createRequire(import.meta.url)('@vercel/ncc') as Ncc;

/** Names of every action in the suite. */
export function listActions(root = ROOT): string[] {
  const dir = join(root, 'actions');
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'action.yml')))
    .map((d) => d.name)
    .sort();
}

/** The files of a bundle, by path relative to dist/. */
export async function bundle(entry: string): Promise<Map<string, Buffer>> {
  const { code, assets } = await ncc(entry, { minify: true, quiet: true, target: 'es2022', sourceMap: false, license: '', esm: false, transpileOnly: true });
  const files = new Map<string, Buffer>([['index.js', Buffer.from(code)]]);
  for (const [name, asset] of Object.entries(assets)) files.set(name, Buffer.from(asset.source));
  // The repository's package.json says "type": "module"; this one makes Node read dist/*.js as CommonJS.
  files.set('package.json', Buffer.from('{\n  "type": "commonjs"\n}\n'));
  return files;
}

export async function buildAction(actionDir: string): Promise<Map<string, Buffer>> {
  const files = await bundle(join(actionDir, 'main.ts'));
  const dist = join(actionDir, 'dist');
  rmSync(dist, { recursive: true, force: true });
  for (const [name, data] of files) {
    mkdirSync(dirname(join(dist, name)), { recursive: true });
    writeFileSync(join(dist, name), data);
  }
  return files;
}

/** Differences between what the build produces and the committed dist/: empty when they agree. */
export async function staleFiles(actionDir: string): Promise<string[]> {
  const fresh = await bundle(join(actionDir, 'main.ts'));
  const dist = join(actionDir, 'dist');
  const problems: string[] = [];
  for (const [name, data] of fresh) {
    const path = join(dist, name);
    if (!existsSync(path)) problems.push(`${name} is missing from dist/`);
    else if (!readFileSync(path).equals(data)) problems.push(`${name} differs from a fresh build`);
  }
  if (existsSync(dist)) {
    for (const entry of readdirSync(dist, { withFileTypes: true, recursive: true })) {
      if (!entry.isFile()) continue;
      const name = relative(dist, join(entry.parentPath, entry.name));
      if (!fresh.has(name)) problems.push(`${name} in dist/ is not produced by the build`);
    }
  }
  return problems;
}

/**
 * The mlabs command (`cli/mlabs.ts`) is bundled as an action is, into `cli/dist/`: its entry is
 * `mlabs.cjs`, with the shebang a `bin` needs, beside the chunks ncc splits off (what loads on first
 * use) and the package.json that makes Node read those as CommonJS. It is the package's `bin`, so
 * `npm install -g` and `npx mlabs` run it with Node alone (no tsx).
 */
export const CLI_ENTRY = join(ROOT, 'cli', 'mlabs.ts');
export const CLI_DIST = join(ROOT, 'cli', 'dist');

export async function bundleCli(entry = CLI_ENTRY): Promise<Map<string, Buffer>> {
  const files = await bundle(entry);
  const code = (files.get('index.js') as Buffer).toString('utf8').replace(/^#!.*\n/, '');
  files.delete('index.js');
  files.set('mlabs.cjs', Buffer.from(`#!/usr/bin/env node\n${code}`));
  return files;
}

export async function buildCli(): Promise<Map<string, Buffer>> {
  const files = await bundleCli();
  rmSync(CLI_DIST, { recursive: true, force: true });
  for (const [name, data] of files) {
    mkdirSync(dirname(join(CLI_DIST, name)), { recursive: true });
    writeFileSync(join(CLI_DIST, name), data);
  }
  chmodSync(join(CLI_DIST, 'mlabs.cjs'), 0o755);
  return files;
}

/** Differences between a fresh build of the mlabs command and the committed cli/dist/: empty when they agree. */
export async function staleCli(): Promise<string[]> {
  const fresh = await bundleCli();
  const problems: string[] = [];
  for (const [name, data] of fresh) {
    const path = join(CLI_DIST, name);
    if (!existsSync(path)) problems.push(`cli/dist/${name} is missing`);
    else if (!readFileSync(path).equals(data)) problems.push(`cli/dist/${name} differs from a fresh build`);
  }
  for (const entry of existsSync(CLI_DIST) ? readdirSync(CLI_DIST, { withFileTypes: true, recursive: true }) : []) {
    if (!entry.isFile()) continue;
    const name = relative(CLI_DIST, join(entry.parentPath, entry.name));
    if (!fresh.has(name)) problems.push(`cli/dist/${name} is not produced by the build`);
  }
  return problems;
}
