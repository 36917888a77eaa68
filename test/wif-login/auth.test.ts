/**
 * What every later step relies on: getAccessToken() from the external_account file that
 * wif-login writes, and Google's own client library reading the same file.
 */
import { afterAll, beforeAll, test, vi } from 'vitest';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GoogleAuth } from 'google-auth-library';
import { runAction } from '../harness.js';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import { getGoogleToken, resetAccessTokenCache } from '../../actions/lib/google/auth.js';

const PROVIDER = 'projects/123456789012/locations/global/workloadIdentityPools/github/providers/github-actions';
const SA = 'mlabs-ci@mlabs-demo.iam.gserviceaccount.com';

let sb: Sandbox;
beforeAll(async () => {
  sb = await startSandbox();
});
afterAll(async () => {
  await sb.stop();
});

/** A step's environment for this test (vitest restores the process's own after it). */
function stepEnv(env: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
}

async function credentialsFile(inputs: Record<string, string>): Promise<string> {
  const run = await runAction('wif-login', { inputs: { workload_identity_provider: PROVIDER, ...inputs }, env: { ...sb.env, MLABS_RETRY_BASE_MS: '1' }, post: false });
  assert.equal(run.exitCode, 0, run.main.stdout);
  return run.outputs.credentials_file_path as string;
}

/** The environment of a later step: the sandbox endpoints, the exported file, no static token. */
function laterStep(file: string): void {
  stepEnv({ ...sb.env, GOOGLE_APPLICATION_CREDENTIALS: file, MLABS_RETRY_BASE_MS: '1', CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: undefined });
  resetAccessTokenCache();
}

test('getAccessToken() from an impersonating external_account file gives the service account token', async () => {
  const file = await credentialsFile({ service_account: SA });
  try {
    laterStep(file);
    const t = await getGoogleToken();
    assert.equal(t.source, 'impersonated');
    assert.equal(sb.ctx.tokens.verify(t.accessToken)?.subject, SA);
    assert.ok(t.expiresAt > Date.now() + 50 * 60_000);
    const again = await getGoogleToken();
    assert.equal(again.accessToken, t.accessToken, 'cached');
  } finally {
    rmSync(file, { force: true });
  }
});

test('getAccessToken() from a direct-federation file gives the federated token', async () => {
  const file = await credentialsFile({});
  try {
    laterStep(file);
    const t = await getGoogleToken();
    assert.equal(t.source, 'external-account');
    assert.equal(sb.ctx.tokens.verify(t.accessToken)?.kind, 'sts');
  } finally {
    rmSync(file, { force: true });
  }
});

test('CLOUDSDK_AUTH_ACCESS_TOKEN_FILE still wins', async () => {
  stepEnv({ ...sb.env, GOOGLE_APPLICATION_CREDENTIALS: '/nonexistent.json' });
  resetAccessTokenCache();
  const t = await getGoogleToken();
  assert.equal(t.source, 'token-file');
  assert.equal(t.accessToken, sb.ciToken, "the token file holds the CI account's token");
});

test('a service account key file is refused with the keyless fix; a missing file says why', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'key-'));
  const key = join(dir, 'key.json');
  writeFileSync(key, JSON.stringify({ type: 'service_account', private_key: 'x', client_email: SA }));
  laterStep(key);
  await assert.rejects(getGoogleToken(), /service account key; the suite does not use long-lived keys/);
  laterStep(join(dir, 'gone.json'));
  await assert.rejects(getGoogleToken(), /does not exist/);
  rmSync(dir, { recursive: true, force: true });
});

test("google-auth-library reads wif-login's file and gets the impersonated token (real client)", async () => {
  const file = await credentialsFile({ service_account: SA });
  try {
    const auth = new GoogleAuth({ keyFile: file, scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
    const client = await auth.getClient();
    const { token } = await client.getAccessToken();
    assert.equal(sb.ctx.tokens.verify(token ?? '')?.subject, SA);
  } finally {
    rmSync(file, { force: true });
  }
});
