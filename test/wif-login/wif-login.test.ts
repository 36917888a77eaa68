/**
 * wif-login through its bundle against the sandbox: GitHub OIDC -> STS -> IAM Credentials,
 * the credentials file read by real clients, every diagnosis, secrets and the post step.
 */
import { afterAll, beforeAll, describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAction, runProgram, type ActionRun } from '../harness.js';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import type { GithubOidcService } from '../../scripts/sandbox/apis/github-oidc.js';
import type { IamCredentialsService } from '../../scripts/sandbox/apis/iamcredentials.js';
import type { WorkloadIdentitySeed } from '../../scripts/sandbox/apis/_wif.js';

const PROVIDER = 'projects/123456789012/locations/global/workloadIdentityPools/github/providers/github-actions';
const SA = 'mlabs-ci@mlabs-demo.iam.gserviceaccount.com';
const UNBOUND_SA = 'mlabs-nodes@mlabs-demo.iam.gserviceaccount.com';

let sb: Sandbox;
let env: Record<string, string>;

beforeAll(async () => {
  sb = await startSandbox();
  env = { ...sb.env, MLABS_RETRY_BASE_MS: '1' };
});
afterAll(async () => {
  await sb.stop();
});

const login = (inputs: Record<string, string>, opts: { env?: Record<string, string | undefined>; post?: boolean } = {}) =>
  runAction('wif-login', { inputs: { workload_identity_provider: PROVIDER, ...inputs }, env: opts.env ?? env, post: opts.post });

function errorOf(run: ActionRun): string {
  return run.main.annotations.find((a) => a.level === 'error')?.message ?? '';
}

const JWT_RE = /eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}/;

/** No JWT (the job's OIDC token above all) appears in clear anywhere a user can read. */
function assertNoJwtInClear(run: ActionRun, allowedOutputs: string[] = []): void {
  for (const step of [run.main, run.post]) {
    if (!step) continue;
    const visible = step.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n');
    assert.doesNotMatch(visible, JWT_RE, 'a JWT in the log');
    assert.doesNotMatch(step.stderr, JWT_RE, 'a JWT in stderr');
    assert.doesNotMatch(step.summary, JWT_RE, 'a JWT in the summary');
    for (const [k, v] of Object.entries(step.outputs)) if (!allowedOutputs.includes(k)) assert.doesNotMatch(v, JWT_RE, `a JWT in output ${k}`);
  }
}

function assertNoLeaks(run: ActionRun): void {
  const secrets: [string, string[]][] = [
    [run.outputs.auth_token ?? '', ['auth_token', 'access_token']],
    [run.outputs.access_token ?? '', ['access_token', 'auth_token']],
    [run.outputs.id_token ?? '', ['id_token']],
    [env.ACTIONS_ID_TOKEN_REQUEST_TOKEN as string, []],
  ];
  for (const [secret, allowed] of secrets) {
    if (!secret) continue;
    assert.deepEqual(run.leaks(secret, allowed), [], `leak of ${secret.slice(0, 12)}...`);
    assert.ok(run.main.masks.includes(secret), `${secret.slice(0, 12)}... is masked`);
  }
  assertNoJwtInClear(run, ['id_token']);
}

function gcloud(args: string[], extraEnv: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return runProgram('gcloud', args, { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...extraEnv });
}

const provider = () => ((sb.state.workloadIdentity as WorkloadIdentitySeed).pools[0]?.providers[0]) as NonNullable<WorkloadIdentitySeed['pools'][0]['providers'][0]>;
const github = () => sb.ctx.services.get('github-oidc') as GithubOidcService;

test('impersonation: access token of the service account, credentials file, exported variables; post deletes the file', async () => {
  const run = await login({ service_account: SA, token_format: 'access_token', access_token_lifetime: '20m' });
  assert.equal(run.exitCode, 0, run.main.stdout + run.main.stderr);
  const token = sb.ctx.tokens.verify(run.outputs.access_token);
  assert.equal(token?.kind, 'iamcredentials');
  assert.equal(token?.subject, SA);
  assert.equal(sb.ctx.tokens.verify(run.outputs.auth_token)?.kind, 'sts');
  assert.match(run.outputs.access_token_expiration ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const ttl = Date.parse(run.outputs.access_token_expiration as string) - Date.now();
  assert.ok(ttl > 18 * 60_000 && ttl <= 20 * 60_000 + 1000, `lifetime honoured (${ttl} ms)`);
  assert.equal(run.outputs.project_id, 'mlabs-demo');
  const file = run.outputs.credentials_file_path as string;
  assert.ok(file.startsWith(run.runnerTemp + '/'), 'under RUNNER_TEMP');
  assert.ok(!file.startsWith(run.workspace));
  assert.match(file, /gha-creds-[0-9a-f]{24}\.json$/);
  for (const v of ['GOOGLE_APPLICATION_CREDENTIALS', 'CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE', 'GOOGLE_GHA_CREDS_PATH']) assert.equal(run.exportedEnv[v], file, v);
  for (const v of ['CLOUDSDK_CORE_PROJECT', 'CLOUDSDK_PROJECT', 'GCLOUD_PROJECT', 'GOOGLE_CLOUD_PROJECT']) assert.equal(run.exportedEnv[v], 'mlabs-demo', v);
  assert.equal(run.post?.exitCode, 0);
  assert.equal(existsSync(file), false, 'post removed the credentials file');
  assert.match(run.summary, /Google Cloud login/);
  assert.ok(run.summary.includes(SA));
  assert.deepEqual(
    sb.requests.slice(-3).map((r) => `${r.api}/${r.rpc} ${r.status}`),
    ['github-oidc/idtoken 200', 'sts/token 200', 'iamcredentials/GenerateAccessToken 200'],
  );
  assertNoLeaks(run);
});

test('the credentials file: external_account, mode 0600, credential source = the runner OIDC endpoint', async () => {
  const run = await login({ service_account: SA }, { post: false });
  assert.equal(run.exitCode, 0, run.main.stdout);
  const file = run.outputs.credentials_file_path as string;
  try {
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const cred = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(cred.type, 'external_account');
    assert.equal(cred.audience, `//iam.googleapis.com/${PROVIDER}`);
    assert.equal(cred.subject_token_type, 'urn:ietf:params:oauth:token-type:jwt');
    assert.equal(cred.token_url, `${sb.url}/sts/v1/token`);
    assert.equal(cred.service_account_impersonation_url, `${sb.url}/iamcredentials/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`);
    assert.ok(cred.credential_source.url.startsWith(env.ACTIONS_ID_TOKEN_REQUEST_URL));
    assert.equal(new URL(cred.credential_source.url).searchParams.get('audience'), `https://iam.googleapis.com/${PROVIDER}`);
    assert.deepEqual(cred.credential_source.format, { type: 'json', subject_token_field_name: 'value' });
    assert.equal(run.outputs.access_token, '', 'no access token without token_format');
  } finally {
    rmSync(file, { force: true });
  }
});

test('gcloud logs in with the credentials file and prints the impersonated token (real client)', async () => {
  const run = await login({ service_account: SA }, { post: false });
  assert.equal(run.exitCode, 0, run.main.stdout);
  const file = run.outputs.credentials_file_path as string;
  const config = mkdtempSync(join(tmpdir(), 'gcloud-config-'));
  const genv: Record<string, string> = { CLOUDSDK_CONFIG: config };
  for (const [k, v] of Object.entries(sb.env)) if (k.startsWith('CLOUDSDK_') && k !== 'CLOUDSDK_AUTH_ACCESS_TOKEN_FILE') genv[k] = v;
  try {
    const loginRes = await gcloud(['auth', 'login', `--cred-file=${file}`, '--quiet'], genv);
    assert.equal(loginRes.code, 0, loginRes.stderr);
    const printed = await gcloud(['auth', 'print-access-token'], genv);
    assert.equal(printed.code, 0, printed.stderr);
    const info = sb.ctx.tokens.verify(printed.stdout.trim());
    assert.equal(info?.kind, 'iamcredentials', 'gcloud went through STS and IAM Credentials of the sandbox');
    assert.equal(info?.subject, SA);
  } finally {
    rmSync(file, { force: true });
    rmSync(config, { recursive: true, force: true });
  }
});

test('direct federation: no service account, the federated token is the access token', async () => {
  const run = await login({ token_format: 'access_token', project_id: 'mlabs-demo' });
  assert.equal(run.exitCode, 0, run.main.stdout);
  assert.equal(run.outputs.access_token, run.outputs.auth_token);
  const info = sb.ctx.tokens.verify(run.outputs.auth_token);
  assert.equal(info?.kind, 'sts');
  assert.equal(info?.subject, 'principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/github/subject/repo:mlabs/platform:ref:refs/heads/main');
  const cred = run.outputs.credentials_file_path as string;
  assert.equal(existsSync(cred), false, 'post removed the file');
  assert.equal(run.exportedEnv.GOOGLE_CLOUD_PROJECT, 'mlabs-demo');
  assert.equal(sb.requests.at(-1)?.api, 'sts', 'no IAM Credentials call without a service account');
  assertNoLeaks(run);
});

test('id_token: a Google-signed ID token for the service account with the requested audience', async () => {
  const run = await login({ service_account: SA, token_format: 'id_token', id_token_audience: 'https://runner-api.example.com', id_token_include_email: 'true' });
  assert.equal(run.exitCode, 0, run.main.stdout);
  const [h, p, s] = (run.outputs.id_token as string).split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
  assert.equal(claims.aud, 'https://runner-api.example.com');
  assert.equal(claims.email, SA);
  assert.equal(claims.iss, 'https://accounts.google.com');
  const jwk = (sb.ctx.services.get('iamcredentials') as IamCredentialsService).jwks().keys[0] as object;
  assert.ok(verify('sha256', Buffer.from(`${h}.${p}`), createPublicKey({ key: jwk as never, format: 'jwk' }), Buffer.from(s, 'base64url')));
  assertNoLeaks(run);
});

test('create_credentials_file / export_environment_variables false: no file, nothing exported', async () => {
  const run = await login({ service_account: SA, create_credentials_file: 'false', export_environment_variables: 'false', token_format: 'access_token' });
  assert.equal(run.exitCode, 0, run.main.stdout);
  assert.equal(run.outputs.credentials_file_path, '');
  assert.deepEqual(run.exportedEnv, {});
  assert.ok(run.outputs.access_token);
});

test('diagnosis: audience mismatch names the audience and the fix', async () => {
  const run = await login({ service_account: SA, audience: 'https://example.com/not-the-provider' });
  assert.equal(run.exitCode, 1);
  const err = errorOf(run);
  assert.match(err, /audience \[https:\/\/example\.com\/not-the-provider\] is not one the provider accepts\. \[audience-mismatch\]/);
  assert.match(err, /Fix: Leave the `audience` input empty/);
  assert.match(err, /--allowed-audiences="https:\/\/example\.com\/not-the-provider"/);
  assertNoLeaks(run);
});

test('diagnosis: the attribute condition rejects the claims, which are shown; post still removes the file', async () => {
  github().setClaims({ repository: 'someone/fork', repository_owner: 'someone', workflow: 'pwn', actor: 'mallory' });
  try {
    const run = await login({ service_account: SA });
    assert.equal(run.exitCode, 1);
    const err = errorOf(run);
    assert.match(err, /attribute condition rejects this job's claims\. \[attribute-condition\]/);
    assert.match(err, /repository=someone\/fork/);
    assert.match(err, /ref=refs\/heads\/main/);
    assert.match(err, /workflow=pwn/);
    assert.match(err, /actor=mallory/);
    assert.match(err, /environment=\(not set\)/);
    assert.match(err, /Fix: Run from a repository, branch, workflow or environment the condition admits/);
    const file = run.main.state.credentials_file as string;
    assert.ok(file, 'the file was written before the refusal');
    assert.equal(run.post?.exitCode, 0);
    assert.equal(existsSync(file), false, 'post removed the file after the failing main step');
    assertNoLeaks(run);
  } finally {
    github().setClaims({ repository: 'mlabs/platform', repository_owner: 'mlabs', workflow: 'test', actor: 'octocat' });
  }
});

test('diagnosis: missing roles/iam.workloadIdentityUser shows the principalSet to grant and the propagation delay', async () => {
  const run = await login({ service_account: UNBOUND_SA, token_format: 'access_token' });
  assert.equal(run.exitCode, 1);
  const err = errorOf(run);
  assert.match(err, /may not impersonate mlabs-nodes@mlabs-demo\.iam\.gserviceaccount\.com .*\[missing-binding\]/);
  assert.match(err, /Permission 'iam\.serviceAccounts\.getAccessToken' denied/);
  assert.ok(err.includes('principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/github/attribute.repository/mlabs/platform'));
  assert.match(err, /--role=roles\/iam\.workloadIdentityUser/);
  assert.match(err, /up to 5 minutes/);
  assert.equal(sb.requests.filter((r) => r.rpc === 'GenerateAccessToken').at(-1)?.status, 403);
  assertNoLeaks(run);
});

for (const [what, mutate] of [
  ['provider disabled', () => (provider().state = 'DISABLED')],
  ['pool deleted', () => ((sb.state.workloadIdentity as WorkloadIdentitySeed).pools[0]!.state = 'DELETED')],
] as const) {
  test(`diagnosis: ${what} -> invalid_target, with the commands to check and restore it`, async () => {
    mutate();
    try {
      const run = await login({ service_account: SA });
      assert.equal(run.exitCode, 1);
      const err = errorOf(run);
      assert.match(err, /is disabled, deleted or does not exist\. \[provider-unavailable\]/);
      assert.match(err, /invalid_target/);
      assert.match(err, /gcloud iam workload-identity-pools providers describe github-actions --workload-identity-pool=github/);
    } finally {
      provider().state = 'ACTIVE';
      (sb.state.workloadIdentity as WorkloadIdentitySeed).pools[0]!.state = 'ACTIVE';
    }
  });
}

test('diagnosis: lifetime over 1 hour without the org policy', async () => {
  const run = await login({ service_account: SA, token_format: 'access_token', access_token_lifetime: '2h' });
  assert.equal(run.exitCode, 1);
  const err = errorOf(run);
  assert.match(err, /lifetime is not allowed .*\[lifetime\]/);
  assert.match(err, /can not have lifetimes of more than 1 hour/);
  assert.match(err, /constraints\/iam\.allowServiceAccountCredentialLifetimeExtension/);
});

test('missing id-token: write: refused with the fix before any request', async () => {
  const before = sb.requests.length;
  const run = await login({ service_account: SA }, { env: { ...env, ACTIONS_ID_TOKEN_REQUEST_URL: undefined, ACTIONS_ID_TOKEN_REQUEST_TOKEN: undefined } });
  assert.equal(run.exitCode, 1);
  const err = errorOf(run);
  assert.match(err, /no GitHub OIDC token .*\[id-token-permission\]/);
  assert.match(err, /Fix: Give the job `permissions: id-token: write`/);
  assert.equal(sb.requests.length, before, 'no request was made');
  assert.equal(run.main.state.credentials_file, undefined, 'no file was written');
});

for (const [input, value, expected] of [
  ['workload_identity_provider', 'projects/123456789012/locations/global/workloadIdentityPools/github', /this is a pool's name/],
  ['workload_identity_provider', 'projects/mlabs-demo/locations/global/workloadIdentityPools/github/providers/github-actions', /looks like a project ID; the provider's name uses the project NUMBER/],
  ['workload_identity_provider', 'github-actions', /expected projects\/PROJECT_NUMBER\/locations\/global/],
  ['access_token_lifetime', '0s', /Input "access_token_lifetime" is "0s": expected a duration/],
  ['access_token_lifetime', '13h', /from 1 to 43200/],
  ['access_token_lifetime', 'soon', /Input "access_token_lifetime" is "soon"/],
  ['service_account', 'not-an-email', /Input "service_account" is "not-an-email"/],
  ['token_format', 'json', /Input "token_format" is "json"/],
] as const) {
  test(`refused before any request: ${input} = ${value}`, async () => {
    const before = sb.requests.length;
    const run = await login({ service_account: SA, [input]: value });
    assert.equal(run.exitCode, 1);
    assert.match(errorOf(run), expected);
    assert.equal(sb.requests.length, before, 'no request was made');
  });
}

test('token_format id_token without a service account or audience is refused before any request', async () => {
  const before = sb.requests.length;
  const a = await login({ token_format: 'id_token', id_token_audience: 'x' });
  assert.match(errorOf(a), /Input "service_account" is empty: required when token_format is id_token/);
  const b = await login({ service_account: SA, token_format: 'id_token' });
  assert.match(errorOf(b), /Input "id_token_audience" is empty/);
  assert.equal(sb.requests.length, before);
});

test('STS 429 is retried, then the login succeeds', async () => {
  sb.faults.add({ kind: 'error', match: { api: 'sts' }, status: 429, count: 2 });
  const before = sb.requests.length;
  const run = await login({ service_account: SA, token_format: 'access_token' });
  assert.equal(run.exitCode, 0, run.main.stdout);
  const sts = sb.requests.slice(before).filter((r) => r.api === 'sts').map((r) => r.status);
  assert.deepEqual(sts, [429, 429, 200]);
});

test('STS throttling that persists ends in the throttled diagnosis; 400s are not retried', async () => {
  const rule = sb.faults.add({ kind: 'error', match: { api: 'sts' }, status: 429 });
  try {
    const run = await login({ service_account: SA });
    assert.equal(run.exitCode, 1);
    assert.match(errorOf(run), /\[throttled\]/);
    assert.match(errorOf(run), /quota_exceeded/);
  } finally {
    sb.faults.remove(rule);
  }
  const before = sb.requests.length;
  await login({ service_account: SA, audience: 'https://example.com/x' });
  assert.deepEqual(sb.requests.slice(before).filter((r) => r.api === 'sts').map((r) => r.status), [400]);
});

test('diagnose: true writes every check and the claims to the summary, and still fails on a refusal', async () => {
  github().setClaims({ environment: 'production' });
  try {
    const ok = await login({ service_account: SA, diagnose: 'true' });
    assert.equal(ok.exitCode, 0, ok.main.stdout);
    assert.match(ok.summary, /wif-login diagnosis/);
    assert.match(ok.summary, /\| Token exchange \(STS\) \| ok \|/);
    assert.match(ok.summary, /\| Impersonation \(IAM Credentials\) \| ok \|/);
    assert.match(ok.summary, /\| environment \| production \|/);
    assert.match(ok.summary, /\| sub \| repo:mlabs\/platform:environment:production \|/);

    const bad = await login({ service_account: UNBOUND_SA, diagnose: 'true' });
    assert.equal(bad.exitCode, 1);
    assert.match(bad.summary, /\| Token exchange \(STS\) \| ok \|/);
    assert.match(bad.summary, /\| Impersonation \(IAM Credentials\) \| failed \|/);
    assert.match(bad.summary, /\*\*Cause:\*\*.*missing-binding/);
    assert.match(bad.summary, /\| repository \| mlabs\/platform \|/);
    assertNoLeaks(bad);

    const before = sb.requests.length;
    const none = await login({ service_account: SA, diagnose: 'true' }, { env: { ...env, ACTIONS_ID_TOKEN_REQUEST_TOKEN: undefined } });
    assert.equal(none.exitCode, 1);
    assert.match(none.summary, /\| OIDC token \(id-token: write\) \| failed \|/);
    assert.equal(sb.requests.length, before);
  } finally {
    github().setClaims({ environment: undefined });
  }
});

describe('the CI account\'s roles/iam.workloadIdentityUser binding removed from terraform/bootstrap', () => {
  // Who may impersonate the CI account is the Terraform's `ci_wif` binding, not a seed: without it
  // the exchange still succeeds (STS), and IAM Credentials refuses naming the permission.
  let other: Sandbox;
  let checkout: string;
  beforeAll(async () => {
    checkout = mkdtempSync(join(tmpdir(), 'wif-checkout-'));
    cpSync(join(dirname(fileURLToPath(import.meta.url)), '../../terraform'), join(checkout, 'terraform'), { recursive: true });
    const file = join(checkout, 'terraform/bootstrap/main.tf');
    const text = readFileSync(file, 'utf8');
    const without = text.replace(/resource "google_service_account_iam_member" "ci_wif" \{[\s\S]*?\n\}\n/, '');
    assert.notEqual(without, text);
    writeFileSync(file, without);
    other = await startSandbox({ checkout });
  });
  afterAll(async () => {
    await other?.stop();
    if (checkout) rmSync(checkout, { recursive: true, force: true });
  });

  test('wif-login fails naming iam.serviceAccounts.getAccessToken and the role to grant; the bound sandbox (the real Terraform) logs in', async () => {
    const run = await runAction('wif-login', { inputs: { workload_identity_provider: PROVIDER, service_account: SA, token_format: 'access_token' }, env: { ...other.env, MLABS_RETRY_BASE_MS: '1' }, post: false });
    assert.equal(run.exitCode, 1);
    const err = errorOf(run);
    assert.match(err, /Permission 'iam\.serviceAccounts\.getAccessToken' denied/);
    assert.match(err, /--role=roles\/iam\.workloadIdentityUser/);
    assert.equal(other.requests.filter((r) => r.rpc === 'GenerateAccessToken').at(-1)?.status, 403);
    const policy = await fetch(`${other.url}/iam/v1/projects/mlabs-demo/serviceAccounts/${SA}:getIamPolicy`, { method: 'POST', headers: { authorization: `Bearer ${other.accessToken}` } });
    assert.deepEqual(((await policy.json()) as { bindings?: unknown[] }).bindings ?? [], [], 'the account\'s policy is the Terraform\'s: empty');

    const bound = await fetch(`${sb.url}/iam/v1/projects/mlabs-demo/serviceAccounts/${SA}:getIamPolicy`, { method: 'POST', headers: { authorization: `Bearer ${sb.accessToken}` } });
    assert.deepEqual(((await bound.json()) as { bindings?: unknown[] }).bindings, [
      { role: 'roles/iam.workloadIdentityUser', members: ['principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/github/attribute.repository/mlabs/platform'] },
    ]);
  });
});
