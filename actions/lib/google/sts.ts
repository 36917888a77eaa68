/**
 * Security Token Service: RFC 8693 token exchange of a third-party OIDC token (the job's
 * GitHub token) for a federated Google access token. STS answers errors in the flat OAuth
 * shape; http.ts turns them into ApiError with `status` = the OAuth code (invalid_grant, ...).
 */
import { apiUrl } from '../endpoints.js';
import { requestJson, type RetryPolicy } from '../http.js';
import { setSecret } from '../runner.js';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

export interface ExchangeOptions {
  /** `//iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/providers/V`. */
  audience: string;
  subjectToken: string;
  subjectTokenType?: string;
  scopes?: string[];
  /** Where to POST; default the STS endpoint (CLOUDSDK_API_ENDPOINT_OVERRIDES_STS). */
  tokenUrl?: string;
  retry?: RetryPolicy;
}

export interface FederatedToken {
  accessToken: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  tokenType: string;
}

export function stsTokenUrl(): string {
  return apiUrl('sts', 'v1/token');
}

/** Exchange the subject token; the federated token is registered as a secret. */
export async function exchangeToken(opts: ExchangeOptions): Promise<FederatedToken> {
  const form = new URLSearchParams({
    grant_type: TOKEN_EXCHANGE_GRANT,
    audience: opts.audience,
    scope: (opts.scopes ?? [CLOUD_PLATFORM_SCOPE]).join(' '),
    requested_token_type: ACCESS_TOKEN_TYPE,
    subject_token: opts.subjectToken,
    subject_token_type: opts.subjectTokenType ?? JWT_TOKEN_TYPE,
  });
  const started = Date.now();
  const body = await requestJson<{ access_token?: string; expires_in?: number; token_type?: string }>(opts.tokenUrl ?? stsTokenUrl(), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
    retry: opts.retry,
    idempotent: true, // an exchange changes nothing: sending it twice gives two tokens
  });
  if (!body.access_token) throw new Error('STS answered without an access_token');
  setSecret(body.access_token);
  return { accessToken: body.access_token, expiresAt: started + (body.expires_in ?? 3600) * 1000, tokenType: body.token_type ?? 'Bearer' };
}

export interface ProviderName {
  projectNumber: string;
  poolId: string;
  providerId: string;
  /** projects/N/locations/global/workloadIdentityPools/P/providers/V */
  name: string;
}

const PROVIDER_RE = /^projects\/([^/]+)\/locations\/global\/workloadIdentityPools\/([^/]+)\/providers\/([^/]+)$/;
const POOL_RE = /^projects\/[^/]+\/locations\/global\/workloadIdentityPools\/[^/]+\/?$/;
const ID_RE = /^[a-z0-9-]{4,32}$/;

/**
 * Parse a Workload Identity provider's full resource name (a leading `//iam.googleapis.com/` or
 * `https://iam.googleapis.com/` is accepted). Returns a problem description instead when it is
 * not one, naming the usual mistakes: a pool name, a project ID where the number belongs.
 */
export function parseProviderName(raw: string): ProviderName | { problem: string } {
  const text = raw.trim().replace(/^(https:)?\/\/iam\.googleapis\.com\//, '');
  if (POOL_RE.test(text)) return { problem: 'this is a pool\'s name; the provider\'s full name ends in /providers/PROVIDER_ID' };
  const m = PROVIDER_RE.exec(text);
  if (!m) return { problem: 'expected projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/POOL_ID/providers/PROVIDER_ID' };
  const [, projectNumber, poolId, providerId] = m as unknown as [string, string, string, string];
  if (!/^\d+$/.test(projectNumber)) {
    return { problem: `"${projectNumber}" looks like a project ID; the provider's name uses the project NUMBER (gcloud projects describe ${projectNumber} --format='value(projectNumber)')` };
  }
  if (!ID_RE.test(poolId)) return { problem: `pool ID "${poolId}" must be 4 to 32 lowercase letters, digits or hyphens` };
  if (!ID_RE.test(providerId)) return { problem: `provider ID "${providerId}" must be 4 to 32 lowercase letters, digits or hyphens` };
  return { projectNumber, poolId, providerId, name: text };
}

/** The STS `audience` for a provider. */
export function stsAudience(provider: ProviderName): string {
  return `//iam.googleapis.com/${provider.name}`;
}

/** The OIDC audience a provider accepts by default. */
export function defaultOidcAudience(provider: ProviderName): string {
  return `https://iam.googleapis.com/${provider.name}`;
}
