/**
 * Why Workload Identity Federation refused a login, in the user's terms: the cause, what the
 * job presented (the OIDC token's claims, never the token), and the fix. Built from the answers
 * STS and IAM Credentials give (see docs/actions/wif-login.md for the table).
 */
import { ActionError, describeError } from '../errors.js';
import { ApiError } from '../http.js';
import { ID_TOKEN_PERMISSION_FIX } from '../github/oidc.js';
import type { ProviderName } from './sts.js';

export type Cause =
  | 'id-token-permission'
  | 'provider-name'
  | 'audience-mismatch'
  | 'attribute-condition'
  | 'provider-unavailable'
  | 'issuer-mismatch'
  | 'subject-too-long'
  | 'throttled'
  | 'missing-binding'
  | 'lifetime'
  | 'unknown';

export interface WifContext {
  provider: ProviderName;
  serviceAccount?: string;
  /** The audience the OIDC token was requested for. */
  audience: string;
  /** The OIDC token's claims, when it was obtained. */
  claims?: Record<string, unknown>;
}

export interface Diagnosis {
  cause: Cause;
  /** One line: what is wrong. */
  title: string;
  /** What Google answered and what the job presented. */
  detail: string;
  fix: string;
}

/** The claims a provider's condition and mapping usually look at, in that order. */
export const SHOWN_CLAIMS = ['repository', 'repository_owner', 'ref', 'workflow', 'job_workflow_ref', 'environment', 'actor', 'event_name', 'sub', 'aud', 'iss'];

export function claimRows(claims: Record<string, unknown> | undefined): [string, string][] {
  if (!claims) return [];
  return SHOWN_CLAIMS.map((k) => [k, claims[k] === undefined ? '(not set)' : Array.isArray(claims[k]) ? (claims[k] as unknown[]).join(', ') : String(claims[k])]);
}

function claimsText(claims: Record<string, unknown> | undefined, keys = SHOWN_CLAIMS): string {
  if (!claims) return 'The OIDC token was not obtained, so its claims are unknown.';
  return 'The job presented: ' + claimRows(claims).filter(([k]) => keys.includes(k)).map(([k, v]) => `${k}=${v}`).join(', ') + '.';
}

/** The principalSet that admits every workflow of the job's repository. */
export function repositoryPrincipalSet(provider: ProviderName, claims: Record<string, unknown> | undefined): string {
  const repo = typeof claims?.repository === 'string' ? claims.repository : process.env.GITHUB_REPOSITORY ?? 'OWNER/REPO';
  return `principalSet://iam.googleapis.com/projects/${provider.projectNumber}/locations/global/workloadIdentityPools/${provider.poolId}/attribute.repository/${repo}`;
}

const describeProvider = (p: ProviderName) =>
  `gcloud iam workload-identity-pools providers describe ${p.providerId} --workload-identity-pool=${p.poolId} --location=global --project=${p.projectNumber}`;

/** Diagnose a refusal by STS (`stage: 'sts'`) or IAM Credentials (`'iamcredentials'`). */
export function diagnose(stage: 'sts' | 'iamcredentials', err: unknown, ctx: WifContext): Diagnosis {
  const p = ctx.provider;
  if (!(err instanceof ApiError)) {
    return { cause: 'unknown', title: `The ${stage === 'sts' ? 'token exchange' : 'impersonation'} failed: ${describeError(err)}`, detail: '', fix: 'Re-run the job; if it persists, run with `diagnose: true`.' };
  }
  const said = `Google answered HTTP ${err.httpStatus} ${err.status}: ${err.message}`;
  if (stage === 'sts') {
    if (err.httpStatus === 429 || err.status === 'quota_exceeded') {
      return { cause: 'throttled', title: 'STS throttled the token exchange (retries exhausted).', detail: said, fix: 'Re-run the job in a minute; many parallel jobs logging in at once hit sts.googleapis.com/requests.' };
    }
    if (err.status === 'invalid_grant' && /audience/i.test(err.message)) {
      const aud = Array.isArray(ctx.claims?.aud) ? (ctx.claims.aud as unknown[]).join(', ') : String(ctx.claims?.aud ?? ctx.audience);
      return {
        cause: 'audience-mismatch',
        title: `The OIDC token's audience [${aud}] is not one the provider accepts.`,
        detail: said,
        fix: `Leave the \`audience\` input empty (it defaults to https://iam.googleapis.com/${p.name}), or add "${aud}" to the provider's allowed audiences: gcloud iam workload-identity-pools providers update-oidc ${p.providerId} --workload-identity-pool=${p.poolId} --location=global --project=${p.projectNumber} --allowed-audiences="${aud}".`,
      };
    }
    if (err.status === 'unauthorized_client') {
      return {
        cause: 'attribute-condition',
        title: "The provider's attribute condition rejects this job's claims.",
        detail: `${said} ${claimsText(ctx.claims, ['repository', 'repository_owner', 'ref', 'workflow', 'environment', 'actor', 'job_workflow_ref'])}`,
        fix: `Run from a repository, branch, workflow or environment the condition admits, or widen the condition (read it with: ${describeProvider(p)} --format='value(attributeCondition)').`,
      };
    }
    if (err.status === 'invalid_target') {
      return {
        cause: 'provider-unavailable',
        title: `The pool or provider ${p.name} is disabled, deleted or does not exist.`,
        detail: said,
        fix: `Check its state with: ${describeProvider(p)} --format='value(state)' (and the pool's with gcloud iam workload-identity-pools describe ${p.poolId} --location=global --project=${p.projectNumber}). Re-enable it with \`gcloud iam workload-identity-pools providers undelete\` / \`update-oidc --no-disabled\`, or correct the project number, pool or provider ID in \`workload_identity_provider\`.`,
      };
    }
    if (err.status === 'invalid_grant' && /issuer/i.test(err.message)) {
      return {
        cause: 'issuer-mismatch',
        title: "The provider does not trust GitHub's OIDC issuer.",
        detail: `${said} ${claimsText(ctx.claims, ['iss'])}`,
        fix: `Set the provider's issuer to https://token.actions.githubusercontent.com (for GitHub Enterprise Server, the issuer of your instance): gcloud iam workload-identity-pools providers update-oidc ${p.providerId} --workload-identity-pool=${p.poolId} --location=global --project=${p.projectNumber} --issuer-uri=https://token.actions.githubusercontent.com.`,
      };
    }
    if (err.status === 'invalid_request' && /google\.subject/i.test(err.message)) {
      return {
        cause: 'subject-too-long',
        title: 'The mapped google.subject is longer than 127 bytes.',
        detail: `${said} ${claimsText(ctx.claims, ['sub', 'repository', 'environment', 'job_workflow_ref'])}`,
        fix: "Map google.subject to something shorter, e.g. `assertion.sub` instead of a concatenation, or `assertion.repository_id + ':' + assertion.ref`.",
      };
    }
    if (err.status === 'invalid_request' && /audience/i.test(err.message)) {
      return {
        cause: 'provider-name',
        title: 'STS did not accept the provider name as an audience.',
        detail: said,
        fix: 'Give `workload_identity_provider` as projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/POOL_ID/providers/PROVIDER_ID (the provider, not the pool).',
      };
    }
    return { cause: 'unknown', title: 'STS refused the token exchange.', detail: `${said} ${claimsText(ctx.claims)}`, fix: `Compare the provider's configuration (${describeProvider(p)}) with the claims above.` };
  }

  const sa = ctx.serviceAccount ?? 'the service account';
  if (err.httpStatus === 403) {
    const member = repositoryPrincipalSet(p, ctx.claims);
    return {
      cause: 'missing-binding',
      title: `The federated identity may not impersonate ${sa} (or the account does not exist).`,
      detail: `${said} ${claimsText(ctx.claims, ['repository', 'ref', 'sub'])} It needs roles/iam.workloadIdentityUser on the account for ${member}.`,
      fix: `gcloud iam service-accounts add-iam-policy-binding ${sa} --role=roles/iam.workloadIdentityUser --member="${member}" (the provider must map attribute.repository = assertion.repository). If that binding already exists, check the account's email: Google gives the same answer for an account that does not exist. IAM changes take up to 5 minutes to apply, so a binding added just now may still be refused: re-run in a few minutes.`,
    };
  }
  if (err.httpStatus === 400 && /lifetime/i.test(err.message)) {
    return {
      cause: 'lifetime',
      title: `The requested token lifetime is not allowed for ${sa}.`,
      detail: said,
      fix: 'Set `access_token_lifetime` to 3600s or less, or allow longer lifetimes for this account with the organization policy constraints/iam.allowServiceAccountCredentialLifetimeExtension (up to 12h).',
    };
  }
  if (err.httpStatus === 429 || err.httpStatus >= 500) {
    return { cause: 'throttled', title: 'IAM Credentials kept failing (retries exhausted).', detail: said, fix: 'Re-run the job in a minute.' };
  }
  return { cause: 'unknown', title: `IAM Credentials refused to issue a token for ${sa}.`, detail: said, fix: 'Check the service account email and the request (scopes, audience).' };
}

/** The diagnosis for a job without an OIDC token. */
export function missingIdTokenDiagnosis(): Diagnosis {
  return {
    cause: 'id-token-permission',
    title: 'The job has no GitHub OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL / _TOKEN are not set).',
    detail: 'The runner provides them only to jobs with `permissions: id-token: write`, and never to pull requests from forks.',
    fix: ID_TOKEN_PERMISSION_FIX,
  };
}

/** The error a refusal becomes: title and detail as the message, the fix as its fix. */
export function diagnosisError(d: Diagnosis, cause?: unknown): ActionError {
  return new ActionError(`${d.title} [${d.cause}]${d.detail ? `\n${d.detail}` : ''}`, { fix: d.fix, cause });
}
