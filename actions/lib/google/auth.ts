/**
 * The Google access token every cloud action uses. Sources, first found wins:
 * 1. CLOUDSDK_AUTH_ACCESS_TOKEN_FILE (gcloud's own variable; the sandbox sets it),
 * 2. GOOGLE_APPLICATION_CREDENTIALS (else CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE) pointing at the
 *    `external_account` file that wif-login writes: the job's OIDC token is fetched from
 *    credential_source (url + headers, or file), exchanged at token_url (STS), then exchanged
 *    again through service_account_impersonation_url (IAM Credentials) when the file has one.
 * The token is registered as a secret before it is returned, and cached until 5 minutes
 * before it expires.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ActionError, describeError } from '../errors.js';
import { requestJson } from '../http.js';
import { setSecret } from '../runner.js';
import { generateAccessToken, serviceAccountUrl } from './iamcredentials.js';
import { CLOUD_PLATFORM_SCOPE, JWT_TOKEN_TYPE, exchangeToken, stsTokenUrl } from './sts.js';

/** The `external_account` credentials file Google's client libraries and gcloud read. */
export interface ExternalAccountFile {
  type: 'external_account';
  audience: string;
  subject_token_type: string;
  token_url: string;
  service_account_impersonation_url?: string;
  service_account_impersonation?: { token_lifetime_seconds?: number };
  credential_source: {
    url?: string;
    file?: string;
    headers?: Record<string, string>;
    format?: { type: 'json' | 'text'; subject_token_field_name?: string };
  };
  universe_domain?: string;
}

export interface GoogleToken {
  accessToken: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  /** Who the token stands for: the impersonated service account, else 'federated'. */
  source: 'token-file' | 'external-account' | 'impersonated';
}

let cached: GoogleToken | undefined;
const REFRESH_MARGIN_MS = 5 * 60 * 1000;

const NO_CREDENTIALS_FIX =
  'Run the wif-login action earlier in the job (it exports GOOGLE_APPLICATION_CREDENTIALS), with `permissions: id-token: write`.';

/** Forget the cached token (tests, or after a step changed the credentials). */
export function resetAccessTokenCache(): void {
  cached = undefined;
}

export async function getAccessToken(): Promise<string> {
  return (await getGoogleToken()).accessToken;
}

/** Like getAccessToken(), with the expiry and where the token came from. */
export async function getGoogleToken(): Promise<GoogleToken> {
  if (cached && cached.expiresAt - REFRESH_MARGIN_MS > Date.now()) return cached;
  const tokenFile = process.env.CLOUDSDK_AUTH_ACCESS_TOKEN_FILE;
  if (tokenFile && existsSync(tokenFile)) {
    const token = readFileSync(tokenFile, 'utf8').trim();
    if (token) {
      setSecret(token);
      // A static token: gcloud does not refresh it either.
      cached = { accessToken: token, expiresAt: Number.MAX_SAFE_INTEGER, source: 'token-file' };
      return cached;
    }
  }
  const credFile = process.env.GOOGLE_APPLICATION_CREDENTIALS || process.env.CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE;
  if (credFile) {
    cached = await tokenFromCredentialsFile(credFile);
    return cached;
  }
  throw new ActionError('No Google credentials found for this step.', { fix: NO_CREDENTIALS_FIX });
}

export function readCredentialsFile(path: string): ExternalAccountFile {
  if (!existsSync(path)) {
    throw new ActionError(`The credentials file ${path} does not exist (it is deleted when the job that wrote it ends).`, { fix: NO_CREDENTIALS_FIX });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new ActionError(`The credentials file ${path} is not JSON.`, { fix: NO_CREDENTIALS_FIX });
  }
  const type = (parsed as { type?: unknown })?.type;
  if (type === 'service_account') {
    throw new ActionError(`The credentials file ${path} is a service account key; the suite does not use long-lived keys.`, {
      fix: 'Delete the key and its secret, and log in with the wif-login action (Workload Identity Federation) instead.',
    });
  }
  if (type !== 'external_account') {
    throw new ActionError(`The credentials file ${path} has type ${JSON.stringify(type)}; expected "external_account".`, { fix: NO_CREDENTIALS_FIX });
  }
  const f = parsed as ExternalAccountFile;
  if (!f.audience || !f.token_url || !f.credential_source || (!f.credential_source.url && !f.credential_source.file)) {
    throw new ActionError(`The credentials file ${path} lacks audience, token_url or credential_source.`, { fix: NO_CREDENTIALS_FIX });
  }
  return f;
}

/** The subject token a credential_source yields (the job's OIDC token for wif-login's files). */
export async function subjectToken(source: ExternalAccountFile['credential_source']): Promise<string> {
  const format = source.format ?? { type: 'text' as const };
  let raw: string;
  if (source.url) {
    const res = await requestJson<unknown>(source.url, { headers: source.headers ?? {} }).catch((err: unknown) => {
      throw new ActionError(`Could not fetch the OIDC token from the credentials file's credential_source: ${describeError(err)}`, {
        fix: 'The runner only serves OIDC tokens during the job that wrote the file, with `permissions: id-token: write`.',
        cause: err,
      });
    });
    raw = typeof res === 'string' ? res : JSON.stringify(res);
  } else {
    raw = readFileSync(source.file as string, 'utf8');
  }
  let token = raw.trim();
  if (format.type === 'json') {
    const obj = JSON.parse(raw) as Record<string, unknown>;
    token = String(obj[format.subject_token_field_name ?? 'value'] ?? '');
  }
  if (!token) throw new ActionError('The credentials file\'s credential_source yielded an empty token.', { fix: NO_CREDENTIALS_FIX });
  setSecret(token);
  return token;
}

/** STS exchange, then impersonation when the file names a service account. */
export async function tokenFromCredentialsFile(path: string): Promise<GoogleToken> {
  const f = readCredentialsFile(path);
  const federated = await exchangeToken({
    audience: f.audience,
    subjectToken: await subjectToken(f.credential_source),
    subjectTokenType: f.subject_token_type || JWT_TOKEN_TYPE,
    tokenUrl: f.token_url,
  });
  if (!f.service_account_impersonation_url) {
    return { accessToken: federated.accessToken, expiresAt: federated.expiresAt, source: 'external-account' };
  }
  const email = /serviceAccounts\/([^/:]+):generateAccessToken/.exec(f.service_account_impersonation_url)?.[1] ?? '';
  const sa = await generateAccessToken(federated.accessToken, decodeURIComponent(email), {
    scopes: [CLOUD_PLATFORM_SCOPE],
    lifetimeSeconds: f.service_account_impersonation?.token_lifetime_seconds ?? 3600,
    url: f.service_account_impersonation_url,
  });
  const expiresAt = Date.parse(sa.expireTime);
  return { accessToken: sa.accessToken, expiresAt: Number.isFinite(expiresAt) ? expiresAt : Date.now() + 3600_000, source: 'impersonated' };
}

export interface ExternalAccountOptions {
  /** STS audience: //iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/providers/V */
  audience: string;
  /** The runner's OIDC request URL with `audience=` already set. */
  oidcUrl: string;
  /** ACTIONS_ID_TOKEN_REQUEST_TOKEN. */
  oidcRequestToken: string;
  serviceAccount?: string;
  /** Lifetime of impersonated tokens, seconds. */
  lifetimeSeconds?: number;
}

/** The external_account JSON for a GitHub job (endpoints follow CLOUDSDK_API_ENDPOINT_OVERRIDES_*). */
export function externalAccount(opts: ExternalAccountOptions): ExternalAccountFile {
  return {
    type: 'external_account',
    audience: opts.audience,
    subject_token_type: JWT_TOKEN_TYPE,
    token_url: stsTokenUrl(),
    ...(opts.serviceAccount
      ? {
          service_account_impersonation_url: serviceAccountUrl(opts.serviceAccount, 'generateAccessToken'),
          ...(opts.lifetimeSeconds && opts.lifetimeSeconds !== 3600 ? { service_account_impersonation: { token_lifetime_seconds: opts.lifetimeSeconds } } : {}),
        }
      : {}),
    credential_source: {
      url: opts.oidcUrl,
      headers: { Authorization: `Bearer ${opts.oidcRequestToken}` },
      format: { type: 'json', subject_token_field_name: 'value' },
    },
  };
}

/** Write `content` as a new file with a random name in `dir`, readable by the owner only (0600). */
export async function writeCredentialsFile(dir: string, content: ExternalAccountFile): Promise<string> {
  const { randomBytes } = await import('node:crypto'); // only wif-login writes one: the others need not load crypto
  const path = join(dir, `gha-creds-${randomBytes(12).toString('hex')}.json`);
  writeFileSync(path, JSON.stringify(content, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  return path;
}
