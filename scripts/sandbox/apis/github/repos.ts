// Repositories: what the project factory needs, with GitHub's shapes and refusals, behind the shared
// auth, rate-limit and permission guard (parts.ts).
//   GET    /users/{username}                                   (metadata: read)      User or Organization
//   POST   /orgs/{org}/repos, POST /user/repos                 (administration: write) -> 201; 422 name taken
//   POST   /repos/{template_owner}/{template_repo}/generate    (administration: write) -> 201; 422 not a template
//   GET    /repos/{owner}/{repo}; PATCH (description, archived) (metadata: read / administration: write)
//   GET|PUT /repos/{owner}/{repo}/topics                        (metadata: read / administration: write)
//   GET|PUT /repos/{owner}/{repo}/branches/{branch}/protection  (administration) 404 "Branch not protected";
//          403 "Upgrade to GitHub Pro..." for a private repository of an owner on the free plan
//   GET|PUT /repos/{owner}/{repo}/contents/{path}               (contents) PUT needs `sha` to replace a file
//   Git data: GET /git/ref/heads/{branch}, POST /git/refs, PATCH /git/refs/heads/{branch} (fast-forward
//          unless force), POST /git/blobs, POST /git/trees (base_tree), GET|POST /git/commits; an empty
//          repository (no auto_init) answers 409 "Git Repository is empty."
//   GET|POST /repos/{owner}/{repo}/actions/variables, GET|PATCH|DELETE .../variables/{name} (variables)
//   PUT /repos/{owner}/{repo}/collaborators/{username}; PUT /orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}
//   GET|POST /repos/{owner}/{repo}/pulls (pull_requests) 422 when a pull request for the head exists
// An archived repository refuses every write with 403 "Repository was archived so is read-only.".
import { createHash } from 'node:crypto';
import type { SandboxReply, SandboxRequest } from '../../router.js';
import type { GithubOwner, GithubRepo, GithubSeed } from './model.js';
import { gh, nowIso, type GithubParts } from './parts.js';

export interface GitState {
  blobs: Record<string, string>;
  /** Flat trees: path -> blob sha. */
  trees: Record<string, Record<string, string>>;
  commits: Record<string, { tree: string; parents: string[]; message: string; date: string }>;
  refs: Record<string, string>;
}

export interface RepoExtra {
  /** Seed only: text files (by path) of the repository's first commit on its default branch. */
  files?: Record<string, string>;
  default_branch?: string;
  description?: string;
  visibility?: 'private' | 'internal' | 'public';
  archived?: boolean;
  is_template?: boolean;
  topics?: string[];
  git?: GitState;
  variables?: Array<{ name: string; value: string; created_at: string; updated_at: string }>;
  protection?: Record<string, unknown>;
  collaborators?: Record<string, string>;
  teams?: Record<string, string>;
  pulls?: Array<{ number: number; title: string; head: string; base: string; body: string; state: 'open' | 'closed'; created_at: string }>;
}

export type FullRepo = GithubRepo & RepoExtra;

const sha1 = (text: string): string => createHash('sha1').update(text).digest('hex');

function body(req: SandboxRequest): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(req.body.toString('utf8') || '{}') as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function repoRoutes(h: GithubParts): void {
  const { st, add, guard } = h;
  st.owners ??= [];
  st.users ??= [];
  const D = 'https://docs.github.com/rest';
  const find = (owner: string, name: string): FullRepo | undefined =>
    st.repos.find((r) => r.owner.toLowerCase() === owner.toLowerCase() && r.name.toLowerCase() === name.toLowerCase()) as FullRepo | undefined;
  const repoOf = (req: SandboxRequest): FullRepo => find(req.params.owner ?? '', req.params.repo ?? '') as FullRepo;
  const ownerOf = (login: string): GithubOwner | undefined =>
    st.owners?.find((o) => o.login.toLowerCase() === login.toLowerCase()) ??
    (st.repos.some((r) => r.owner.toLowerCase() === login.toLowerCase()) ? { login, type: 'Organization', plan: 'team' } : undefined);
  const branchOf = (r: FullRepo): string => r.default_branch ?? 'main';
  const git = (r: FullRepo): GitState => {
    // A seeded repository's first commit is made when it is first read (and again after a reset).
    if (!r.git && r.files) seedRepoFiles(st, `${r.owner}/${r.name}`, r.files, 'Initial commit');
    return (r.git ??= { blobs: {}, trees: {}, commits: {}, refs: {} });
  };

  const readOnly = (r: FullRepo): SandboxReply | undefined => (r.archived ? gh(403, 'Repository was archived so is read-only.', D) : undefined);

  const repoJson = (r: FullRepo) => {
    const full = `${r.owner}/${r.name}`;
    return {
      id: r.id,
      node_id: `R_${r.id}`,
      name: r.name,
      full_name: full,
      owner: { login: r.owner, type: ownerOf(r.owner)?.type ?? 'Organization' },
      private: r.private ?? (r.visibility ? r.visibility !== 'public' : true),
      visibility: r.visibility ?? (r.private === false ? 'public' : 'private'),
      description: r.description ?? null,
      archived: r.archived ?? false,
      is_template: r.is_template ?? false,
      default_branch: branchOf(r),
      topics: r.topics ?? [],
      html_url: `https://github.com/${full}`,
      url: `${h.base}/repos/${full}`,
    };
  };

  // --- git objects ----------------------------------------------------------------------------------
  const putBlob = (g: GitState, content: string): string => {
    const sha = sha1(`blob ${content}`);
    g.blobs[sha] = content;
    return sha;
  };
  const putTree = (g: GitState, entries: Record<string, string>): string => {
    const sorted = Object.fromEntries(Object.entries(entries).sort(([a], [b]) => a.localeCompare(b)));
    const sha = sha1(`tree ${JSON.stringify(sorted)}`);
    g.trees[sha] = sorted;
    return sha;
  };
  const putCommit = (g: GitState, tree: string, parents: string[], message: string): string => {
    const date = nowIso();
    const sha = sha1(`commit ${tree} ${parents.join(',')} ${message} ${date} ${Object.keys(g.commits).length}`);
    g.commits[sha] = { tree, parents, message, date };
    return sha;
  };
  const commitJson = (full: string, sha: string, c: GitState['commits'][string]) => ({
    sha,
    url: `${h.base}/repos/${full}/git/commits/${sha}`,
    message: c.message,
    tree: { sha: c.tree, url: `${h.base}/repos/${full}/git/trees/${c.tree}` },
    parents: c.parents.map((p) => ({ sha: p, url: `${h.base}/repos/${full}/git/commits/${p}` })),
    author: { name: 'mlabs sandbox', email: 'sandbox@example.com', date: c.date },
    committer: { name: 'mlabs sandbox', email: 'sandbox@example.com', date: c.date },
  });
  /** A commit on top of the branch with `files` (path -> base64 content) changed; returns the commit sha. */
  const commitOnBranch = (r: FullRepo, branch: string, files: Record<string, string>, message: string): string => {
    const g = git(r);
    const head = g.refs[`refs/heads/${branch}`];
    const baseTree = head ? (g.trees[g.commits[head]?.tree ?? ''] ?? {}) : {};
    const entries = { ...baseTree };
    for (const [path, b64] of Object.entries(files)) entries[path] = putBlob(g, b64);
    const sha = putCommit(g, putTree(g, entries), head ? [head] : [], message);
    g.refs[`refs/heads/${branch}`] = sha;
    return sha;
  };
  const isAncestor = (g: GitState, ancestor: string, sha: string): boolean => {
    const seen = new Set<string>();
    const stack = [sha];
    while (stack.length) {
      const s = stack.pop() as string;
      if (s === ancestor) return true;
      if (seen.has(s)) continue;
      seen.add(s);
      stack.push(...(g.commits[s]?.parents ?? []));
    }
    return false;
  };
  const empty = (r: FullRepo): SandboxReply | undefined => (Object.keys(git(r).refs).length === 0 ? gh(409, 'Git Repository is empty.', D) : undefined);

  // --- users and repositories --------------------------------------------------------------------------
  add('GET', '/github/users/{username}', 'users.getByUsername', guard('users.getByUsername', ['metadata', 'read'], 'user', D, (req) => {
    const login = req.params.username ?? '';
    const o = ownerOf(login) ?? (st.users?.some((u) => u.toLowerCase() === login.toLowerCase()) ? { login, type: 'User' as const } : undefined);
    if (!o) return gh(404, 'Not Found', `${D}/users/users#get-a-user`);
    return { json: { login: o.login, id: 3000000 + o.login.length, type: o.type, html_url: `https://github.com/${o.login}` } };
  }));

  const createDocs = `${D}/repos/repos#create-an-organization-repository`;
  const createRepo = (owner: string, req: SandboxRequest): SandboxReply => {
    const b = body(req);
    if (!b) return gh(400, 'Problems parsing JSON', createDocs);
    const name = b.name;
    if (typeof name !== 'string' || !/^[A-Za-z0-9._-]{1,100}$/.test(name)) return gh(422, 'Repository creation failed.', createDocs);
    if (find(owner, name)) {
      return { status: 422, json: { message: 'Repository creation failed.', errors: [{ resource: 'Repository', code: 'custom', field: 'name', message: 'name already exists on this account' }], documentation_url: createDocs, status: '422' } };
    }
    const visibility = (b.visibility as FullRepo['visibility']) ?? (b.private === false ? 'public' : 'private');
    const repo: FullRepo = { owner: ownerOf(owner)?.login ?? owner, name, id: h.maxId(st.repos) + 1, private: visibility !== 'public', visibility, default_branch: 'main', ...(typeof b.description === 'string' ? { description: b.description } : {}), topics: [] };
    st.repos.push(repo);
    if (b.auto_init === true) commitOnBranch(repo, 'main', { 'README.md': Buffer.from(`# ${name}\n\n${repo.description ?? ''}\n`).toString('base64') }, 'Initial commit');
    return { status: 201, json: repoJson(repo) };
  };
  add('POST', '/github/orgs/{org}/repos', 'repos.createInOrg', guard('repos.createInOrg', ['administration', 'write'], 'org', createDocs, (req) => createRepo(req.params.org ?? '', req)));
  add('POST', '/github/user/repos', 'repos.createForAuthenticatedUser', guard('repos.createForAuthenticatedUser', ['administration', 'write'], 'user', createDocs, (req, token) => createRepo(token.login ?? 'sandbox-user', req)));
  const generateDocs = `${D}/repos/repos#create-a-repository-using-a-template`;
  add('POST', '/github/repos/{owner}/{repo}/generate', 'repos.createUsingTemplate', guard('repos.createUsingTemplate', ['administration', 'write'], 'repo', generateDocs, (req) => {
    const tmpl = repoOf(req);
    if (!tmpl.is_template) return gh(422, `Invalid request.\n\n${tmpl.owner}/${tmpl.name} is not a template repository.`, generateDocs);
    const b = body(req) ?? {};
    const owner = typeof b.owner === 'string' ? b.owner : tmpl.owner;
    const reply = createRepo(owner, { ...req, body: Buffer.from(JSON.stringify({ ...b, auto_init: false })) });
    if (reply.status !== 201) return reply;
    const made = find(owner, b.name as string) as FullRepo;
    const head = git(tmpl).refs[`refs/heads/${branchOf(tmpl)}`];
    if (head) {
      const files = Object.fromEntries(Object.entries(git(tmpl).trees[git(tmpl).commits[head]?.tree ?? ''] ?? {}).map(([p, s]) => [p, git(tmpl).blobs[s] ?? '']));
      commitOnBranch(made, 'main', files, 'Initial commit');
    }
    return { status: 201, json: repoJson(made) };
  }));
  add('GET', '/github/repos/{owner}/{repo}', 'repos.get', guard('repos.get', ['metadata', 'read'], 'repo', `${D}/repos/repos#get-a-repository`, (req) => ({ json: repoJson(repoOf(req)) })));
  add('PATCH', '/github/repos/{owner}/{repo}', 'repos.update', guard('repos.update', ['administration', 'write'], 'repo', `${D}/repos/repos#update-a-repository`, (req) => {
    const r = repoOf(req);
    const b = body(req);
    if (!b) return gh(400, 'Problems parsing JSON', D);
    if (r.archived && b.archived !== false) return readOnly(r) as SandboxReply;
    if (typeof b.archived === 'boolean') r.archived = b.archived;
    if (typeof b.description === 'string') r.description = b.description;
    if (typeof b.is_template === 'boolean') r.is_template = b.is_template;
    return { json: repoJson(r) };
  }));

  // --- topics and protection ---------------------------------------------------------------------------
  add('GET', '/github/repos/{owner}/{repo}/topics', 'repos.getAllTopics', guard('repos.getAllTopics', ['metadata', 'read'], 'repo', D, (req) => ({ json: { names: repoOf(req).topics ?? [] } })));
  add('PUT', '/github/repos/{owner}/{repo}/topics', 'repos.replaceAllTopics', guard('repos.replaceAllTopics', ['administration', 'write'], 'repo', `${D}/repos/repos#replace-all-repository-topics`, (req) => {
    const r = repoOf(req);
    const ro = readOnly(r);
    if (ro) return ro;
    const names = body(req)?.names;
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string' || !/^[a-z0-9][a-z0-9-]{0,49}$/.test(n)) || names.length > 20) {
      return { status: 422, json: { message: 'Invalid topics', errors: ['Topics must start with a lowercase letter or number, consist of 50 characters or less, and can include hyphens.'], status: '422' } };
    }
    r.topics = [...new Set(names as string[])];
    return { json: { names: r.topics } };
  }));
  const protDocs = `${D}/branches/branch-protection#update-branch-protection`;
  const planBlocks = (r: FullRepo): SandboxReply | undefined =>
    (r.private ?? true) && (ownerOf(r.owner)?.plan ?? 'team') === 'free' ? gh(403, 'Upgrade to GitHub Pro or make this repository public to enable this feature.', protDocs) : undefined;
  add('GET', '/github/repos/{owner}/{repo}/branches/{branch=**}/protection', 'repos.getBranchProtection', guard('repos.getBranchProtection', ['administration', 'read'], 'repo', protDocs, (req) => {
    const r = repoOf(req);
    const blocked = planBlocks(r);
    if (blocked) return blocked;
    const p = r.protection?.[req.params.branch ?? ''];
    return p ? { json: p } : gh(404, 'Branch not protected', protDocs);
  }));
  add('PUT', '/github/repos/{owner}/{repo}/branches/{branch=**}/protection', 'repos.updateBranchProtection', guard('repos.updateBranchProtection', ['administration', 'write'], 'repo', protDocs, (req) => {
    const r = repoOf(req);
    const ro = readOnly(r) ?? planBlocks(r);
    if (ro) return ro;
    const b = body(req);
    if (!b) return gh(400, 'Problems parsing JSON', protDocs);
    for (const f of ['required_status_checks', 'enforce_admins', 'required_pull_request_reviews', 'restrictions']) {
      if (!(f in b)) return gh(422, `Invalid request.\n\n"${f}" wasn't supplied.`, protDocs);
    }
    if (!git(r).refs[`refs/heads/${req.params.branch}`]) return gh(404, 'Branch not found', protDocs);
    (r.protection ??= {})[req.params.branch ?? ''] = { url: `${h.base}/repos/${r.owner}/${r.name}/branches/${req.params.branch}/protection`, ...b };
    return { json: r.protection[req.params.branch ?? ''] };
  }));

  // --- contents ----------------------------------------------------------------------------------------
  const contentsDocs = `${D}/repos/contents`;
  const fileAt = (r: FullRepo, ref: string, path: string): { sha: string; content: string } | undefined => {
    const g = git(r);
    const commit = g.refs[`refs/heads/${ref}`] ?? (g.commits[ref] ? ref : undefined);
    const tree = commit ? g.trees[g.commits[commit]?.tree ?? ''] : undefined;
    const sha = tree?.[path];
    return sha ? { sha, content: g.blobs[sha] ?? '' } : undefined;
  };
  add('GET', '/github/repos/{owner}/{repo}/contents/{path=**}', 'repos.getContent', guard('repos.getContent', ['contents', 'read'], 'repo', contentsDocs, (req) => {
    const r = repoOf(req);
    const ref = req.query.get('ref') || branchOf(r);
    const path = req.params.path ?? '';
    const f = fileAt(r, ref, path);
    if (!f) return gh(404, 'Not Found', contentsDocs);
    const bytes = Buffer.from(f.content, 'base64');
    // GitHub wraps the base64 at 60 characters.
    const wrapped = (bytes.toString('base64').match(/.{1,60}/g) ?? []).join('\n') + '\n';
    return { json: { type: 'file', encoding: 'base64', size: bytes.length, name: path.split('/').pop(), path, sha: f.sha, content: wrapped } };
  }));
  add('PUT', '/github/repos/{owner}/{repo}/contents/{path=**}', 'repos.createOrUpdateFileContents', guard('repos.createOrUpdateFileContents', ['contents', 'write'], 'repo', contentsDocs, (req) => {
    const r = repoOf(req);
    const ro = readOnly(r);
    if (ro) return ro;
    const b = body(req);
    if (!b) return gh(400, 'Problems parsing JSON', contentsDocs);
    if (typeof b.message !== 'string') return gh(422, 'Invalid request.\n\n"message" wasn\'t supplied.', contentsDocs);
    if (typeof b.content !== 'string') return gh(422, 'Invalid request.\n\n"content" wasn\'t supplied.', contentsDocs);
    const branch = typeof b.branch === 'string' ? b.branch : branchOf(r);
    if (!git(r).refs[`refs/heads/${branch}`] && Object.keys(git(r).refs).length) return gh(404, `Branch ${branch} not found`, contentsDocs);
    const path = req.params.path ?? '';
    const have = fileAt(r, branch, path);
    if (have && b.sha === undefined) return gh(422, 'Invalid request.\n\n"sha" wasn\'t supplied.', contentsDocs);
    if (have && b.sha !== have.sha) return gh(409, `${path} does not match ${String(b.sha)}`, contentsDocs);
    const commit = commitOnBranch(r, branch, { [path]: b.content.replace(/\s+/g, '') }, b.message);
    const blob = fileAt(r, commit, path) as { sha: string };
    return { status: have ? 200 : 201, json: { content: { path, sha: blob.sha, name: path.split('/').pop() }, commit: { sha: commit } } };
  }));

  // --- git data ----------------------------------------------------------------------------------------
  const gitDocs = `${D}/git`;
  add('GET', '/github/repos/{owner}/{repo}/git/ref/{ref=**}', 'git.getRef', guard('git.getRef', ['contents', 'read'], 'repo', gitDocs, (req) => {
    const r = repoOf(req);
    const e = empty(r);
    if (e) return e;
    const ref = `refs/${req.params.ref}`;
    const sha = git(r).refs[ref];
    return sha ? { json: { ref, object: { sha, type: 'commit' } } } : gh(404, 'Not Found', gitDocs);
  }));
  add('POST', '/github/repos/{owner}/{repo}/git/refs', 'git.createRef', guard('git.createRef', ['contents', 'write'], 'repo', gitDocs, (req) => {
    const r = repoOf(req);
    const bad = readOnly(r) ?? empty(r);
    if (bad) return bad;
    const b = body(req) ?? {};
    if (typeof b.ref !== 'string' || !/^refs\/.+/.test(b.ref)) return gh(422, 'Reference name must start with \'refs/\' and have at least two slashes.', gitDocs);
    if (typeof b.sha !== 'string' || !git(r).commits[b.sha]) return gh(422, 'Object does not exist', gitDocs);
    if (git(r).refs[b.ref]) return gh(422, 'Reference already exists', gitDocs);
    git(r).refs[b.ref] = b.sha;
    return { status: 201, json: { ref: b.ref, object: { sha: b.sha, type: 'commit' } } };
  }));
  add('PATCH', '/github/repos/{owner}/{repo}/git/refs/{ref=**}', 'git.updateRef', guard('git.updateRef', ['contents', 'write'], 'repo', gitDocs, (req) => {
    const r = repoOf(req);
    const bad = readOnly(r) ?? empty(r);
    if (bad) return bad;
    const b = body(req) ?? {};
    const ref = `refs/${req.params.ref}`;
    const g = git(r);
    const cur = g.refs[ref];
    if (!cur) return gh(422, 'Reference does not exist', gitDocs);
    if (typeof b.sha !== 'string' || !g.commits[b.sha]) return gh(422, 'Object does not exist', gitDocs);
    if (b.force !== true && !isAncestor(g, cur, b.sha)) return gh(422, 'Update is not a fast forward', gitDocs);
    g.refs[ref] = b.sha;
    return { json: { ref, object: { sha: b.sha, type: 'commit' } } };
  }));
  add('POST', '/github/repos/{owner}/{repo}/git/blobs', 'git.createBlob', guard('git.createBlob', ['contents', 'write'], 'repo', gitDocs, (req) => {
    const r = repoOf(req);
    const bad = readOnly(r) ?? empty(r);
    if (bad) return bad;
    const b = body(req) ?? {};
    if (typeof b.content !== 'string') return gh(422, 'Invalid request.\n\n"content" wasn\'t supplied.', gitDocs);
    const b64 = b.encoding === 'base64' ? b.content.replace(/\s+/g, '') : Buffer.from(b.content, 'utf8').toString('base64');
    const sha = putBlob(git(r), b64);
    return { status: 201, json: { sha, url: `${h.base}/repos/${r.owner}/${r.name}/git/blobs/${sha}` } };
  }));
  add('POST', '/github/repos/{owner}/{repo}/git/trees', 'git.createTree', guard('git.createTree', ['contents', 'write'], 'repo', gitDocs, (req) => {
    const r = repoOf(req);
    const bad = readOnly(r) ?? empty(r);
    if (bad) return bad;
    const b = body(req) ?? {};
    const g = git(r);
    if (!Array.isArray(b.tree)) return gh(422, 'Invalid request.\n\n"tree" wasn\'t supplied.', gitDocs);
    let entries: Record<string, string> = {};
    if (typeof b.base_tree === 'string') {
      const baseTree = g.trees[b.base_tree];
      if (!baseTree) return gh(422, 'Invalid tree info', gitDocs);
      entries = { ...baseTree };
    }
    for (const e of b.tree as Array<Record<string, unknown>>) {
      if (typeof e.path !== 'string' || e.type !== 'blob' || !['100644', '100755'].includes(String(e.mode))) return gh(422, 'Invalid tree info', gitDocs);
      if (e.sha === null) delete entries[e.path];
      else if (typeof e.sha === 'string' && g.blobs[e.sha] !== undefined) entries[e.path] = e.sha;
      else if (typeof e.content === 'string') entries[e.path] = putBlob(g, Buffer.from(e.content).toString('base64'));
      else return gh(422, `Invalid tree info: ${e.path}`, gitDocs);
    }
    const sha = putTree(g, entries);
    return { status: 201, json: { sha, tree: Object.entries(entries).map(([path, s]) => ({ path, mode: '100644', type: 'blob', sha: s })), truncated: false } };
  }));
  add('GET', '/github/repos/{owner}/{repo}/git/commits/{commit_sha}', 'git.getCommit', guard('git.getCommit', ['contents', 'read'], 'repo', gitDocs, (req) => {
    const r = repoOf(req);
    const c = git(r).commits[req.params.commit_sha ?? ''];
    return c ? { json: commitJson(`${r.owner}/${r.name}`, req.params.commit_sha ?? '', c) } : gh(404, 'Not Found', gitDocs);
  }));
  add('POST', '/github/repos/{owner}/{repo}/git/commits', 'git.createCommit', guard('git.createCommit', ['contents', 'write'], 'repo', gitDocs, (req) => {
    const r = repoOf(req);
    const bad = readOnly(r) ?? empty(r);
    if (bad) return bad;
    const b = body(req) ?? {};
    const g = git(r);
    if (typeof b.message !== 'string') return gh(422, 'Invalid request.\n\n"message" wasn\'t supplied.', gitDocs);
    if (typeof b.tree !== 'string' || !g.trees[b.tree]) return gh(422, 'Tree SHA does not exist', gitDocs);
    const parents = Array.isArray(b.parents) ? (b.parents as string[]) : [];
    if (parents.some((p) => !g.commits[p])) return gh(422, 'Parent SHA does not exist or is not a commit object', gitDocs);
    const sha = putCommit(g, b.tree, parents, b.message);
    return { status: 201, json: commitJson(`${r.owner}/${r.name}`, sha, g.commits[sha] as GitState['commits'][string]) };
  }));

  // --- variables ---------------------------------------------------------------------------------------
  const varDocs = `${D}/actions/variables`;
  const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
  add('GET', '/github/repos/{owner}/{repo}/actions/variables', 'actions.listRepoVariables', guard('actions.listRepoVariables', ['variables', 'read'], 'repo', varDocs, (req) => {
    const vs = repoOf(req).variables ?? [];
    const per = Math.min(30, Math.max(1, Number(req.query.get('per_page') ?? 10)));
    const page = Math.max(1, Number(req.query.get('page') ?? 1));
    const slice = vs.slice((page - 1) * per, page * per);
    const last = Math.ceil(vs.length / per);
    const headers: Record<string, string> = page < last ? { link: `<${h.base}${req.path.replace(/^\/github/, '')}?per_page=${per}&page=${page + 1}>; rel="next"` } : {};
    return { headers, json: { total_count: vs.length, variables: slice } };
  }));
  add('GET', '/github/repos/{owner}/{repo}/actions/variables/{name}', 'actions.getRepoVariable', guard('actions.getRepoVariable', ['variables', 'read'], 'repo', varDocs, (req) => {
    const v = (repoOf(req).variables ?? []).find((x) => x.name.toUpperCase() === (req.params.name ?? '').toUpperCase());
    return v ? { json: v } : gh(404, 'Not Found', varDocs);
  }));
  add('POST', '/github/repos/{owner}/{repo}/actions/variables', 'actions.createRepoVariable', guard('actions.createRepoVariable', ['variables', 'write'], 'repo', varDocs, (req) => {
    const r = repoOf(req);
    const ro = readOnly(r);
    if (ro) return ro;
    const b = body(req) ?? {};
    if (typeof b.name !== 'string' || !VAR_NAME.test(b.name) || /^GITHUB_/i.test(b.name)) return gh(422, 'Invalid request.\n\nFor \'properties/name\', the name is not valid.', varDocs);
    if (typeof b.value !== 'string') return gh(422, 'Invalid request.\n\n"value" wasn\'t supplied.', varDocs);
    r.variables ??= [];
    if (r.variables.some((x) => x.name === b.name!.toString().toUpperCase())) return gh(409, 'Already exists - Variable already exists', varDocs);
    const now = nowIso();
    r.variables.push({ name: b.name.toUpperCase(), value: b.value, created_at: now, updated_at: now });
    return { status: 201, json: {} };
  }));
  add('PATCH', '/github/repos/{owner}/{repo}/actions/variables/{name}', 'actions.updateRepoVariable', guard('actions.updateRepoVariable', ['variables', 'write'], 'repo', varDocs, (req) => {
    const r = repoOf(req);
    const ro = readOnly(r);
    if (ro) return ro;
    const v = (r.variables ?? []).find((x) => x.name === (req.params.name ?? '').toUpperCase());
    if (!v) return gh(404, 'Not Found', varDocs);
    const b = body(req) ?? {};
    if (typeof b.value === 'string') v.value = b.value;
    v.updated_at = nowIso();
    return { status: 204, body: '' };
  }));
  add('DELETE', '/github/repos/{owner}/{repo}/actions/variables/{name}', 'actions.deleteRepoVariable', guard('actions.deleteRepoVariable', ['variables', 'write'], 'repo', varDocs, (req) => {
    const r = repoOf(req);
    const i = (r.variables ?? []).findIndex((x) => x.name === (req.params.name ?? '').toUpperCase());
    if (i < 0) return gh(404, 'Not Found', varDocs);
    r.variables?.splice(i, 1);
    return { status: 204, body: '' };
  }));

  // --- access ------------------------------------------------------------------------------------------
  add('PUT', '/github/repos/{owner}/{repo}/collaborators/{username}', 'repos.addCollaborator', guard('repos.addCollaborator', ['administration', 'write'], 'repo', `${D}/collaborators/collaborators#add-a-repository-collaborator`, (req) => {
    const r = repoOf(req);
    const user = req.params.username ?? '';
    if (!st.users?.some((u) => u.toLowerCase() === user.toLowerCase())) return gh(404, 'Not Found', D);
    const permission = String(body(req)?.permission ?? 'push');
    if (!['pull', 'triage', 'push', 'maintain', 'admin'].includes(permission)) return gh(422, `Invalid request.\n\nFor 'properties/permission', "${permission}" is not a valid permission.`, D);
    const had = r.collaborators?.[user] === permission;
    (r.collaborators ??= {})[user] = permission;
    return had ? { status: 204, body: '' } : { status: 201, json: { id: 1, invitee: { login: user }, permissions: permission } };
  }));
  add('PUT', '/github/orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}', 'teams.addOrUpdateRepoPermissionsInOrg', guard('teams.addOrUpdateRepoPermissionsInOrg', ['members', 'read'], 'org', `${D}/teams/teams#add-or-update-team-repository-permissions`, (req) => {
    const org = ownerOf(req.params.org ?? '');
    if (!org?.teams?.includes(req.params.team_slug ?? '')) return gh(404, 'Not Found', D);
    const r = find(req.params.owner ?? '', req.params.repo ?? '');
    if (!r) return gh(404, 'Not Found', D);
    const permission = String(body(req)?.permission ?? 'push');
    if (!['pull', 'triage', 'push', 'maintain', 'admin'].includes(permission)) return gh(422, 'Validation Failed', D);
    (r.teams ??= {})[req.params.team_slug ?? ''] = permission;
    return { status: 204, body: '' };
  }));

  // --- pull requests -----------------------------------------------------------------------------------
  const pullDocs = `${D}/pulls/pulls`;
  const pullJson = (r: FullRepo, p: NonNullable<RepoExtra['pulls']>[number]) => ({
    number: p.number,
    title: p.title,
    body: p.body,
    state: p.state,
    head: { ref: p.head, label: `${r.owner}:${p.head}` },
    base: { ref: p.base },
    html_url: `https://github.com/${r.owner}/${r.name}/pull/${p.number}`,
    created_at: p.created_at,
  });
  add('GET', '/github/repos/{owner}/{repo}/pulls', 'pulls.list', guard('pulls.list', ['pull_requests', 'read'], 'repo', pullDocs, (req) => {
    const r = repoOf(req);
    const state = req.query.get('state') ?? 'open';
    const head = req.query.get('head');
    const ps = (r.pulls ?? []).filter((p) => (state === 'all' || p.state === state) && (!head || `${r.owner}:${p.head}`.toLowerCase() === head.toLowerCase()));
    return { json: ps.map((p) => pullJson(r, p)) };
  }));
  add('POST', '/github/repos/{owner}/{repo}/pulls', 'pulls.create', guard('pulls.create', ['pull_requests', 'write'], 'repo', pullDocs, (req) => {
    const r = repoOf(req);
    const ro = readOnly(r);
    if (ro) return ro;
    const b = body(req) ?? {};
    for (const f of ['title', 'head', 'base']) if (typeof b[f] !== 'string') return gh(422, `Invalid request.\n\n"${f}" wasn't supplied.`, pullDocs);
    const g = git(r);
    const head = String(b.head).replace(/^[^:]+:/, '');
    const validation = (message: string): SandboxReply => ({ status: 422, json: { message: 'Validation Failed', errors: [{ resource: 'PullRequest', code: 'custom', message }], documentation_url: pullDocs, status: '422' } });
    if (!g.refs[`refs/heads/${head}`]) return validation(`head ${head} does not exist`);
    if (!g.refs[`refs/heads/${b.base}`]) return validation(`base ${String(b.base)} does not exist`);
    if ((r.pulls ?? []).some((p) => p.state === 'open' && p.head === head)) return validation(`A pull request already exists for ${r.owner}:${head}.`);
    if (g.refs[`refs/heads/${head}`] === g.refs[`refs/heads/${b.base}`]) return validation(`No commits between ${String(b.base)} and ${head}`);
    const number = 1 + Math.max(0, ...(r.pulls ?? []).map((p) => p.number), ...st.issues.filter((i) => i.repository.toLowerCase() === `${r.owner}/${r.name}`.toLowerCase()).map((i) => i.number));
    const p = { number, title: String(b.title), head, base: String(b.base), body: typeof b.body === 'string' ? b.body : '', state: 'open' as const, created_at: nowIso() };
    (r.pulls ??= []).push(p);
    return { status: 201, json: pullJson(r, p) };
  }));
}

/** What a test reads back: a file's text on a branch of a sandbox repository (undefined: no such file). */
export function readRepoFile(st: GithubSeed, full: string, path: string, branch?: string): string | undefined {
  const r = st.repos.find((x) => `${x.owner}/${x.name}`.toLowerCase() === full.toLowerCase()) as FullRepo | undefined;
  if (r && !r.git && r.files) seedRepoFiles(st, full, r.files, 'Initial commit');
  const g = r?.git;
  if (!r || !g) return undefined;
  const head = g.refs[`refs/heads/${branch ?? r.default_branch ?? 'main'}`];
  const sha = head ? g.trees[g.commits[head]?.tree ?? '']?.[path] : undefined;
  return sha ? Buffer.from(g.blobs[sha] ?? '', 'base64').toString('utf8') : undefined;
}

/** A sandbox repository with one commit holding `files` (text by path): for seeding a platform repository in tests. */
export function seedRepoFiles(st: GithubSeed, full: string, files: Record<string, string>, message = 'Seed'): void {
  const r = st.repos.find((x) => `${x.owner}/${x.name}`.toLowerCase() === full.toLowerCase()) as FullRepo | undefined;
  if (!r) throw new Error(`sandbox: no repository ${full}`);
  const g = (r.git ??= { blobs: {}, trees: {}, commits: {}, refs: {} });
  const branch = r.default_branch ?? 'main';
  const head = g.refs[`refs/heads/${branch}`];
  const entries = { ...(head ? g.trees[g.commits[head]?.tree ?? ''] : {}) };
  for (const [path, text] of Object.entries(files)) {
    const b64 = Buffer.from(text).toString('base64');
    const sha = sha1(`blob ${b64}`);
    g.blobs[sha] = b64;
    entries[path] = sha;
  }
  const sorted = Object.fromEntries(Object.entries(entries).sort(([a], [b]) => a.localeCompare(b)));
  const tree = sha1(`tree ${JSON.stringify(sorted)}`);
  g.trees[tree] = sorted;
  const sha = sha1(`commit ${tree} ${head ?? ''} ${message} ${Object.keys(g.commits).length}`);
  g.commits[sha] = { tree, parents: head ? [head] : [], message, date: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') };
  g.refs[`refs/heads/${branch}`] = sha;
}

/** Sets repository variables (tests, and the platform's variables a workflow run starts with). */
export function seedVariables(st: GithubSeed, full: string, vars: Record<string, string>): void {
  const r = st.repos.find((x) => `${x.owner}/${x.name}`.toLowerCase() === full.toLowerCase()) as FullRepo | undefined;
  if (!r) throw new Error(`sandbox: no repository ${full}`);
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  r.variables ??= [];
  for (const [name, value] of Object.entries(vars)) {
    const v = r.variables.find((x) => x.name === name);
    if (v) v.value = value;
    else r.variables.push({ name, value, created_at: now, updated_at: now });
  }
}
