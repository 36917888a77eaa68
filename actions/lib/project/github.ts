/**
 * The GitHub side of the project factory: the repository, its first commit, variables, topics,
 * branch protection, grants, the next-steps issue, and archiving. Every step reads before it writes,
 * so a re-run converges and reports `unchanged` for what is already there.
 */
import { ActionError } from '../errors.js';
import { ApiError, isNotFound } from '../http.js';
import { githubMessage, type GithubRest } from '../github/rest.js';
import { MARKER, type Marker, type TemplateFile } from './template.js';

export type Visibility = 'private' | 'internal' | 'public';
export type Permission = 'pull' | 'triage' | 'push' | 'maintain' | 'admin';

export interface Grant {
  kind: 'team' | 'user';
  name: string;
  permission: Permission;
}

export interface Step {
  step: string;
  result: string;
}

interface Repo {
  full_name: string;
  default_branch: string;
  archived: boolean;
  html_url: string;
  visibility?: string;
  private: boolean;
  topics?: string[];
}

/** A GitHub refusal as an ActionError that says which call and which token permission. */
export function explain(err: unknown, what: string, permission: string): unknown {
  if (!(err instanceof ApiError)) return err;
  const msg = githubMessage(err);
  if (err.httpStatus === 401) return new ActionError(`GitHub refused github_token while ${what}: 401 ${msg}.`, { fix: 'Pass a valid token in github_token.' });
  if (err.httpStatus === 403 || err.httpStatus === 404) {
    return new ActionError(`GitHub answered ${err.httpStatus} ${msg} while ${what}.`, { fix: `Give github_token ${permission} (a GitHub App installation token or fine-grained token of the organization).` });
  }
  return new ActionError(`GitHub answered ${err.httpStatus || 'no response'} while ${what}: ${msg}`, { fix: 'Retry later; https://www.githubstatus.com shows GitHub outages.' });
}

async function step<T>(what: string, permission: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw explain(err, what, permission);
  }
}

export async function findRepo(gh: GithubRest, full: string): Promise<Repo | undefined> {
  try {
    return await gh.get<Repo>(`/repos/${full}`);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw explain(err, `reading ${full}`, '`metadata: read`');
  }
}

/** The project marker of an existing repository, undefined when it has none. */
export async function readMarker(gh: GithubRest, full: string, ref: string): Promise<Marker | undefined> {
  try {
    const file = await gh.get<{ content: string }>(`/repos/${full}/contents/${MARKER}?ref=${encodeURIComponent(ref)}`);
    return JSON.parse(Buffer.from(file.content, 'base64').toString('utf8')) as Marker;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    if (err instanceof SyntaxError) return undefined;
    throw explain(err, `reading ${full}/${MARKER}`, '`contents: read`');
  }
}

/** The topic a factory-made repository gets at once, so a run that stopped before its first commit is recognised. */
export const factoryTopic = (template: string): string => `mlabs-template-${template}`;

export interface CreateOptions {
  full: string;
  description: string;
  visibility: Visibility;
  templateRepository?: string;
}

export async function createRepo(gh: GithubRest, o: CreateOptions): Promise<Repo> {
  const [owner, name] = o.full.split('/') as [string, string];
  const flags = { description: o.description, private: o.visibility !== 'public' };
  if (o.templateRepository) {
    return step(`generating ${o.full} from the template repository ${o.templateRepository}`, '`administration: write` on the organization and `contents: read` on the template', () =>
      gh.post<Repo>(`/repos/${o.templateRepository}/generate`, { owner, name, ...flags, include_all_branches: false }),
    );
  }
  const who = await step('reading the owner', '`metadata: read`', () => gh.get<{ type: string; login: string }>(`/users/${owner}`));
  const body = { name, ...flags, visibility: o.visibility, auto_init: true, has_wiki: false };
  if (who.type === 'Organization') {
    return step(`creating ${o.full}`, '`administration: write` on the organization (Repository creation)', () => gh.post<Repo>(`/orgs/${owner}/repos`, body));
  }
  return step(`creating ${o.full} for the user ${owner}`, '`administration: write` (a token of that user)', () => gh.post<Repo>('/user/repos', body));
}

/** All template files (and the marker) in one commit on the default branch, through the Git data API. */
export async function commitFiles(gh: GithubRest, full: string, branch: string, files: TemplateFile[], message: string): Promise<string> {
  return step(`writing the template's files to ${full}`, '`contents: write`', async () => {
    const ref = await gh.get<{ object: { sha: string } }>(`/repos/${full}/git/ref/heads/${encodeURIComponent(branch)}`);
    const parent = await gh.get<{ sha: string; tree: { sha: string } }>(`/repos/${full}/git/commits/${ref.object.sha}`);
    const tree = [];
    for (const f of files) {
      const blob = await gh.post<{ sha: string }>(`/repos/${full}/git/blobs`, { content: Buffer.from(f.content).toString('base64'), encoding: 'base64' }, { idempotent: true });
      tree.push({ path: f.path, mode: '100644', type: 'blob', sha: blob.sha });
    }
    const newTree = await gh.post<{ sha: string }>(`/repos/${full}/git/trees`, { base_tree: parent.tree.sha, tree }, { idempotent: true });
    const commit = await gh.post<{ sha: string }>(`/repos/${full}/git/commits`, { message, tree: newTree.sha, parents: [parent.sha] }, { idempotent: true });
    await gh.patch(`/repos/${full}/git/refs/heads/${encodeURIComponent(branch)}`, { sha: commit.sha, force: false });
    return commit.sha;
  });
}

export interface Variable {
  name: string;
  value: string;
}

/** The platform's MLABS_* repository variables. */
export async function platformVariables(gh: GithubRest, platform: string): Promise<Variable[]> {
  const all = await step(`reading the repository variables of ${platform}`, '`variables: read` on the platform repository', () =>
    gh.list<Variable>(`/repos/${platform}/actions/variables`, 'variables'),
  );
  return all.filter((v) => v.name.startsWith('MLABS_')).map((v) => ({ name: v.name, value: v.value }));
}

export async function setVariables(gh: GithubRest, full: string, vars: Variable[]): Promise<{ created: string[]; updated: string[]; unchanged: string[] }> {
  const out = { created: [] as string[], updated: [] as string[], unchanged: [] as string[] };
  await step(`setting the repository variables of ${full}`, '`variables: write`', async () => {
    const have = new Map((await gh.list<Variable>(`/repos/${full}/actions/variables`, 'variables')).map((v) => [v.name, v.value]));
    for (const v of vars) {
      if (!have.has(v.name)) {
        await gh.post(`/repos/${full}/actions/variables`, v);
        out.created.push(v.name);
      } else if (have.get(v.name) !== v.value) {
        await gh.patch(`/repos/${full}/actions/variables/${v.name}`, v);
        out.updated.push(v.name);
      } else out.unchanged.push(v.name);
    }
  });
  return out;
}

export async function setTopics(gh: GithubRest, full: string, topics: string[]): Promise<string> {
  return step(`setting the topics of ${full}`, '`administration: write`', async () => {
    const have = await gh.get<{ names: string[] }>(`/repos/${full}/topics`);
    const want = [...new Set([...have.names, ...topics])].sort();
    if (want.length === have.names.length) return 'unchanged';
    await gh.put(`/repos/${full}/topics`, { names: want });
    return `set ${want.join(', ')}`;
  });
}

/** Pull requests with one approval on the default branch, no force pushes, no deletion. */
export async function protectBranch(gh: GithubRest, full: string, branch: string): Promise<string> {
  const path = `/repos/${full}/branches/${encodeURIComponent(branch)}/protection`;
  try {
    const have = await gh.get<{ required_pull_request_reviews?: { required_approving_review_count?: number } }>(path);
    if ((have.required_pull_request_reviews?.required_approving_review_count ?? 0) >= 1) return 'unchanged';
  } catch (err) {
    if (!(err instanceof ApiError) || (err.httpStatus !== 404 && err.httpStatus !== 403)) throw explain(err, `reading the protection of ${branch}`, '`administration: read`');
  }
  try {
    await gh.put(path, {
      required_status_checks: null,
      enforce_admins: false,
      required_pull_request_reviews: { required_approving_review_count: 1, dismiss_stale_reviews: true },
      restrictions: null,
      allow_force_pushes: false,
      allow_deletions: false,
    });
    return 'pull requests with one approval';
  } catch (err) {
    // Private repositories on GitHub Free cannot have branch protection: say so and go on.
    if (err instanceof ApiError && err.httpStatus === 403 && /upgrade|pro/i.test(githubMessage(err))) return `not available: ${githubMessage(err)}`;
    throw explain(err, `protecting ${branch} of ${full}`, '`administration: write`');
  }
}

export async function applyGrant(gh: GithubRest, full: string, g: Grant): Promise<string> {
  const [owner] = full.split('/');
  if (g.kind === 'team') {
    return step(`granting the team ${g.name} ${g.permission} on ${full}`, '`members: read` on the organization and `administration: write`', async () => {
      await gh.put(`/orgs/${owner}/teams/${g.name}/repos/${full}`, { permission: g.permission });
      return `team ${g.name}: ${g.permission}`;
    });
  }
  return step(`inviting ${g.name} with ${g.permission} to ${full}`, '`administration: write`', async () => {
    await gh.put(`/repos/${full}/collaborators/${g.name}`, { permission: g.permission });
    return `user ${g.name}: ${g.permission}`;
  });
}

export const NEXT_STEPS_LABEL = 'mlabs-next-steps';

export async function openNextStepsIssue(gh: GithubRest, full: string, body: string): Promise<{ url: string; created: boolean }> {
  return step(`opening the next-steps issue on ${full}`, '`issues: write`', async () => {
    const open = await gh.list<{ html_url: string; title: string }>(`/repos/${full}/issues?state=all&labels=${NEXT_STEPS_LABEL}`);
    if (open[0]) return { url: open[0].html_url, created: false };
    const issue = await gh.post<{ html_url: string }>(`/repos/${full}/issues`, { title: 'Next steps for this project', body, labels: [NEXT_STEPS_LABEL] });
    return { url: issue.html_url, created: true };
  });
}

export async function archiveRepo(gh: GithubRest, full: string): Promise<string> {
  return step(`archiving ${full}`, '`administration: write`', async () => {
    const repo = await gh.get<Repo>(`/repos/${full}`);
    if (repo.archived) return 'already archived';
    await gh.patch(`/repos/${full}`, { archived: true });
    return 'archived';
  });
}
