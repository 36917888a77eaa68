/**
 * One name for each setting: every `vars.*` and `secrets.*` a workflow reads is in docs/platform.md's
 * table, the table names nothing no workflow reads, and the local runner's defaults use those names.
 */
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ROOT } from '../harness.js';
import { sandboxSecrets, sandboxVars } from '../../scripts/workflow/defaults.js';

const WORKFLOWS = join(ROOT, 'workflows');
const files = readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f));

/** The expressions of a workflow: every `${{ }}` in a value, and each `if:` (an expression even without `${{ }}`). */
function expressions(node: unknown, key = ''): string[] {
  if (typeof node === 'string') {
    const wrapped = [...node.matchAll(/\$\{\{([\s\S]*?)\}\}/g)].map((m) => m[1] as string);
    return key === 'if' && wrapped.length === 0 ? [node] : wrapped;
  }
  if (Array.isArray(node)) return node.flatMap((n) => expressions(n));
  if (node && typeof node === 'object') return Object.entries(node).flatMap(([k, v]) => expressions(v, k));
  return [];
}

/** `vars.X` / `secrets.X` read by the expressions of a workflow's text. */
function reads(text: string): Set<string> {
  const out = new Set<string>();
  for (const e of expressions(parseYaml(text))) {
    assert.doesNotMatch(e, /\b(vars|secrets)\s*\[/, `read variables and secrets by name (vars.NAME), not by index: ${e}`);
    for (const m of e.matchAll(/\b(vars|secrets)\.([A-Za-z_][A-Za-z0-9_]*)/g)) out.add(`${m[1]}.${m[2]}`);
  }
  return out;
}

/** The names in the first column of docs/platform.md's variables and secrets table. */
function documented(): Map<string, string> {
  const doc = readFileSync(join(ROOT, 'docs/platform.md'), 'utf8');
  const section = doc.split(/^## /m).find((s) => s.startsWith('Repository variables and secrets'));
  assert.ok(section, 'docs/platform.md has a section "Repository variables and secrets"');
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const m = /^\| `((?:vars|secrets)\.[A-Za-z_][A-Za-z0-9_]*)` \|(.*)$/.exec(line);
    if (!m) continue;
    assert.ok(!rows.has(m[1] as string), `${m[1]} has one row`);
    const cells = (m[2] as string).split(' | ').map((c) => c.replace(/\|$/, '').trim());
    assert.equal(cells.length, 4, `${m[1]}: what it is, who sets it, where its value comes from, read by`);
    assert.ok(cells.every((c) => c.length > 0), `${m[1]} fills every column`);
    rows.set(m[1] as string, line);
  }
  return rows;
}

const readByWorkflows = (): Map<string, string[]> => {
  const by = new Map<string, string[]>();
  for (const f of files) for (const name of reads(readFileSync(join(WORKFLOWS, f), 'utf8'))) by.set(name, [...(by.get(name) ?? []), f]);
  return by;
};

test('every vars.* and secrets.* a workflow reads is in docs/platform.md, and the table names no other', () => {
  const read = readByWorkflows();
  const table = documented();
  assert.ok(read.size >= 10 && table.size >= 10, `read: ${[...read.keys()].join(', ')}`);
  const missing = [...read.keys()].filter((n) => !table.has(n)).map((n) => `${n} (read by ${read.get(n)?.join(', ')})`);
  assert.deepEqual(missing, [], 'read by a workflow but not in the table of docs/platform.md');
  const unused = [...table.keys()].filter((n) => !read.has(n));
  assert.deepEqual(unused, [], 'in the table of docs/platform.md but read by no workflow');
  assert.ok([...read.keys()].some((n) => n.startsWith('secrets.')), 'the secrets are in the table too');
});

test('one name per setting: no second name for the cluster or the region, no project, cluster or bucket as a workflow default', () => {
  const read = readByWorkflows();
  for (const old of ['vars.MLABS_GKE_CLUSTER', 'vars.MLABS_GKE_LOCATION']) assert.ok(!read.has(old), `${old}: the cluster and region are MLABS_CLUSTER and MLABS_REGION`);
  for (const f of files) {
    const text = readFileSync(join(WORKFLOWS, f), 'utf8');
    for (const [name, input] of Object.entries(parseYaml(text).on?.workflow_dispatch?.inputs ?? {}) as [string, { default?: unknown }][]) {
      if (['project_id', 'cluster', 'bucket', 'location', 'region'].includes(name)) assert.equal(input.default, '', `${f}: input ${name} defaults to '' (the repository variable), not ${String(input.default)}`);
    }
    for (const e of expressions(parseYaml(text))) assert.doesNotMatch(e, /'(mlabs|mlabs-demo[\w-]*|us-central1)'/, `${f}: no project, cluster, bucket or region in an expression: ${e}`);
  }
});

test('control jobs run on the repository variable MLABS_CONTROL_RUNNER, wsl2 when unset', () => {
  const control: [string, string][] = [
    ['train-private-first.yml', 'route'],
    ['gcp-login-check.yml', 'login'],
    ['cost-cleanup.yml', 'mode'],
    ['cost-cleanup.yml', 'cleanup'],
    ['cost-cleanup.yml', 'weekly-issue'],
    ['platform-create.yml', 'apply'],
    ['platform-destroy.yml', 'prepare'],
    ['platform-destroy.yml', 'destroy'],
  ];
  for (const [f, job] of control) {
    const runsOn = JSON.stringify(parseYaml(readFileSync(join(WORKFLOWS, f), 'utf8')).jobs?.[job]?.['runs-on']);
    assert.match(runsOn, /vars\.MLABS_CONTROL_RUNNER \|\| 'wsl2'/, `${f} ${job}: ${runsOn}`);
  }
});

test('the local runner defaults name only documented variables and secrets', () => {
  const table = documented();
  const vars = sandboxVars({ projectId: 'p-1', projectNumber: '1', region: 'r' });
  const secrets = sandboxSecrets({ github: { tokens: [{ token: 'a', login: 'github-actions[bot]' }, { token: 'b', login: 'someone' }] } });
  for (const n of Object.keys(vars)) assert.ok(table.has(`vars.${n}`), `defaults.ts sets vars.${n}, which docs/platform.md does not list`);
  // GITHUB_TOKEN is GitHub's own, not one the repository sets.
  for (const n of Object.keys(secrets).filter((s) => s !== 'GITHUB_TOKEN')) assert.ok(table.has(`secrets.${n}`), `defaults.ts sets secrets.${n}, which docs/platform.md does not list`);
  assert.equal(vars.MLABS_CONTROL_RUNNER, 'wsl2');
});

test('the reader finds vars and secrets in ${{ }} and if:, not in comments or descriptions', () => {
  const text = [
    '# vars.IN_A_COMMENT',
    'on: { workflow_dispatch: { inputs: { a: { description: "only when vars.IN_TEXT is set", default: "" } } } }',
    'jobs:',
    '  j:',
    "    if: vars.IN_IF == 'true'",
    '    runs-on: [self-hosted, "${{ vars.RUNNER || \'wsl2\' }}"]',
    '    steps:',
    '      - run: echo "$T"',
    '        env: { T: "${{ secrets.TOKEN }} and ${{ github.token }}" }',
  ].join('\n');
  assert.deepEqual([...reads(text)].sort(), ['secrets.TOKEN', 'vars.IN_IF', 'vars.RUNNER']);
  assert.throws(() => reads('jobs: { j: { steps: [ { run: "${{ vars[\'X\'] }}" } ] } }'), /by name/);
});
