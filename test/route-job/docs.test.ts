// docs/actions/route-job.md lists exactly the inputs and outputs route-job's action.yml declares.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, readActionYaml } from '../harness.js';

/** Names in the first column of the markdown table under `## <heading>`. */
function tableNames(md: string, heading: string): string[] {
  const section = md.split(/^## /m).find((s) => s.startsWith(heading)) ?? '';
  const names: string[] = [];
  for (const line of section.split('\n')) {
    const first = /^\|\s*([^|]+)\|/.exec(line)?.[1] ?? '';
    for (const m of first.matchAll(/`([a-z_]+)`/g)) names.push(m[1] as string);
  }
  return names.sort();
}

test('docs/actions/route-job.md documents every input and output of action.yml', () => {
  const md = readFileSync(join(ROOT, 'docs/actions/route-job.md'), 'utf8');
  const yml = readActionYaml(join(ROOT, 'actions', 'route-job')) as { inputs?: Record<string, unknown>; outputs?: Record<string, unknown> };
  assert.deepEqual(tableNames(md, 'Inputs'), Object.keys(yml.inputs ?? {}).sort());
  assert.deepEqual(tableNames(md, 'Outputs'), Object.keys(yml.outputs ?? {}).sort());
  assert.match(md, /administration: read/);
});
