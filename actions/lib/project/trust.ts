/**
 * Which repositories may log in to Google through the platform's Workload Identity provider.
 *
 * The provider's attribute condition admits a list of repositories, written by the suite in one of
 * two forms: `assertion.repository == "o/r"` (one) or `assertion.repository in ["o/r", ...]` (more).
 * A project joins or leaves that list in one of two ways:
 *  - `pull-request`: a pull request on the platform repository that edits the Terraform variable
 *    file terraform/bootstrap/repositories.auto.tfvars.json (bootstrap's provider reads it); a person
 *    merges and applies it;
 *  - `iam`: the provider's attributeCondition and the CI account's workloadIdentityUser binding are
 *    updated at once through the IAM API (the team chose this; Terraform must then be told too).
 * Neither ever widens the condition beyond the named repositories: a condition the suite did not write
 * (any other CEL) is refused rather than edited.
 */
import { ActionError } from '../errors.js';
import { apiUrl } from '../endpoints.js';
import { getAccessToken } from '../google/auth.js';
import { requestJson } from '../http.js';
import type { GithubRest } from '../github/rest.js';
import { findOrUndefined } from '../http.js';

export const REPOSITORY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}$/;
export const TRUST_FILE = 'terraform/bootstrap/repositories.auto.tfvars.json';
export const TRUST_VARIABLE = 'project_repositories';

const ONE = /^\s*assertion\.repository\s*==\s*(["'])([^"']+)\1\s*$/;
const MANY = /^\s*assertion\.repository\s+in\s+\[(.*)\]\s*$/s;

/** The repositories a condition admits, or undefined when it is not one the suite writes. */
export function parseCondition(condition: string): string[] | undefined {
  const one = ONE.exec(condition);
  if (one) return [one[2] as string];
  const many = MANY.exec(condition);
  if (!many) return undefined;
  const body = (many[1] ?? '').trim();
  if (body === '') return [];
  const out: string[] = [];
  for (const part of body.split(',')) {
    const m = /^\s*(["'])([^"']+)\1\s*$/.exec(part);
    if (!m || !REPOSITORY_PATTERN.test(m[2] as string)) return undefined;
    out.push(m[2] as string);
  }
  return out;
}

/** The condition that admits exactly these repositories (never an empty one: that admits nobody by design). */
export function renderCondition(repositories: string[]): string {
  if (repositories.length === 0) throw new ActionError('The Workload Identity provider would admit no repository at all.', { fix: 'Keep the platform repository in the list.' });
  if (repositories.length === 1) return `assertion.repository == "${repositories[0]}"`;
  return `assertion.repository in [${repositories.map((r) => `"${r}"`).join(', ')}]`;
}

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

export function withRepository(list: string[], repo: string): string[] {
  return list.some((r) => same(r, repo)) ? list : [...list, repo];
}

export function withoutRepository(list: string[], repo: string): string[] {
  return list.filter((r) => !same(r, repo));
}

export interface TrustChange {
  mode: 'pull-request' | 'iam' | 'none';
  before: string[];
  after: string[];
  /** What was done: "opened", "exists" (an open pull request already has it), "updated", "unchanged". */
  action: string;
  url?: string;
  conditionBefore?: string;
  conditionAfter?: string;
}

// --- pull-request mode --------------------------------------------------------------------------------

interface ContentFile {
  sha: string;
  content: string;
  encoding: string;
}

function decodeList(file: ContentFile | undefined, platform: string): string[] {
  if (!file) return [];
  const text = Buffer.from(file.content, 'base64').toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ActionError(`${platform}: ${TRUST_FILE} is not valid JSON.`, { fix: `Make it {"${TRUST_VARIABLE}": ["owner/name", ...]} and run again.` });
  }
  const list = (parsed as Record<string, unknown>)[TRUST_VARIABLE];
  if (!Array.isArray(list) || list.some((r) => typeof r !== 'string' || !REPOSITORY_PATTERN.test(r))) {
    throw new ActionError(`${platform}: ${TRUST_FILE} has no list of owner/name strings under "${TRUST_VARIABLE}".`, { fix: `Make it {"${TRUST_VARIABLE}": ["owner/name", ...]} and run again.` });
  }
  return list as string[];
}

/** Adds (or removes) `repo` in the platform's trust file through a pull request; converges on re-runs. */
export async function trustByPullRequest(gh: GithubRest, platform: string, repo: string, op: 'add' | 'remove'): Promise<TrustChange> {
  const meta = await gh.get<{ default_branch: string }>(`/repos/${platform}`);
  const base = meta.default_branch;
  const branch = `mlabs/trust-${op}-${repo.replace('/', '-').toLowerCase()}`;
  const current = await findOrUndefined(() => gh.get<ContentFile>(`/repos/${platform}/contents/${TRUST_FILE}?ref=${encodeURIComponent(base)}`));
  const before = decodeList(current, platform);
  const after = op === 'add' ? withRepository(before, repo) : withoutRepository(before, repo);
  if (after.length === before.length) return { mode: 'pull-request', before, after, action: 'unchanged' };

  const [owner] = platform.split('/');
  const open = await gh.list<{ html_url: string }>(`/repos/${platform}/pulls?state=open&head=${encodeURIComponent(`${owner}:${branch}`)}`);
  if (open[0]) return { mode: 'pull-request', before, after, action: 'exists', url: open[0].html_url };

  const head = await gh.get<{ object: { sha: string } }>(`/repos/${platform}/git/ref/heads/${encodeURIComponent(base)}`);
  const existing = await findOrUndefined(() => gh.get<{ object: { sha: string } }>(`/repos/${platform}/git/ref/heads/${branch}`));
  if (existing) await gh.patch(`/repos/${platform}/git/refs/heads/${branch}`, { sha: head.object.sha, force: true });
  else await gh.post(`/repos/${platform}/git/refs`, { ref: `refs/heads/${branch}`, sha: head.object.sha });

  const body = JSON.stringify({ [TRUST_VARIABLE]: after }, null, 2) + '\n';
  const verb = op === 'add' ? 'admit' : 'stop admitting';
  await gh.put(`/repos/${platform}/contents/${TRUST_FILE}`, {
    message: `Workload Identity: ${verb} ${repo}`,
    content: Buffer.from(body).toString('base64'),
    branch,
    ...(current ? { sha: current.sha } : {}),
  });
  const pr = await gh.post<{ html_url: string; number: number }>(`/repos/${platform}/pulls`, {
    title: `Workload Identity: ${verb} ${repo}`,
    head: branch,
    base,
    body: [
      `${op === 'add' ? 'Lets' : 'Stops'} the workflows of \`${repo}\` ${op === 'add' ? '' : 'from '}log${op === 'add' ? '' : 'ging'} in to Google through the platform's Workload Identity provider.`,
      '',
      `Condition before: \`${before.length ? renderCondition(before) : '(bootstrap default)'}\``,
      `Repositories after: ${after.map((r) => `\`${r}\``).join(', ') || '(none besides the platform repository)'}`,
      '',
      'Merge, then apply terraform/bootstrap as the person who bootstrapped the platform.',
    ].join('\n'),
  });
  return { mode: 'pull-request', before, after, action: 'opened', url: pr.html_url };
}

// --- iam mode -----------------------------------------------------------------------------------------

const PROVIDER_NAME = /^projects\/([a-z0-9-]{1,30})\/locations\/global\/workloadIdentityPools\/([a-z0-9-]{4,32})\/providers\/([a-z0-9-]{4,32})$/;

export function parseProviderName(name: string): { projectNumber: string; pool: string; provider: string } | undefined {
  const m = PROVIDER_NAME.exec(name);
  return m ? { projectNumber: m[1] as string, pool: m[2] as string, provider: m[3] as string } : undefined;
}

export function principalSetFor(providerName: string, repo: string): string {
  const p = parseProviderName(providerName);
  if (!p) throw new ActionError(`Not a Workload Identity provider name: ${providerName}`);
  return `principalSet://iam.googleapis.com/projects/${p.projectNumber}/locations/global/workloadIdentityPools/${p.pool}/attribute.repository/${repo}`;
}

interface Policy {
  version?: number;
  etag?: string;
  bindings?: Array<{ role: string; members: string[] }>;
}

const WI_USER = 'roles/iam.workloadIdentityUser';

/** Updates the provider's condition and the CI account's workloadIdentityUser binding for `repo`. */
export async function trustByIam(providerName: string, serviceAccount: string, repo: string, op: 'add' | 'remove'): Promise<TrustChange> {
  const token = await getAccessToken();
  const provider = await requestJson<{ attributeCondition?: string }>(apiUrl('iam', `v1/${providerName}`), { token });
  const conditionBefore = provider.attributeCondition ?? '';
  const before = parseCondition(conditionBefore);
  if (!before) {
    throw new ActionError(`The provider's attribute condition is not one this action edits: ${JSON.stringify(conditionBefore)}.`, {
      fix: 'Use trust: pull-request and edit terraform/bootstrap by hand, or set the condition to assertion.repository in ["owner/name", ...] first.',
    });
  }
  const after = op === 'add' ? withRepository(before, repo) : withoutRepository(before, repo);
  const conditionAfter = renderCondition(after);
  let action = 'unchanged';
  if (conditionAfter !== conditionBefore.trim()) {
    await requestJson(apiUrl('iam', `v1/${providerName}`), {
      method: 'PATCH',
      token,
      query: { updateMask: 'attributeCondition' },
      body: { attributeCondition: conditionAfter },
      idempotent: true,
    });
    action = 'updated';
  }
  // The account binding: a principalSet per repository, as bootstrap writes it.
  const saPath = `v1/projects/-/serviceAccounts/${encodeURIComponent(serviceAccount)}`;
  const policy = await requestJson<Policy>(apiUrl('iam', `${saPath}:getIamPolicy`), { method: 'POST', token, body: {}, idempotent: true });
  const member = principalSetFor(providerName, repo);
  const bindings = (policy.bindings ?? []).map((b) => ({ role: b.role, members: [...b.members] }));
  let binding = bindings.find((b) => b.role === WI_USER);
  const has = binding?.members.includes(member) ?? false;
  if (op === 'add' && !has) {
    if (!binding) bindings.push((binding = { role: WI_USER, members: [] }));
    binding.members.push(member);
  } else if (op === 'remove' && has && binding) {
    binding.members = binding.members.filter((m) => m !== member);
  }
  if ((op === 'add') !== has) {
    await requestJson(apiUrl('iam', `${saPath}:setIamPolicy`), {
      method: 'POST',
      token,
      body: { policy: { ...policy, bindings: bindings.filter((b) => b.members.length) } },
      idempotent: true,
    });
    action = 'updated';
  }
  return { mode: 'iam', before, after, action, conditionBefore, conditionAfter };
}
