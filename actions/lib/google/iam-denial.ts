/**
 * A Google API's "permission denied" turned into what a user can act on: the missing
 * permission, a predefined role that grants it, and the line of the repository's Terraform that
 * grants (or would grant) that role to the CI service account. The one place that reads these
 * refusals; entry.ts applies it to whatever an action fails with.
 *
 * The words recognised are each API's own (see the sandbox's scripts/sandbox/iam/engine.ts):
 * ErrorInfo `IAM_PERMISSION_DENIED` with `metadata.permission`, GKE's `Required "P" permission(s)
 * for "R".`, Compute's `Required 'P' permission for 'R'`, Cloud Storage's `... does not have P access`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ActionError } from '../errors.js';
import { ApiError } from '../http.js';

export interface Denial {
  permission: string;
  resource?: string;
}

/** The permission a 403 names, or undefined when it is not an IAM refusal. */
export function deniedPermission(err: unknown): Denial | undefined {
  if (!(err instanceof ApiError) || err.httpStatus !== 403) return undefined;
  const body = err.body as { error?: { details?: { reason?: string; metadata?: { permission?: string; resource?: string } }[] } } | undefined;
  const info = body?.error?.details?.find((d) => d.reason === 'IAM_PERMISSION_DENIED' && d.metadata?.permission);
  if (info?.metadata?.permission) return { permission: info.metadata.permission, ...(info.metadata.resource ? { resource: info.metadata.resource } : {}) };
  const m =
    /Required "([\w.]+)" permission\(s\) for "([^"]+)"/.exec(err.message) ??
    /Required '([\w.]+)' permission for '([^']+)'/.exec(err.message) ??
    /Permission '([\w./]+)' denied on resource(?: '([^']+)')?/.exec(err.message) ??
    /does not have ([a-z]+\.[\w.]+) access/.exec(err.message);
  if (!m) return undefined;
  return { permission: m[1] as string, ...(m[2] ? { resource: m[2] } : {}) };
}

/**
 * The predefined role the suite grants for a permission (each one holds it: test/lib/iam-denial.test.ts
 * checks this against the sandbox's copy of Google's roles). Reads get the narrower role.
 */
export function roleFor(permission: string): string {
  if (permission.startsWith('iam.googleapis.com/workloadIdentityPool')) {
    return /\.(get|list)$/.test(permission) ? 'roles/iam.workloadIdentityPoolViewer' : 'roles/iam.workloadIdentityPoolAdmin';
  }
  const [service = '', resource = '', verb = ''] = permission.split('.');
  const read = /^(get|list|getStatus|getLogs|getScale)$/.test(verb);
  switch (service) {
    case 'container':
      return resource === 'clusters' || resource === 'operations' ? 'roles/container.clusterAdmin' : 'roles/container.developer';
    case 'iam':
      if (verb === 'actAs') return 'roles/iam.serviceAccountUser';
      if (verb === 'getAccessToken' || verb === 'getOpenIdToken') return 'roles/iam.workloadIdentityUser';
      return read || verb === 'getIamPolicy' ? 'roles/iam.serviceAccountViewer' : 'roles/iam.serviceAccountAdmin';
    case 'compute':
      return read ? 'roles/compute.viewer' : 'roles/compute.storageAdmin';
    case 'storage':
      return resource === 'objects' ? 'roles/storage.objectAdmin' : 'roles/storage.admin';
    case 'artifactregistry':
      return read ? 'roles/artifactregistry.reader' : 'roles/artifactregistry.admin';
    case 'cloudquotas':
      return read ? 'roles/cloudquotas.viewer' : 'roles/cloudquotas.admin';
    case 'serviceusage':
      return 'roles/serviceusage.serviceUsageConsumer';
    case 'resourcemanager':
      return 'roles/browser';
    default:
      return `a role with ${permission}`;
  }
}

/**
 * The checkout holding terraform/: the workflow's workspace when it checked this repository out,
 * else the suite's own checkout the action runs from (actions/NAME/dist/index.js), else the cwd.
 */
export function terraformRoot(): string {
  const script = process.argv[1] ?? '';
  const candidates = [process.env.GITHUB_WORKSPACE, script ? resolve(dirname(script), '..', '..', '..') : undefined, process.cwd()];
  return candidates.find((d): d is string => !!d && existsSync(join(d, 'terraform', 'modules', 'iam'))) ?? process.cwd();
}

/** Where the repository's Terraform grants `role` (or where it would): file:line and what to do. */
export function terraformHint(role: string, root = terraformRoot()): string {
  const iamFile = 'terraform/modules/iam/main.tf';
  const bootstrapFile = 'terraform/bootstrap/main.tf';
  const lineOf = (file: string, needle: string): number | undefined => {
    const path = join(root, file);
    if (!existsSync(path)) return undefined;
    const i = readFileSync(path, 'utf8').split('\n').findIndex((l) => l.includes(needle));
    return i < 0 ? undefined : i + 1;
  };
  for (const file of [iamFile, bootstrapFile]) {
    const line = lineOf(file, `"${role}"`);
    if (line) return `${file}:${line} grants ${role}; apply terraform/bootstrap (a person does, never CI) if it has not been, and allow a few minutes for IAM to take effect.`;
  }
  const list = lineOf(iamFile, 'ci_project_roles = toset([');
  if (list) return `Add "${role}" to ci_project_roles in ${iamFile}:${list} with a comment naming the action that needs it, and apply terraform/bootstrap.`;
  return `Grant ${role} to the CI service account (the identity wif-login logs in as).`;
}

/** An ActionError for an IAM refusal, or undefined when `err` is not one. */
export function permissionError(err: unknown): ActionError | undefined {
  const api = err instanceof ApiError ? err : err instanceof Error && err.cause instanceof ApiError ? err.cause : undefined;
  const d = deniedPermission(api);
  if (!api || !d) return undefined;
  const role = roleFor(d.permission);
  const on = d.resource ? ` on ${d.resource}` : '';
  if (d.permission === 'iam.serviceAccounts.actAs' && /-compute@developer\.gserviceaccount\.com/.test(d.resource ?? '')) {
    return new ActionError(`Permission denied: the caller may not act as the Compute Engine default service account, which nodes run as when no service account is set (${api.method} ${api.url} answered 403: ${api.message})`, {
      fix: `Set the input service_account to the platform's node account (the repository variable MLABS_NODE_SERVICE_ACCOUNT that terraform/bootstrap prints). ${terraformHint(role)}`,
      cause: err,
    });
  }
  return new ActionError(`Permission denied: the caller lacks ${d.permission}${on} (${api.method} ${api.url} answered 403: ${api.message})`, {
    fix: `${role} grants ${d.permission}. ${terraformHint(role)}`,
    cause: err,
  });
}
