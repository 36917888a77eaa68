/** Every action has a documentation page that names each of its inputs and outputs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ROOT } from './harness.js';
import { listActions } from '../scripts/bundle.js';

/** The page documenting an action: its own, or the page of its family (node-pool-* share one). */
function docPage(action: string): string {
  const own = join(ROOT, 'docs/actions', `${action}.md`);
  return existsSync(own) ? own : join(ROOT, 'docs/actions', `${action.replace(/-[a-z]+$/, '')}s.md`);
}

test('every action input and output is named in its docs page, and the README lists the action', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const missing: string[] = [];
  for (const action of listActions()) {
    const page = docPage(action);
    assert.ok(existsSync(page), `${action}: no page in docs/actions/`);
    const text = readFileSync(page, 'utf8');
    const yml = parseYaml(readFileSync(join(ROOT, 'actions', action, 'action.yml'), 'utf8'));
    for (const name of [...Object.keys(yml.inputs ?? {}), ...Object.keys(yml.outputs ?? {})]) {
      // Per-component outputs (mlflow_url, qdrant_tunnel, ...) may be documented once as `<component>_url`.
      const family = `\`<component>_${name.slice(name.indexOf('_') + 1)}\``;
      if (!text.includes(`\`${name}\``) && !text.includes(family)) missing.push(`${action}: \`${name}\` is not in ${page.slice(ROOT.length + 1)}`);
    }
    if (!readme.includes(`\`${action}\``)) missing.push(`README does not list ${action}`);
  }
  assert.deepEqual(missing, []);
});
