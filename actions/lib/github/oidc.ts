/**
 * The job's GitHub OIDC token, as the runner hands it out: GET ACTIONS_ID_TOKEN_REQUEST_URL
 * with `&audience=...` and `Authorization: Bearer ACTIONS_ID_TOKEN_REQUEST_TOKEN`, answering
 * `{"value": "<JWT>"}`. The runner sets both variables only when the job has
 * `permissions: id-token: write` (and never for a pull request from a fork).
 */
import { ActionError } from '../errors.js';
import { requestJson, type RetryPolicy } from '../http.js';
import { setSecret } from '../runner.js';

export interface OidcRequestConfig {
  /** ACTIONS_ID_TOKEN_REQUEST_URL (already carries `?api-version=...`). */
  url: string;
  /** ACTIONS_ID_TOKEN_REQUEST_TOKEN: a runner credential, never to be printed. */
  token: string;
}

export const ID_TOKEN_PERMISSION_FIX =
  'Give the job `permissions: id-token: write` (and `contents: read`). A pull request from a fork never gets an OIDC token: run the login on push, workflow_dispatch or pull_request_target instead.';

/** The runner's OIDC request URL and token; throws the `id-token: write` fix when either is missing. */
export function oidcRequestConfig(env: NodeJS.ProcessEnv = process.env): OidcRequestConfig {
  const url = env.ACTIONS_ID_TOKEN_REQUEST_URL?.trim() ?? '';
  const token = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN?.trim() ?? '';
  if (!url || !token) {
    const missing = [!url && 'ACTIONS_ID_TOKEN_REQUEST_URL', !token && 'ACTIONS_ID_TOKEN_REQUEST_TOKEN'].filter(Boolean).join(' and ');
    throw new ActionError(`The runner did not provide a GitHub OIDC token to this job (${missing} not set).`, { fix: ID_TOKEN_PERMISSION_FIX });
  }
  setSecret(token);
  return { url, token };
}

/** Whether the job may request an OIDC token at all (no network). */
export function hasOidc(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.ACTIONS_ID_TOKEN_REQUEST_URL?.trim() && env.ACTIONS_ID_TOKEN_REQUEST_TOKEN?.trim());
}

/** The request URL for `audience` (what a credentials file's credential_source.url holds). */
export function oidcTokenUrl(config: OidcRequestConfig, audience?: string): string {
  if (!audience) return config.url;
  const u = new URL(config.url);
  u.searchParams.set('audience', audience);
  return u.toString();
}

/** Request the job's OIDC token (retried on 429 / 5xx / network errors); registered as a secret. */
export async function getIdToken(audience?: string, opts: { config?: OidcRequestConfig; retry?: RetryPolicy } = {}): Promise<string> {
  const config = opts.config ?? oidcRequestConfig();
  const body = await requestJson<{ value?: string }>(oidcTokenUrl(config, audience), {
    token: config.token,
    headers: { accept: 'application/json; api-version=2.0' },
    retry: opts.retry,
  });
  if (!body.value) throw new ActionError('The runner answered the OIDC token request without a token.', { fix: ID_TOKEN_PERMISSION_FIX });
  setSecret(body.value);
  return body.value;
}

/** The claims of a JWT, decoded without verifying it (for diagnosis only); undefined when malformed. */
export function decodeClaims(jwt: string): Record<string, unknown> | undefined {
  const part = jwt.split('.')[1];
  if (!part) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    return claims && typeof claims === 'object' ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
