/**
 * The project templates the suite ships (templates/<name>/), read from the suite's own checkout: the
 * runner checks the whole repository out at the action's ref, so templates/ sits beside actions/.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { ActionError } from '../errors.js';

/** The suite's root: the folder holding templates/, from the running bundle (actions/X/dist/index.js) or entry. */
export function suiteRoot(entry = process.argv[1] ?? ''): string {
  let dir = dirname(entry);
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'templates')) && existsSync(join(dir, 'actions'))) return dir;
    dir = dirname(dir);
  }
  throw new ActionError(`The suite's templates/ folder was not found above ${entry}.`, { fix: 'Run the action from a checkout of the whole suite (uses: owner/mlabs-actions/actions/project-create@ref does this).' });
}

export function listTemplates(root = suiteRoot()): string[] {
  const dir = join(root, 'templates');
  return readdirSync(dir).filter((n) => statSync(join(dir, n)).isDirectory()).sort();
}

export interface TemplateFile {
  path: string;
  content: string;
}

/** Values the template's text files name as @@NAME@@. Workflow files hold none: they read repository variables. */
export type TemplateValues = Record<string, string>;

const PLACEHOLDER = /@@([A-Z_]+)@@/g;

function walk(dir: string, root: string, out: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) walk(full, root, out);
    else out.push(relative(root, full).split(sep).join('/'));
  }
}

/** Every file of the template, with its placeholders filled; an unknown placeholder is a defect of the template. */
export function renderTemplate(name: string, values: TemplateValues, root = suiteRoot()): TemplateFile[] {
  const dir = join(root, 'templates', name);
  const paths: string[] = [];
  walk(dir, dir, paths);
  return paths.map((path) => {
    const text = readFileSync(join(dir, path), 'utf8');
    const content = text.replace(PLACEHOLDER, (all, key: string) => {
      const v = values[key];
      if (v === undefined) throw new Error(`templates/${name}/${path} names @@${key}@@, which project-create does not fill.`);
      return v;
    });
    return { path, content };
  });
}

/** The marker file a project made by the factory carries (in the same commit as the template's files). */
export const MARKER = '.mlabs/project.json';

export interface Marker {
  template: string;
  platform_repository: string;
  data_class: string;
  allow_cloud: boolean;
  created_by: string;
}
