/** Every action has a documentation page that names each of its inputs and outputs, and names no stale ones. */
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, readActionYaml } from './harness.js';
import { listActions } from '../scripts/bundle.js';

/** The page documenting an action: its own, or the page of its family (node-pool-* share one). */
function docPage(action: string): string {
  const own = join(ROOT, 'docs/actions', `${action}.md`);
  return existsSync(own) ? own : join(ROOT, 'docs/actions', `${action.replace(/-[a-z]+$/, '')}s.md`);
}

/** Names in the first column of the markdown table under `## <heading>` (a cell may name several: `a`, `b`); undefined without such a table. */
function tableNames(md: string, heading: string): string[] | undefined {
  const section = md.split(/^## /m).find((s) => s.startsWith(heading));
  if (section === undefined || !/^\|/m.test(section)) return undefined;
  const names: string[] = [];
  for (const line of section.split('\n')) {
    const first = /^\|\s*([^|]+)\|/.exec(line)?.[1] ?? '';
    for (const m of first.matchAll(/`([a-z_<>]+)`/g)) names.push(m[1] as string);
  }
  return names.sort();
}

/** A row `<component>_url` stands for every declared `<name>_url`. */
function expand(names: string[], declared: string[]): string[] {
  return names
    .flatMap((n) => (n.startsWith('<component>_') ? declared.filter((d) => d.endsWith(n.slice('<component>'.length)) && /^[a-z]+_/.test(d)) : [n]))
    .sort();
}

interface ActionYaml {
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
}

test('every action input and output is named in its docs page, and the README lists the action', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const missing: string[] = [];
  for (const action of listActions()) {
    const page = docPage(action);
    assert.ok(existsSync(page), `${action}: no page in docs/actions/`);
    const text = readFileSync(page, 'utf8');
    const yml = readActionYaml(join(ROOT, 'actions', action)) as ActionYaml;
    for (const name of [...Object.keys(yml.inputs ?? {}), ...Object.keys(yml.outputs ?? {})]) {
      // Per-component outputs (mlflow_url, qdrant_tunnel, ...) may be documented once as `<component>_url`.
      const family = `\`<component>_${name.slice(name.indexOf('_') + 1)}\``;
      if (!text.includes(`\`${name}\``) && !text.includes(family)) missing.push(`${action}: \`${name}\` is not in ${page.slice(ROOT.length + 1)}`);
    }
    if (!readme.includes(`\`${action}\``)) missing.push(`README does not list ${action}`);
  }
  assert.deepEqual(missing, []);
});

test('an Inputs or Outputs table in an action page lists exactly what action.yml declares (nothing stale)', () => {
  let tables = 0;
  for (const action of listActions()) {
    const own = join(ROOT, 'docs/actions', `${action}.md`);
    if (!existsSync(own)) continue;
    const md = readFileSync(own, 'utf8');
    const yml = readActionYaml(join(ROOT, 'actions', action)) as ActionYaml;
    for (const [heading, declared] of [['Inputs', yml.inputs], ['Outputs', yml.outputs]] as const) {
      const listed = tableNames(md, heading);
      if (!listed) continue;
      tables++;
      const keys = Object.keys(declared ?? {});
      assert.deepEqual(expand(listed, keys), keys.sort(), `${action}: the ${heading} table of ${own.slice(ROOT.length + 1)}`);
    }
  }
  assert.ok(tables >= 6, `the pages with tables were checked (${tables})`);
});

test("route-job's page says which token permission listing self-hosted runners needs", () => {
  assert.match(readFileSync(join(ROOT, 'docs/actions/route-job.md'), 'utf8'), /administration: read/);
});
