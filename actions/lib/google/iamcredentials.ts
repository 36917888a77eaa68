/**
 * IAM Credentials: short-lived tokens of a service account, for a caller holding
 * roles/iam.workloadIdentityUser (federated principals) or serviceAccountTokenCreator on it.
 */
import { apiUrl } from '../endpoints.js';
import { requestJson, type RetryPolicy } from '../http.js';
import { setSecret } from '../runner.js';

export function serviceAccountUrl(email: string, verb: 'generateAccessToken' | 'generateIdToken'): string {
  return apiUrl('iamcredentials', `v1/projects/-/serviceAccounts/${email}:${verb}`);
}

export interface AccessToken {
  accessToken: string;
  /** RFC 3339, as Google returns it. */
  expireTime: string;
}

export async function generateAccessToken(
  callerToken: string,
  email: string,
  opts: { scopes: string[]; lifetimeSeconds?: number; delegates?: string[]; url?: string; retry?: RetryPolicy },
): Promise<AccessToken> {
  const body = await requestJson<{ accessToken?: string; expireTime?: string }>(opts.url ?? serviceAccountUrl(email, 'generateAccessToken'), {
    method: 'POST',
    token: callerToken,
    body: {
      scope: opts.scopes,
      lifetime: `${opts.lifetimeSeconds ?? 3600}s`,
      ...(opts.delegates?.length ? { delegates: opts.delegates.map((d) => `projects/-/serviceAccounts/${d}`) } : {}),
    },
    retry: opts.retry,
    idempotent: true, // minting a token changes nothing
  });
  if (!body.accessToken) throw new Error('IAM Credentials answered without an accessToken');
  setSecret(body.accessToken);
  return { accessToken: body.accessToken, expireTime: body.expireTime ?? '' };
}

export async function generateIdToken(
  callerToken: string,
  email: string,
  opts: { audience: string; includeEmail?: boolean; delegates?: string[]; retry?: RetryPolicy },
): Promise<string> {
  const body = await requestJson<{ token?: string }>(serviceAccountUrl(email, 'generateIdToken'), {
    method: 'POST',
    token: callerToken,
    body: {
      audience: opts.audience,
      includeEmail: opts.includeEmail ?? false,
      ...(opts.delegates?.length ? { delegates: opts.delegates.map((d) => `projects/-/serviceAccounts/${d}`) } : {}),
    },
    retry: opts.retry,
    idempotent: true, // minting a token changes nothing
  });
  if (!body.token) throw new Error('IAM Credentials answered without a token');
  setSecret(body.token);
  return body.token;
}
