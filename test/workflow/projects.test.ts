// workflows/project-create.yml and its twin project-archive.yml through the local workflow runner
// against the sandbox: the platform's variables (the ones the run itself reads) are copied onto the
// new repository, the trust pull request lands on the platform repository, and the twin archives.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterAll, beforeAll, test } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import type { GithubRestService, GithubSeed } from '../../scripts/sandbox/apis/github-rest.js';
import { readRepoFile, seedVariables, type FullRepo } from '../../scripts/sandbox/apis/github-rest.js';
import { sandboxDefaults } from '../../scripts/workflow/defaults.js';
import { runWorkflow, type WorkflowRunResult } from '../../scripts/workflow/runner.js';
import { ROOT } from '../harness.js';

let sb: Sandbox;
let gh: GithubRestService;
let defaults: { vars: Record<string, string>; secrets: Record<string, string> };

beforeAll(async () => {
  sb = await startSandbox({ operationMs: 20 });
  gh = sb.ctx.services.get('github-rest') as GithubRestService;
  const d = sandboxDefaults(sb);
  const factory = (sb.state.github as GithubSeed).tokens.find((t) => t.login === 'mlabs-factory')?.token as string;
  defaults = { vars: d.vars, secrets: { ...d.secrets, MLABS_PROJECT_FACTORY_TOKEN: factory } };
  // The platform repository's variables on GitHub are the `vars` context the run reads.
  seedVariables(gh.state, 'mlabs/platform', d.vars);
});
afterAll(async () => {
  await sb.stop();
});

const run = (file: string, inputs: Record<string, string>): Promise<WorkflowRunResult> =>
  runWorkflow({ file: join(ROOT, 'workflows', file), env: { ...sb.env, MLABS_RETRY_BASE_MS: '1' }, inputs, ...defaults });
const explain = (r: WorkflowRunResult): string => [r.error ?? '', ...r.jobs.flatMap((j) => [`${j.name}: ${j.result}`, ...j.steps.map((s) => `  ${s.name}: ${s.outcome}\n${s.log}`)])].join('\n');
const repo = (full: string): FullRepo | undefined => gh.state.repos.find((r) => `${r.owner}/${r.name}` === full) as FullRepo | undefined;

test('project-create then project-archive: a wired repository, a trust pull request each way, then archived', async () => {
  const created = await run('project-create.yml', { repository: 'mlabs/fraud-model', grants: 'team:ml-team=push' });
  assert.equal(created.conclusion, 'success', explain(created));
  const r = repo('mlabs/fraud-model') as FullRepo;
  assert.ok(readRepoFile(gh.state, 'mlabs/fraud-model', '.github/workflows/train.yml'));
  const vars = Object.fromEntries((r.variables ?? []).map((v) => [v.name, v.value]));
  for (const [name, value] of Object.entries(defaults.vars)) assert.equal(vars[name], value, name);
  assert.equal(vars.MLABS_DATA_CLASS, 'sensitive');
  assert.equal(repo('mlabs/platform')?.pulls?.filter((p) => p.state === 'open').length, 1);
  // wif-login is skipped: the pull-request trust needs no Google call.
  assert.equal(created.jobs[0]?.steps.find((s) => /wif-login/.test(s.name))?.outcome, 'skipped');

  const archived = await run('project-archive.yml', { repository: 'mlabs/fraud-model' });
  assert.equal(archived.conclusion, 'success', explain(archived));
  assert.equal(repo('mlabs/fraud-model')?.archived, true);
  // The first pull request is still open (not merged): the list on main never had the project, so there is nothing to remove yet.
  assert.match(archived.jobs[0]?.summary ?? '', /trust \(pull-request\) \| unchanged/);
  assert.match(archived.jobs[0]?.summary ?? '', /repository \| archived/);
});
