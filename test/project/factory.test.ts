// project-create and project-archive through their bundles, against the sandbox's GitHub REST API
// (repositories, Git data, contents, variables, topics, protection, grants, pull requests, issues) and
// its IAM API (the Workload Identity provider's condition and the CI account's binding), with the
// trust change proven by a real token exchange through wif-login.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, beforeEach, describe, test } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import type { GithubRestService, GithubSeed } from '../../scripts/sandbox/apis/github-rest.js';
import { readRepoFile, seedRepoFiles, seedVariables, type FullRepo } from '../../scripts/sandbox/apis/github-rest.js';
import type { GithubOidcService } from '../../scripts/sandbox/apis/github-oidc.js';
import type { IamSeed, WorkloadIdentitySeed } from '../../scripts/sandbox/apis/_wif.js';
import { runAction } from '../harness.js';

let sb: Sandbox;
let gh: GithubRestService;
let FACTORY: string;
const PLATFORM = 'mlabs/platform';
const PROVIDER = 'projects/123456789012/locations/global/workloadIdentityPools/github/providers/github-actions';
const CI = 'mlabs-ci@mlabs-demo.iam.gserviceaccount.com';
let pristineWi: string;
let pristineIam: string;

beforeAll(async () => {
  sb = await startSandbox({ operationMs: 20 });
  gh = sb.ctx.services.get('github-rest') as GithubRestService;
  FACTORY = (sb.state.github as GithubSeed).tokens.find((t) => t.login === 'mlabs-factory')?.token as string;
  pristineWi = JSON.stringify(sb.state.workloadIdentity);
  pristineIam = JSON.stringify(sb.state.iam);
});
afterAll(async () => {
  await sb.stop();
});
beforeEach(() => {
  gh.reset();
  Object.assign(sb.state.workloadIdentity as object, JSON.parse(pristineWi));
  Object.assign(sb.state.iam as object, JSON.parse(pristineIam));
  seedVariables(gh.state, PLATFORM, { MLABS_PROJECT_ID: 'mlabs-demo', MLABS_REGION: 'us-central1', MLABS_CLUSTER: 'mlabs', MLABS_WIF_PROVIDER: PROVIDER, MLABS_CI_SERVICE_ACCOUNT: CI });
});

/** What a team that chose trust: iam grants the CI account on top of the Terraform's roles. */
async function grantTrustAdmin(): Promise<void> {
  const policy = await sb.iam.currentPolicy();
  const member = `serviceAccount:${CI}`;
  sb.iam.setPolicy({ project: [...policy.project, { role: 'roles/iam.workloadIdentityPoolAdmin', members: [member] }, { role: 'roles/iam.serviceAccountAdmin', members: [member] }], resources: policy.resources });
}

const repo = (full: string): FullRepo | undefined => gh.state.repos.find((r) => `${r.owner}/${r.name}` === full) as FullRepo | undefined;
const commits = (full: string): number => Object.keys(repo(full)?.git?.commits ?? {}).length;

function create(inputs: Record<string, string>) {
  return runAction('project-create', {
    inputs: { github_token: FACTORY, platform_repository: PLATFORM, ...inputs },
    env: { ...sb.env, MLABS_RETRY_BASE_MS: '1' },
  });
}
function archive(inputs: Record<string, string>) {
  return runAction('project-archive', {
    inputs: { github_token: FACTORY, platform_repository: PLATFORM, ...inputs },
    env: { ...sb.env, MLABS_RETRY_BASE_MS: '1' },
  });
}

describe('project-create', () => {
  test('makes the repository with the template in one commit, the platform variables, topics, protection, grants, a trust pull request and a next-steps issue', async () => {
    const run = await create({ repository: 'mlabs/churn-model', grants: 'team:ml-team=push\nuser:alice=maintain', description: 'Churn model fine-tuning' });
    assert.equal(run.exitCode, 0, run.main.log);
    assert.equal(run.outputs.created, 'true');
    assert.equal(run.outputs.repository, 'mlabs/churn-model');
    assert.equal(run.outputs.trust, 'opened');
    const r = repo('mlabs/churn-model') as FullRepo;
    assert.equal(r.visibility, 'private');
    // auto_init's commit, then every template file in one more commit.
    assert.equal(commits('mlabs/churn-model'), 2);
    const readme = readRepoFile(gh.state, 'mlabs/churn-model', 'README.md') as string;
    assert.match(readme, /^# churn-model/);
    assert.match(readme, /Churn model fine-tuning/);
    assert.doesNotMatch(readme, /@@/);
    const marker = JSON.parse(readRepoFile(gh.state, 'mlabs/churn-model', '.mlabs/project.json') as string);
    assert.equal(marker.template, 'kfp-finetune');
    assert.equal(marker.data_class, 'sensitive');
    assert.ok(readRepoFile(gh.state, 'mlabs/churn-model', '.github/workflows/train.yml'));
    assert.match(readRepoFile(gh.state, 'mlabs/churn-model', 'pipeline/finetune.yaml') as string, /image: 'us-central1-docker\.pkg\.dev\/mlabs-demo\/apps\/churn-model-trainer:latest'/);
    const vars = Object.fromEntries((r.variables ?? []).map((v) => [v.name, v.value]));
    assert.equal(vars.MLABS_PROJECT_ID, 'mlabs-demo');
    assert.equal(vars.MLABS_WIF_PROVIDER, PROVIDER);
    assert.equal(vars.MLABS_DATA_CLASS, 'sensitive');
    assert.equal(vars.MLABS_ALLOW_CLOUD, 'false');
    assert.equal(vars.MLABS_PLATFORM_REPOSITORY, PLATFORM);
    assert.deepEqual(r.topics, ['mlabs-project', 'mlabs-template-kfp-finetune']);
    assert.ok(r.protection?.main, 'main is protected');
    assert.deepEqual(r.teams, { 'ml-team': 'push' });
    assert.deepEqual(r.collaborators, { alice: 'maintain' });
    // Trust: a pull request on the platform repository adding the project to the Terraform list.
    const platform = repo(PLATFORM) as FullRepo;
    assert.equal(platform.pulls?.length, 1);
    const branch = platform.pulls?.[0]?.head as string;
    const tfvars = JSON.parse(readRepoFile(gh.state, PLATFORM, 'terraform/bootstrap/repositories.auto.tfvars.json', branch) as string);
    assert.deepEqual(tfvars, { project_repositories: ['mlabs/churn-model'] });
    assert.equal(readRepoFile(gh.state, PLATFORM, 'terraform/bootstrap/repositories.auto.tfvars.json'), undefined, 'main is untouched until the pull request is merged');
    const issues = gh.issues('mlabs/churn-model');
    assert.equal(issues.length, 1);
    assert.match(issues[0]?.body ?? '', /MLABS_RUNNER_READ_TOKEN/);
    assert.match(run.summary, /Workload Identity/);
    assert.match(run.summary, /mlabs\/churn-model/);
  });

  test('a re-run with the same template changes nothing and reports what is there', async () => {
    assert.equal((await create({ repository: 'mlabs/churn-model' })).exitCode, 0);
    const before = { commits: commits('mlabs/churn-model'), platform: commits(PLATFORM), pulls: repo(PLATFORM)?.pulls?.length, issues: gh.issues('mlabs/churn-model').length };
    const again = await create({ repository: 'mlabs/churn-model' });
    assert.equal(again.exitCode, 0, again.main.log);
    assert.equal(again.outputs.created, 'false');
    assert.equal(again.outputs.trust, 'exists');
    assert.deepEqual({ commits: commits('mlabs/churn-model'), platform: commits(PLATFORM), pulls: repo(PLATFORM)?.pulls?.length, issues: gh.issues('mlabs/churn-model').length }, before);
    assert.match(again.summary, /exists \(made from kfp-finetune\)/);
    assert.match(again.summary, /0 created, 0 updated, \d+ unchanged/);
  });

  test('finishes a repository an earlier run created but stopped before writing the files', async () => {
    // What a run that died after creating the repository leaves: the repository and the factory's topic.
    const created = await fetch(`${sb.env.GITHUB_API_URL}/orgs/mlabs/repos`, { method: 'POST', headers: { authorization: `Bearer ${FACTORY}` }, body: JSON.stringify({ name: 'half-made', auto_init: true }) });
    assert.equal(created.status, 201);
    (repo('mlabs/half-made') as FullRepo).topics = ['mlabs-template-kfp-finetune'];
    const run = await create({ repository: 'mlabs/half-made' });
    assert.equal(run.exitCode, 0, run.main.log);
    assert.ok(readRepoFile(gh.state, 'mlabs/half-made', '.mlabs/project.json'));
  });

  test('refuses a name that exists with other content, and writes nothing', async () => {
    const created = await fetch(`${sb.env.GITHUB_API_URL}/orgs/mlabs/repos`, { method: 'POST', headers: { authorization: `Bearer ${FACTORY}` }, body: JSON.stringify({ name: 'someone-elses', auto_init: true }) });
    assert.equal(created.status, 201);
    const run = await create({ repository: 'mlabs/someone-elses' });
    assert.equal(run.exitCode, 1);
    assert.match(run.main.log, /already exists and is not a project made by the factory/);
    assert.equal(commits('mlabs/someone-elses'), 1);
    assert.equal(repo(PLATFORM)?.pulls?.length ?? 0, 0);
    assert.deepEqual(repo('mlabs/someone-elses')?.variables ?? [], []);
  });

  test('refuses a project made from another template, and the platform repository itself', async () => {
    seedRepoFiles(gh.state, PLATFORM, {});
    const platform = await create({ repository: PLATFORM });
    assert.equal(platform.exitCode, 1);
    assert.match(platform.main.log, /is the platform repository itself/);
    await fetch(`${sb.env.GITHUB_API_URL}/orgs/mlabs/repos`, { method: 'POST', headers: { authorization: `Bearer ${FACTORY}` }, body: JSON.stringify({ name: 'other-kind', auto_init: true }) });
    seedRepoFiles(gh.state, 'mlabs/other-kind', { '.mlabs/project.json': JSON.stringify({ template: 'vision-classifier' }) });
    const other = await create({ repository: 'mlabs/other-kind' });
    assert.equal(other.exitCode, 1);
    assert.match(other.main.log, /already a project made from the vision-classifier template, not kfp-finetune/);
  });

  test('refuses wrong inputs before any request, naming the input', async () => {
    const reqs = gh.state.tokens.find((t) => t.token === FACTORY)?.remaining;
    for (const [inputs, input, message] of [
      [{ repository: 'mlabs/x', template: 'no-such' }, 'template', /expected one of the suite's templates: kfp-finetune/],
      [{ repository: 'mlabs/x', grants: 'team:ml-team=write' }, 'grants', /team:SLUG=PERMISSION/],
      [{ repository: 'not a repo' }, 'repository', /owner\/name/],
      [{ repository: 'mlabs/x', trust: 'sometimes' }, 'trust', /"pull-request", "iam", "none"/],
      [{ repository: 'mlabs/x', workload_identity_provider: 'github-actions' }, 'workload_identity_provider', /workloadIdentityPools/],
    ] as const) {
      const run = await create(inputs as Record<string, string>);
      assert.equal(run.exitCode, 1, input);
      assert.match(run.main.log, new RegExp(`Input "${input}"`));
      assert.match(run.main.log, message);
    }
    assert.equal(gh.state.tokens.find((t) => t.token === FACTORY)?.remaining, reqs, 'no request was made');
  });

  test('a token that may not create repositories fails naming the permission, and nothing is made', async () => {
    const weak = gh.addToken({ login: 'weak', permissions: { metadata: 'read', administration: 'read' }, organizations: ['mlabs'] });
    const run = await create({ repository: 'mlabs/nope', github_token: weak.token });
    assert.equal(run.exitCode, 1);
    assert.match(run.main.log, /Resource not accessible by integration while creating mlabs\/nope/);
    assert.match(run.main.log, /administration: write/);
    assert.equal(repo('mlabs/nope'), undefined);
  });

  test('trust iam as the CI account the Terraform makes is refused naming the permission and the role; nothing changes', async () => {
    const run = await create({ repository: 'mlabs/edge-vision', trust: 'iam' });
    assert.equal(run.exitCode, 1);
    assert.match(run.main.log, /iam\.googleapis\.com\/workloadIdentityPoolProviders\.get/);
    assert.match(run.main.log, /roles\/iam\.workloadIdentityPool(Viewer|Admin)/);
    assert.equal((sb.state.workloadIdentity as WorkloadIdentitySeed).pools[0]?.providers[0]?.attributeCondition, 'assertion.repository == "mlabs/platform"');
  });

  test('trust iam widens the provider to exactly the new repository, and its workflows can then log in', async () => {
    const oidc = sb.ctx.services.get('github-oidc') as GithubOidcService;
    oidc.setClaims({ repository: 'mlabs/edge-vision', repository_owner: 'mlabs' });
    const login = () => runAction('wif-login', { inputs: { workload_identity_provider: PROVIDER, service_account: CI }, env: { ...sb.env, MLABS_RETRY_BASE_MS: '1' }, post: false });
    await grantTrustAdmin();
    try {
      const refused = await login();
      assert.equal(refused.exitCode, 1, 'the provider does not admit the repository yet');

      const run = await create({ repository: 'mlabs/edge-vision', trust: 'iam' });
      assert.equal(run.exitCode, 0, run.main.log);
      assert.equal(run.outputs.trust, 'updated');
      const provider = (sb.state.workloadIdentity as WorkloadIdentitySeed).pools[0]?.providers[0];
      assert.equal(provider?.attributeCondition, 'assertion.repository in ["mlabs/platform", "mlabs/edge-vision"]');
      const binding = (sb.state.iam as IamSeed).serviceAccounts.find((s) => s.email === CI)?.bindings?.find((b) => b.role === 'roles/iam.workloadIdentityUser');
      assert.ok(binding?.members.includes('principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/github/attribute.repository/mlabs/edge-vision'));
      assert.match(run.summary, /assertion\.repository == \\?"mlabs\/platform\\?"/);
      assert.equal(repo(PLATFORM)?.pulls?.length ?? 0, 0, 'no pull request in iam mode');

      const ok = await login();
      assert.equal(ok.exitCode, 0, ok.main.log);

      // The twin takes it away again the same way.
      const gone = await archive({ repository: 'mlabs/edge-vision', trust: 'iam' });
      assert.equal(gone.exitCode, 0, gone.main.log);
      assert.equal(provider?.attributeCondition, 'assertion.repository == "mlabs/platform"');
      assert.equal(repo('mlabs/edge-vision')?.archived, true);
      assert.equal((await login()).exitCode, 1);
    } finally {
      oidc.setClaims({ repository: 'mlabs/platform', repository_owner: 'mlabs' });
      sb.iam.setPolicy(undefined);
    }
  });

  test('trust iam refuses a provider condition it did not write, and changes nothing', async () => {
    const provider = (sb.state.workloadIdentity as WorkloadIdentitySeed).pools[0]?.providers[0];
    if (provider) provider.attributeCondition = 'assertion.repository_owner == "mlabs"';
    await grantTrustAdmin();
    const run = await create({ repository: 'mlabs/wide', trust: 'iam' }).finally(() => sb.iam.setPolicy(undefined));
    assert.equal(run.exitCode, 1);
    assert.match(run.main.log, /not one this action edits/);
    assert.equal(provider?.attributeCondition, 'assertion.repository_owner == "mlabs"');
  });
});

describe('project-archive', () => {
  test('opens the trust-removal pull request and archives the repository, deleting nothing', async () => {
    assert.equal((await create({ repository: 'mlabs/churn-model' })).exitCode, 0);
    // The platform merged the first pull request: the project is in the list on main.
    seedRepoFiles(gh.state, PLATFORM, { 'terraform/bootstrap/repositories.auto.tfvars.json': JSON.stringify({ project_repositories: ['mlabs/churn-model', 'mlabs/other'] }) });
    const files = commits('mlabs/churn-model');
    const run = await archive({ repository: 'mlabs/churn-model' });
    assert.equal(run.exitCode, 0, run.main.log);
    assert.equal(run.outputs.trust, 'opened');
    const r = repo('mlabs/churn-model') as FullRepo;
    assert.equal(r.archived, true);
    assert.equal(commits('mlabs/churn-model'), files);
    const pr = repo(PLATFORM)?.pulls?.find((p) => p.head.includes('remove'));
    assert.ok(pr);
    assert.deepEqual(JSON.parse(readRepoFile(gh.state, PLATFORM, 'terraform/bootstrap/repositories.auto.tfvars.json', pr.head) as string), { project_repositories: ['mlabs/other'] });
    // Archived means read-only: a write is refused as GitHub refuses it.
    const write = await fetch(`${sb.env.GITHUB_API_URL}/repos/mlabs/churn-model/topics`, { method: 'PUT', headers: { authorization: `Bearer ${FACTORY}` }, body: JSON.stringify({ names: ['x'] }) });
    assert.equal(write.status, 403);
    assert.equal(((await write.json()) as { message: string }).message, 'Repository was archived so is read-only.');
    // Again: nothing more to do.
    const again = await archive({ repository: 'mlabs/churn-model' });
    assert.equal(again.exitCode, 0, again.main.log);
    assert.equal(again.outputs.trust, 'exists');
    assert.match(again.summary, /already archived/);
  });

  test('refuses a repository the factory did not make', async () => {
    await fetch(`${sb.env.GITHUB_API_URL}/orgs/mlabs/repos`, { method: 'POST', headers: { authorization: `Bearer ${FACTORY}` }, body: JSON.stringify({ name: 'hand-made', auto_init: true }) });
    const run = await archive({ repository: 'mlabs/hand-made' });
    assert.equal(run.exitCode, 1);
    assert.match(run.main.log, /not a project made by the factory/);
    assert.equal(repo('mlabs/hand-made')?.archived ?? false, false);
  });
});
