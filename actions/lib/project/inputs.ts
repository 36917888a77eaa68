/** The inputs project-create and project-archive share, read and checked before any request. */
import { InputError } from '../errors.js';
import { readEnum, readList, readSecret, readString } from '../inputs.js';
import type { Grant, Permission } from './github.js';
import { REPOSITORY_PATTERN, parseProviderName } from './trust.js';

export const REPO_ACCEPTED = 'owner/name as GitHub spells it (a name of letters, digits, ".", "-" or "_")';
const GRANT = /^(team|user):([A-Za-z0-9][A-Za-z0-9_.-]{0,99})=(pull|triage|push|maintain|admin)$/;

export function readRepository(name: string, required: boolean): string {
  const value = readString(name, { pattern: REPOSITORY_PATTERN, accepted: REPO_ACCEPTED, required });
  if (value && /^\.|\.git$/i.test(value.split('/')[1] ?? '')) throw new InputError(name, value, 'a repository name may not start with "." or end in ".git".');
  return value;
}

export function readGrants(name: string): Grant[] {
  return readList(name, { item: GRANT, accepted: 'team:SLUG=PERMISSION or user:LOGIN=PERMISSION, PERMISSION one of pull, triage, push, maintain, admin' }).map((item) => {
    const m = GRANT.exec(item) as RegExpExecArray;
    return { kind: m[1] as 'team' | 'user', name: m[2] as string, permission: m[3] as Permission };
  });
}

export interface TrustInputs {
  trust: 'pull-request' | 'iam' | 'none';
  provider: string;
  serviceAccount: string;
}

export function readTrust(): TrustInputs {
  const trust = readEnum('trust', ['pull-request', 'iam', 'none'] as const);
  const provider = readString('workload_identity_provider');
  if (provider && !parseProviderName(provider)) {
    throw new InputError('workload_identity_provider', provider, 'expected projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER.');
  }
  const serviceAccount = readString('service_account', { pattern: /^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z0-9-]+\.iam\.gserviceaccount\.com$/, accepted: 'a service account e-mail, NAME@PROJECT.iam.gserviceaccount.com' });
  return { trust, provider, serviceAccount };
}

export function readToken(): string {
  return readSecret('github_token', {
    required: true,
    header: true,
    requiredBecause: 'to create and configure repositories (the workflow GITHUB_TOKEN cannot create repositories: use a GitHub App installation token or a fine-grained token of the organization)',
  });
}
