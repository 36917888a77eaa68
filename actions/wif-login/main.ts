/**
 * wif-login: keyless Google Cloud login through Workload Identity Federation.
 * OIDC token from the runner -> STS exchange -> (service account impersonation) -> the requested
 * token, plus an external_account credentials file for later steps. Refusals are diagnosed.
 */
import { existsSync, rmSync } from 'node:fs';
import { runAction } from '../lib/entry.js';
import { ActionError, InputError } from '../lib/errors.js';
import { decodeClaims, getIdToken, hasOidc, oidcRequestConfig, oidcTokenUrl } from '../lib/github/oidc.js';
import { externalAccount, writeCredentialsFile } from '../lib/google/auth.js';
import { generateAccessToken, generateIdToken } from '../lib/google/iamcredentials.js';
import { defaultOidcAudience, exchangeToken, parseProviderName, stsAudience, type ProviderName } from '../lib/google/sts.js';
import { claimRows, diagnose, diagnosisError, missingIdTokenDiagnosis, type Diagnosis } from '../lib/google/wif-diagnosis.js';
import { readBool, readDuration, readList, readString } from '../lib/inputs.js';
import { exportVariable, getState, info, saveState, setOutput, warning } from '../lib/runner.js';
import { Summary } from '../lib/summary.js';
import { PROJECT_ID_ACCEPTED, PROJECT_ID_PATTERN } from '../lib/google/project.js';

const SA_RE = /^[a-z0-9][a-z0-9._-]{0,62}@[a-z0-9][a-z0-9.-]*\.gserviceaccount\.com$/;
const AUDIENCE = /^[\x21-\x7e]+$/;
const SCOPE_RE = /^(https:\/\/www\.googleapis\.com\/auth\/[a-z0-9._/-]+|openid|email|profile)$/;

function readInputs() {
  const rawProvider = readString('workload_identity_provider', {
    required: true,
    accepted: 'projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/POOL_ID/providers/PROVIDER_ID',
  });
  const parsed = parseProviderName(rawProvider);
  if ('problem' in parsed) throw new InputError('workload_identity_provider', rawProvider, `${parsed.problem}.`);
  const provider: ProviderName = parsed;
  const serviceAccount = readString('service_account', { pattern: SA_RE, accepted: 'a service account email such as NAME@PROJECT_ID.iam.gserviceaccount.com' });
  const audience = readString('audience', { pattern: AUDIENCE, accepted: 'an audience: visible ASCII characters, no spaces' }) || defaultOidcAudience(provider);
  const projectId =
    readString('project_id', { pattern: PROJECT_ID_PATTERN, accepted: PROJECT_ID_ACCEPTED }) ||
    (/@([a-z][a-z0-9-]{4,28}[a-z0-9])\.iam\.gserviceaccount\.com$/.exec(serviceAccount)?.[1] ?? '');
  const tokenFormat = readString('token_format', { pattern: /^(access_token|id_token)$/, accepted: 'empty, "access_token" or "id_token"' }) as '' | 'access_token' | 'id_token';
  const lifetime = readDuration('access_token_lifetime', { min: 1, max: 43200 });
  const scopes = readList('access_token_scopes', { item: SCOPE_RE, accepted: 'an OAuth scope such as https://www.googleapis.com/auth/cloud-platform' });
  const idTokenAudience = readString('id_token_audience', { pattern: AUDIENCE, accepted: 'an audience: visible ASCII characters, no spaces' });
  const includeEmail = readBool('id_token_include_email');
  if (tokenFormat === 'id_token' && !serviceAccount) {
    throw new InputError('service_account', '', 'required when token_format is id_token (ID tokens are issued for a service account).');
  }
  if (tokenFormat === 'id_token' && !idTokenAudience) {
    throw new InputError('id_token_audience', '', 'required when token_format is id_token (e.g. the URL of the Cloud Run service).');
  }
  return {
    provider,
    serviceAccount,
    audience,
    projectId,
    tokenFormat,
    lifetime,
    scopes,
    idTokenAudience,
    includeEmail,
    createFile: readBool('create_credentials_file'),
    exportEnv: readBool('export_environment_variables'),
    cleanup: readBool('cleanup_credentials'),
    diagnoseMode: readBool('diagnose'),
  };
}

type Row = [check: string, result: string, detail: string];

function writeDiagnosis(rows: Row[], claims: Record<string, unknown> | undefined, failure: Diagnosis | undefined): void {
  const s = new Summary().heading('wif-login diagnosis').table(['Check', 'Result', 'Detail'], rows);
  if (claims) s.heading('Claims the job presented', 3).table(['Claim', 'Value'], claimRows(claims));
  if (failure) s.paragraph(`**Cause:** ${failure.title} (\`${failure.cause}\`)\n\n**Fix:** ${failure.fix}`);
  s.write();
}

async function main(): Promise<void> {
  const inp = readInputs();
  if (inp.lifetime > 3600) warning(`access_token_lifetime ${inp.lifetime}s is over 1 hour: it needs the organization policy constraints/iam.allowServiceAccountCredentialLifetimeExtension.`);
  const rows: Row[] = [];
  const fail = (d: Diagnosis, cause?: unknown): never => {
    if (inp.diagnoseMode) writeDiagnosis(rows, ctx.claims, d);
    throw diagnosisError(d, cause);
  };
  const ctx: { provider: ProviderName; serviceAccount?: string; audience: string; claims?: Record<string, unknown> } = {
    provider: inp.provider,
    serviceAccount: inp.serviceAccount || undefined,
    audience: inp.audience,
  };

  if (!hasOidc()) {
    const d = missingIdTokenDiagnosis();
    rows.push(['OIDC token (id-token: write)', 'failed', d.title]);
    fail(d);
  }
  const oidc = oidcRequestConfig();
  if (inp.createFile && !process.env.RUNNER_TEMP) throw new ActionError('RUNNER_TEMP is not set, so there is nowhere safe to write the credentials file.', { fix: 'Run on a GitHub runner, or set create_credentials_file: false.' });

  // The file first, so that the post step removes it whatever happens next.
  let credentialsPath = '';
  if (inp.createFile) {
    credentialsPath = await writeCredentialsFile(
      process.env.RUNNER_TEMP as string,
      externalAccount({
        audience: stsAudience(inp.provider),
        oidcUrl: oidcTokenUrl(oidc, inp.audience),
        oidcRequestToken: oidc.token,
        serviceAccount: inp.serviceAccount || undefined,
        lifetimeSeconds: inp.lifetime,
      }),
    );
    if (inp.cleanup) saveState('credentials_file', credentialsPath);
  }

  const idToken = await getIdToken(inp.audience, { config: oidc });
  ctx.claims = decodeClaims(idToken);
  rows.push(['OIDC token (id-token: write)', 'ok', `requested for audience ${inp.audience}`]);
  rows.push(['Provider name', 'ok', inp.provider.name]);

  let federated;
  try {
    federated = await exchangeToken({ audience: stsAudience(inp.provider), subjectToken: idToken, scopes: inp.scopes });
  } catch (err) {
    const d = diagnose('sts', err, ctx);
    rows.push(['Token exchange (STS)', 'failed', `${d.title} [${d.cause}]`]);
    if (inp.serviceAccount) rows.push(['Impersonation (IAM Credentials)', 'not reached', 'needs a federated token']);
    fail(d, err);
    return;
  }
  rows.push(['Token exchange (STS)', 'ok', 'federated token issued']);

  let accessToken = inp.tokenFormat === 'access_token' && !inp.serviceAccount ? federated.accessToken : '';
  let expiration = accessToken ? new Date(federated.expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z') : '';
  let googleIdToken = '';
  if (inp.serviceAccount) {
    // Always impersonate once, so that a missing binding fails here with its diagnosis,
    // not in a later step.
    try {
      const sa = await generateAccessToken(federated.accessToken, inp.serviceAccount, { scopes: inp.scopes, lifetimeSeconds: inp.lifetime });
      if (inp.tokenFormat === 'access_token') {
        accessToken = sa.accessToken;
        expiration = sa.expireTime;
      }
      rows.push(['Impersonation (IAM Credentials)', 'ok', `access token for ${inp.serviceAccount}`]);
      if (inp.tokenFormat === 'id_token') {
        googleIdToken = await generateIdToken(federated.accessToken, inp.serviceAccount, { audience: inp.idTokenAudience, includeEmail: inp.includeEmail });
        rows.push(['ID token (IAM Credentials)', 'ok', `audience ${inp.idTokenAudience}`]);
      }
    } catch (err) {
      const d = diagnose('iamcredentials', err, ctx);
      rows.push(['Impersonation (IAM Credentials)', 'failed', `${d.title} [${d.cause}]`]);
      fail(d, err);
    }
  }

  setOutput('project_id', inp.projectId);
  setOutput('credentials_file_path', credentialsPath);
  setOutput('auth_token', federated.accessToken);
  setOutput('access_token', accessToken);
  setOutput('access_token_expiration', expiration);
  setOutput('id_token', googleIdToken);
  if (inp.exportEnv) {
    if (credentialsPath) {
      for (const name of ['GOOGLE_APPLICATION_CREDENTIALS', 'CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE', 'GOOGLE_GHA_CREDS_PATH']) exportVariable(name, credentialsPath);
    }
    if (inp.projectId) {
      for (const name of ['CLOUDSDK_CORE_PROJECT', 'CLOUDSDK_PROJECT', 'GCLOUD_PROJECT', 'GOOGLE_CLOUD_PROJECT']) exportVariable(name, inp.projectId);
    }
  }

  const identity = inp.serviceAccount || `federated (${String(ctx.claims?.sub ?? 'unknown subject')})`;
  info(`Logged in to Google Cloud as ${identity}${inp.projectId ? `, project ${inp.projectId}` : ''}.`);
  if (inp.diagnoseMode) writeDiagnosis(rows, ctx.claims, undefined);
  else {
    new Summary()
      .heading('Google Cloud login')
      .table(['', ''], [
        ['Provider', inp.provider.name],
        ['Identity', identity],
        ['Project', inp.projectId],
        ['Credentials file', credentialsPath ? 'written (deleted after the job)' : 'not written'],
        ['Token', inp.tokenFormat || 'none requested'],
        ['Expires', expiration],
      ])
      .write();
  }
}

async function post(): Promise<void> {
  const path = getState('credentials_file');
  if (!path) return;
  if (existsSync(path)) {
    rmSync(path, { force: true });
    info(`Removed the credentials file ${path}.`);
  } else info(`The credentials file ${path} was already gone.`);
}

await runAction({ main, post });
