// GitHub REST: the subset for self-hosted runners and queued jobs, with GitHub's response and error shapes.
//   GET    /github/repos/{owner}/{repo}/actions/runners              (administration: read)
//   GET    /github/orgs/{org}/actions/runners                        (organization_self_hosted_runners: read)
//   POST   /github/repos/{owner}/{repo}/actions/runners/generate-jitconfig   (administration: write) -> 201
//   DELETE /github/repos/{owner}/{repo}/actions/runners/{runner_id}  (administration: write) -> 204
//   GET    /github/repos/{owner}/{repo}/actions/runs?status=queued   (actions: read)
//   GET    /github/repos/{owner}/{repo}/actions/runs/{run_id}/jobs   (actions: read)
//   GET    /github/repos/{owner}/{repo}/issues?state=&labels=&direction=  (issues: read; newest first)
//   POST   /github/repos/{owner}/{repo}/issues                       (issues: write) -> 201
//   GET    /github/repos/{owner}/{repo}/issues/{issue_number}        (issues: read)
//   PATCH  /github/repos/{owner}/{repo}/issues/{issue_number}        (issues: write; title, body, state, labels)
//   GET    /github/repos/{owner}/{repo}/issues/{issue_number}/comments  (issues: read)
//   POST   /github/repos/{owner}/{repo}/issues/{issue_number}/comments  (issues: write) -> 201
// Lists take per_page (default 30, at most 100) and page, and answer a Link header (rel next/last/first/prev).
// Auth: `Authorization: Bearer <t>` or `token <t>`, t from the seed's `github.tokens` (or service.addToken):
// unknown -> 401 Bad credentials; a token without the permission -> 403 "Resource not accessible by integration"
// with `x-accepted-github-permissions`; a repository the token cannot see -> 404 Not Found. Every answer carries
// the x-ratelimit-* headers; a token whose budget is spent gets 403 with x-ratelimit-remaining: 0.
// Faults: the core's `error` rules with match.api 'github' answer in GitHub's shape (429 = secondary rate limit,
// 403 = primary rate limit, 5xx = GitHub's server error) instead of Google's.
// Runtime API for tests: ctx.services.get('github-rest') (GithubRestService below).
import { randomBytes } from 'node:crypto';
import type { ApiModule, SandboxContext } from '../context.js';
import type { ErrorFault } from '../faults.js';
import type { SandboxReply, SandboxRequest } from '../router.js';
import { registerRepoRoutes, type GithubOwner } from './github-repos.js';

export const GITHUB_API = 'github';
const DOCS = 'https://docs.github.com/rest';

export type Access = 'read' | 'write';

export interface GithubToken {
  token: string;
  /** The user or app the token acts for (rate-limit messages). */
  login?: string;
  /** Fine-grained permissions, e.g. { administration: 'read', actions: 'read' }. */
  permissions: Record<string, Access>;
  /** Repositories ("owner/name") the token may see; unset = every seeded repository. */
  repositories?: string[];
  /** Organizations whose org-level endpoints the token may use. */
  organizations?: string[];
  /** Rate limit budget (default 5000) and what is left. */
  rateLimit?: number;
  remaining?: number;
}

export interface GithubLabel {
  id: number;
  name: string;
  type: 'read-only' | 'custom';
}

export interface GithubRunner {
  id: number;
  name: string;
  os: string;
  status: 'online' | 'offline';
  busy: boolean;
  ephemeral?: boolean;
  runner_group_id?: number;
  labels: GithubLabel[];
  /** Where the runner is registered: "owner/name" for a repository runner, else `org`. */
  repository?: string;
  org?: string;
}

export interface GithubJob {
  id: number;
  run_id: number;
  name: string;
  status: 'queued' | 'in_progress' | 'completed' | 'waiting' | 'pending' | 'requested';
  conclusion: string | null;
  labels: string[];
  runner_id: number | null;
  runner_name: string | null;
  runner_group_id: number | null;
  runner_group_name: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  workflow_name: string;
  head_branch: string;
  head_sha: string;
}

export interface GithubRun {
  id: number;
  name: string;
  repository: string;
  status: 'queued' | 'in_progress' | 'completed' | 'waiting' | 'pending' | 'requested';
  conclusion: string | null;
  event: string;
  head_branch: string;
  head_sha: string;
  run_number: number;
  run_attempt: number;
  created_at: string;
  updated_at: string;
}

export interface GithubRepo {
  owner: string;
  name: string;
  id: number;
  private?: boolean;
}

export interface GithubIssue {
  number: number;
  /** "owner/name". */
  repository: string;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  state_reason: 'completed' | 'not_planned' | 'reopened' | null;
  labels: string[];
  /** Who opened it (the token's login). */
  user: string;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
}

export interface GithubComment {
  id: number;
  repository: string;
  issue_number: number;
  body: string;
  user: string;
  created_at: string;
  updated_at: string;
}

export interface GithubSeed {
  repos: GithubRepo[];
  /** Users and organizations by login (repository owners not listed are organizations on the team plan). */
  owners?: GithubOwner[];
  /** User logins that exist (collaborators may be invited). */
  users?: string[];
  tokens: GithubToken[];
  runners: GithubRunner[];
  runs: GithubRun[];
  jobs: GithubJob[];
  issues: GithubIssue[];
  comments: GithubComment[];
}

export interface QueueJobOptions {
  repository?: string;
  labels: string[];
  name?: string;
  workflow?: string;
  /** Add the job to this run (else a new queued run). */
  runId?: number;
  /** When the job was queued (ISO time or Date); default now. */
  createdAt?: string | Date;
}

export interface GithubRestService {
  state: GithubSeed;
  runner(name: string): GithubRunner | undefined;
  /** Change a runner's status / busy flag (by name). */
  setRunner(name: string, patch: Partial<Pick<GithubRunner, 'status' | 'busy' | 'labels'>>): GithubRunner;
  addRunner(r: { name: string; labels: string[]; os?: string; status?: 'online' | 'offline'; busy?: boolean; repository?: string; org?: string }): GithubRunner;
  /** A queued job (in a new queued run unless runId is given). */
  queueJob(opts: QueueJobOptions): { run: GithubRun; job: GithubJob };
  /** A queued job starts on a runner (the runner becomes busy). */
  startJob(jobId: number, runnerName: string): GithubJob;
  completeJob(jobId: number, conclusion?: string): GithubJob;
  addToken(t: Omit<GithubToken, 'token'> & { token?: string }): GithubToken;
  /** Set what is left of a token's rate-limit budget (0 = the next call gets 403 rate limit exceeded). */
  setRemaining(token: string, remaining: number): void;
  /** The issues of a repository (default: the first seeded one), oldest first. */
  issues(repository?: string): GithubIssue[];
  /** The comments on an issue, oldest first. */
  comments(issueNumber: number, repository?: string): GithubComment[];
  /** Back to the seed as loaded. */
  reset(): void;
}

export function defaultGithubSeed(): GithubSeed {
  return { repos: [], tokens: [], runners: [], runs: [], jobs: [], issues: [], comments: [] };
}

const READ_ONLY_LABELS = new Set(['self-hosted', 'linux', 'windows', 'macos', 'x64', 'arm64', 'arm']);

function gh(status: number, message: string, documentation = DOCS, headers: Record<string, string> = {}): SandboxReply {
  return { status, headers, json: { message, documentation_url: documentation, status: String(status) } };
}

/** The token of `Authorization: Bearer X` or `Authorization: token X`. */
export function githubTokenOf(authorization: string | undefined): string | undefined {
  const m = /^(?:bearer|token)\s+(\S+)\s*$/i.exec(authorization?.trim() ?? '');
  return m?.[1];
}

function nowIso(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const mod: ApiModule = {
  id: 'github-rest',
  register(ctx: SandboxContext) {
    const st = ctx.state.section<GithubSeed>('github', defaultGithubSeed);
    for (const k of ['repos', 'tokens', 'runners', 'runs', 'jobs', 'issues', 'comments'] as const) st[k] ??= [];
    const pristine = structuredClone(st);
    const base = `${ctx.baseUrl}/github`;
    const maxId = (xs: { id: number }[]): number => xs.reduce((m, x) => Math.max(m, x.id), 0);
    const labelId = (): number => 1 + Math.max(0, ...st.runners.flatMap((r) => r.labels.map((l) => l.id)));
    const toLabels = (names: string[]): GithubLabel[] => {
      let next = labelId();
      return names.map((n) => ({ id: next++, name: n, type: READ_ONLY_LABELS.has(n.toLowerCase()) ? 'read-only' : 'custom' }));
    };

    // --- request-level faults in GitHub's shape (the core applies the rules, this words the answer) ---
    const faultReply = (rule: ErrorFault): SandboxReply => {
      if (rule.status === 429) {
        return gh(
          429,
          rule.message ?? 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
          'https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits',
        );
      }
      if (rule.status === 403) {
        return gh(403, rule.message ?? 'API rate limit exceeded.', 'https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api', {
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
        });
      }
      if (rule.status >= 500) return { status: rule.status, json: { message: rule.message ?? 'Server Error' } };
      return gh(rule.status, rule.message ?? `Injected fault (${rule.status}).`);
    };

    // --- auth, rate limit, repository access, permission ----------------------------------------------
    type Guarded = (req: SandboxRequest, token: GithubToken) => SandboxReply;
    const guard = (name: string, permission: [string, Access], scope: 'repo' | 'org' | 'user', docs: string, fn: Guarded) => (req: SandboxRequest): SandboxReply => {
      const reply = ((): SandboxReply => {
        const value = githubTokenOf(req.headers.authorization);
        const token = value === undefined ? undefined : st.tokens.find((t) => t.token === value);
        if (!token) {
          return value === undefined ? gh(401, 'Requires authentication', docs) : gh(401, 'Bad credentials', DOCS);
        }
        token.rateLimit ??= 5000;
        token.remaining ??= token.rateLimit;
        const reset = String(Math.floor(Date.now() / 1000) + 3600);
        const limitHeaders = (): Record<string, string> => ({
          'x-ratelimit-limit': String(token.rateLimit),
          'x-ratelimit-remaining': String(token.remaining),
          'x-ratelimit-used': String((token.rateLimit ?? 0) - (token.remaining ?? 0)),
          'x-ratelimit-reset': reset,
          'x-ratelimit-resource': 'core',
        });
        if (token.remaining <= 0) {
          return gh(403, `API rate limit exceeded for ${token.login ?? 'this token'}.`, 'https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api', limitHeaders());
        }
        token.remaining -= 1;
        const withLimits = (r: SandboxReply): SandboxReply => ({ ...r, headers: { ...limitHeaders(), ...(r.headers ?? {}) } });
        if (scope === 'repo') {
          const full = `${req.params.owner}/${req.params.repo}`.toLowerCase();
          const repo = st.repos.find((r) => `${r.owner}/${r.name}`.toLowerCase() === full);
          const visible = repo && (!token.repositories || token.repositories.some((r) => r.toLowerCase() === full));
          if (!visible) return withLimits(gh(404, 'Not Found', docs));
        } else if (scope === 'org') {
          const org = (req.params.org ?? '').toLowerCase();
          const known = st.repos.some((r) => r.owner.toLowerCase() === org) || (st.owners ?? []).some((o) => o.type === 'Organization' && o.login.toLowerCase() === org);
          if (!known) return withLimits(gh(404, 'Not Found', docs));
          if (!token.organizations?.some((o) => o.toLowerCase() === org)) {
            return withLimits(gh(403, 'Resource not accessible by integration', docs, { 'x-accepted-github-permissions': `${permission[0]}=${permission[1]}` }));
          }
        }
        const [perm, need] = permission;
        const have = token.permissions[perm];
        if (!have || (need === 'write' && have !== 'write')) {
          return withLimits(gh(403, 'Resource not accessible by integration', docs, { 'x-accepted-github-permissions': `${perm}=${need}` }));
        }
        return withLimits(fn(req, token));
      })();
      return { ...reply, headers: { 'x-github-api-version-selected': '2022-11-28', 'x-github-media-type': 'github.v3; format=json', ...(reply.headers ?? {}) } };
    };

    // --- pagination -----------------------------------------------------------------------------------
    const paginate = <T>(req: SandboxRequest, items: T[]): { page: T[]; headers: Record<string, string> } => {
      const perRaw = Number(req.query.get('per_page') ?? 30);
      const per = Number.isFinite(perRaw) && perRaw >= 1 ? Math.min(100, Math.floor(perRaw)) : 30;
      const pageRaw = Number(req.query.get('page') ?? 1);
      const page = Number.isFinite(pageRaw) && pageRaw >= 1 ? Math.floor(pageRaw) : 1;
      const last = Math.max(1, Math.ceil(items.length / per));
      const link = (p: number, rel: string): string => {
        const q = new URLSearchParams(req.query);
        q.set('per_page', String(per));
        q.set('page', String(p));
        return `<${base}${req.path.replace(/^\/github/, '')}?${q.toString()}>; rel="${rel}"`;
      };
      const links: string[] = [];
      if (page > 1) links.push(link(page - 1, 'prev'));
      if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
      if (page > 1) links.push(link(1, 'first'));
      return { page: items.slice((page - 1) * per, page * per), headers: links.length ? { link: links.join(', ') } : {} };
    };

    const runnerJson = (r: GithubRunner) => ({
      id: r.id,
      name: r.name,
      os: r.os,
      status: r.status,
      busy: r.busy,
      ephemeral: r.ephemeral ?? false,
      runner_group_id: r.runner_group_id ?? 1,
      labels: r.labels.map((l) => ({ id: l.id, name: l.name, type: l.type })),
    });
    const repoOf = (req: SandboxRequest): string => {
      const full = `${req.params.owner}/${req.params.repo}`.toLowerCase();
      const repo = st.repos.find((r) => `${r.owner}/${r.name}`.toLowerCase() === full);
      return repo ? `${repo.owner}/${repo.name}` : full;
    };
    const runJson = (r: GithubRun) => {
      const url = `${base}/repos/${r.repository}/actions/runs/${r.id}`;
      return {
        id: r.id,
        name: r.name,
        node_id: `WFR_${r.id}`,
        head_branch: r.head_branch,
        head_sha: r.head_sha,
        path: `.github/workflows/${r.name}.yml`,
        run_number: r.run_number,
        run_attempt: r.run_attempt,
        event: r.event,
        status: r.status,
        conclusion: r.conclusion,
        workflow_id: 1,
        url,
        html_url: `https://github.com/${r.repository}/actions/runs/${r.id}`,
        jobs_url: `${url}/jobs`,
        created_at: r.created_at,
        updated_at: r.updated_at,
        run_started_at: r.created_at,
      };
    };
    const jobJson = (j: GithubJob, repository: string) => ({
      id: j.id,
      run_id: j.run_id,
      run_url: `${base}/repos/${repository}/actions/runs/${j.run_id}`,
      node_id: `CR_${j.id}`,
      head_sha: j.head_sha,
      head_branch: j.head_branch,
      url: `${base}/repos/${repository}/actions/jobs/${j.id}`,
      html_url: `https://github.com/${repository}/actions/runs/${j.run_id}/job/${j.id}`,
      status: j.status,
      conclusion: j.conclusion,
      created_at: j.created_at,
      started_at: j.started_at,
      completed_at: j.completed_at,
      name: j.name,
      steps: [],
      labels: j.labels,
      runner_id: j.runner_id,
      runner_name: j.runner_name,
      runner_group_id: j.runner_group_id,
      runner_group_name: j.runner_group_name,
      workflow_name: j.workflow_name,
    });

    const runnersDocs = 'https://docs.github.com/rest/actions/self-hosted-runners#list-self-hosted-runners-for-a-repository';
    const add = (method: string, path: string, name: string, handler: (req: SandboxRequest) => SandboxReply): void =>
      ctx.router.add({ method, path, api: GITHUB_API, name, auth: false, handler, faultReply });
    registerRepoRoutes({ st, base, add, guard, gh, nowIso, maxId });

    add(
      'GET',
      '/github/repos/{owner}/{repo}/actions/runners',
      'runners.listForRepo',
      guard('runners.listForRepo', ['administration', 'read'], 'repo', runnersDocs, (req) => {
        const full = repoOf(req);
        let rs = st.runners.filter((r) => r.repository?.toLowerCase() === full.toLowerCase());
        const byName = req.query.get('name');
        if (byName) rs = rs.filter((r) => r.name === byName);
        const { page, headers } = paginate(req, rs);
        return { headers, json: { total_count: rs.length, runners: page.map(runnerJson) } };
      }),
    );
    add(
      'GET',
      '/github/orgs/{org}/actions/runners',
      'runners.listForOrg',
      guard('runners.listForOrg', ['organization_self_hosted_runners', 'read'], 'org', 'https://docs.github.com/rest/actions/self-hosted-runners#list-self-hosted-runners-for-an-organization', (req) => {
        const org = (req.params.org ?? '').toLowerCase();
        let rs = st.runners.filter((r) => r.org?.toLowerCase() === org);
        const byName = req.query.get('name');
        if (byName) rs = rs.filter((r) => r.name === byName);
        const { page, headers } = paginate(req, rs);
        return { headers, json: { total_count: rs.length, runners: page.map(runnerJson) } };
      }),
    );
    const jitDocs = 'https://docs.github.com/rest/actions/self-hosted-runners#create-configuration-for-a-just-in-time-runner-for-a-repository';
    add(
      'POST',
      '/github/repos/{owner}/{repo}/actions/runners/generate-jitconfig',
      'runners.generateJitconfig',
      guard('runners.generateJitconfig', ['administration', 'write'], 'repo', jitDocs, (req) => {
        let body: Record<string, unknown>;
        try {
          body = (JSON.parse(req.body.toString('utf8') || 'null') ?? {}) as Record<string, unknown>;
        } catch {
          return gh(400, 'Problems parsing JSON', jitDocs);
        }
        for (const field of ['name', 'runner_group_id', 'labels']) {
          if (body[field] === undefined) return gh(422, `Invalid request.\n\n"${field}" wasn't supplied.`, jitDocs);
        }
        const labels = body.labels;
        if (typeof body.name !== 'string' || body.name === '') return gh(422, 'Invalid request.\n\nFor \'properties/name\', is not a string.', jitDocs);
        if (typeof body.runner_group_id !== 'number') return gh(422, `Invalid request.\n\nFor 'properties/runner_group_id', ${JSON.stringify(body.runner_group_id)} is not an integer.`, jitDocs);
        if (!Array.isArray(labels) || labels.length < 1 || labels.length > 100 || labels.some((l) => typeof l !== 'string' || l === '')) {
          return gh(422, 'Invalid request.\n\nFor \'properties/labels\', expected 1 to 100 non-empty strings.', jitDocs);
        }
        if (body.work_folder !== undefined && typeof body.work_folder !== 'string') return gh(422, 'Invalid request.\n\nFor \'properties/work_folder\', is not a string.', jitDocs);
        const full = repoOf(req);
        if (st.runners.some((r) => r.repository?.toLowerCase() === full.toLowerCase() && r.name === body.name)) {
          return gh(409, `Already exists - A runner with the name ${body.name} already exists.`, jitDocs);
        }
        const names = ['self-hosted', ...(labels as string[]).filter((l) => l.toLowerCase() !== 'self-hosted')];
        const runner: GithubRunner = {
          id: maxId(st.runners) + 1,
          name: body.name,
          os: 'unknown',
          status: 'offline',
          busy: false,
          ephemeral: true,
          runner_group_id: body.runner_group_id,
          labels: toLabels(names),
          repository: full,
        };
        st.runners.push(runner);
        const jit = { '.runner': Buffer.from(JSON.stringify({ agentId: runner.id, agentName: runner.name, workFolder: body.work_folder ?? '_work', ephemeral: true })).toString('base64'), '.credentials': randomBytes(24).toString('base64') };
        return { status: 201, json: { runner: runnerJson(runner), encoded_jit_config: Buffer.from(JSON.stringify(jit)).toString('base64') } };
      }),
    );
    const deleteDocs = 'https://docs.github.com/rest/actions/self-hosted-runners#delete-a-self-hosted-runner-from-a-repository';
    add(
      'DELETE',
      '/github/repos/{owner}/{repo}/actions/runners/{runner_id}',
      'runners.delete',
      guard('runners.delete', ['administration', 'write'], 'repo', deleteDocs, (req) => {
        const full = repoOf(req).toLowerCase();
        const idx = st.runners.findIndex((r) => String(r.id) === req.params.runner_id && r.repository?.toLowerCase() === full);
        const runner = st.runners[idx];
        if (!runner) return gh(404, 'Not Found', deleteDocs);
        if (runner.busy) return gh(422, `Bad request - Runner "${runner.name}" is still running a job"`, deleteDocs);
        st.runners.splice(idx, 1);
        return { status: 204, body: '' };
      }),
    );
    const runsDocs = 'https://docs.github.com/rest/actions/workflow-runs#list-workflow-runs-for-a-repository';
    add(
      'GET',
      '/github/repos/{owner}/{repo}/actions/runs',
      'runs.listForRepo',
      guard('runs.listForRepo', ['actions', 'read'], 'repo', runsDocs, (req) => {
        const full = repoOf(req).toLowerCase();
        const status = req.query.get('status');
        const runs = st.runs
          .filter((r) => r.repository.toLowerCase() === full && (!status || r.status === status || r.conclusion === status))
          .sort((a, b) => b.id - a.id);
        const { page, headers } = paginate(req, runs);
        return { headers, json: { total_count: runs.length, workflow_runs: page.map(runJson) } };
      }),
    );
    const jobsDocs = 'https://docs.github.com/rest/actions/workflow-jobs#list-jobs-for-a-workflow-run';
    add(
      'GET',
      '/github/repos/{owner}/{repo}/actions/runs/{run_id}/jobs',
      'jobs.listForRun',
      guard('jobs.listForRun', ['actions', 'read'], 'repo', jobsDocs, (req) => {
        const full = repoOf(req);
        const run = st.runs.find((r) => String(r.id) === req.params.run_id && r.repository.toLowerCase() === full.toLowerCase());
        if (!run) return gh(404, 'Not Found', jobsDocs);
        const jobs = st.jobs.filter((j) => j.run_id === run.id).sort((a, b) => a.id - b.id);
        const { page, headers } = paginate(req, jobs);
        return { headers, json: { total_count: jobs.length, jobs: page.map((j) => jobJson(j, run.repository)) } };
      }),
    );

    // --- issues and their comments ---------------------------------------------------------------------
    const issuesDocs = 'https://docs.github.com/rest/issues/issues';
    const commentsDocs = 'https://docs.github.com/rest/issues/comments';
    const labelJson = (name: string) => {
      const id = 1 + [...name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 1_000_000_007, 7);
      return { id, node_id: `LA_${id}`, url: '', name, color: 'ededed', default: false, description: null };
    };
    const userJson = (login: string) => ({ login, id: 1, type: login.endsWith('[bot]') ? 'Bot' : 'User', site_admin: false });
    const issueJson = (i: GithubIssue) => {
      const url = `${base}/repos/${i.repository}/issues/${i.number}`;
      return {
        id: 3_000_000 + i.number,
        node_id: `I_${i.number}`,
        url,
        repository_url: `${base}/repos/${i.repository}`,
        labels_url: `${url}/labels{/name}`,
        comments_url: `${url}/comments`,
        html_url: `https://github.com/${i.repository}/issues/${i.number}`,
        number: i.number,
        title: i.title,
        body: i.body,
        state: i.state,
        state_reason: i.state_reason,
        locked: false,
        labels: i.labels.map(labelJson),
        user: userJson(i.user),
        assignee: null,
        assignees: [],
        milestone: null,
        comments: st.comments.filter((c) => c.repository === i.repository && c.issue_number === i.number).length,
        created_at: i.created_at,
        updated_at: i.updated_at,
        closed_at: i.closed_at,
        author_association: 'NONE',
      };
    };
    const commentJson = (c: GithubComment) => ({
      id: c.id,
      node_id: `IC_${c.id}`,
      url: `${base}/repos/${c.repository}/issues/comments/${c.id}`,
      html_url: `https://github.com/${c.repository}/issues/${c.issue_number}#issuecomment-${c.id}`,
      issue_url: `${base}/repos/${c.repository}/issues/${c.issue_number}`,
      body: c.body,
      user: userJson(c.user),
      created_at: c.created_at,
      updated_at: c.updated_at,
      author_association: 'NONE',
    });
    /** The JSON object a write sends, or the 400 GitHub answers for anything else. */
    const jsonBody = (req: SandboxRequest, docs: string): { body: Record<string, unknown> } | { reply: SandboxReply } => {
      try {
        const v = JSON.parse(req.body.toString('utf8') || '{}') as unknown;
        if (v && typeof v === 'object' && !Array.isArray(v)) return { body: v as Record<string, unknown> };
      } catch {
        // answered below
      }
      return { reply: gh(400, 'Problems parsing JSON', docs) };
    };
    const invalid = (field: string, why: string, docs: string): SandboxReply => gh(422, `Invalid request.\n\nFor 'properties/${field}', ${why}.`, docs);
    /** Labels as GitHub takes them: names, or objects with a name. */
    const labelNames = (v: unknown): string[] | undefined => {
      if (!Array.isArray(v)) return undefined;
      const names = v.map((l: unknown) => (typeof l === 'string' ? l : l && typeof l === 'object' && typeof (l as { name?: unknown }).name === 'string' ? (l as { name: string }).name : undefined));
      return names.every((n): n is string => typeof n === 'string' && n.trim() !== '') ? [...new Set(names.map((n) => n.trim()))] : undefined;
    };
    const findIssue = (req: SandboxRequest): GithubIssue | undefined => {
      const full = repoOf(req).toLowerCase();
      return st.issues.find((i) => i.repository.toLowerCase() === full && String(i.number) === req.params.issue_number);
    };

    add(
      'GET',
      '/github/repos/{owner}/{repo}/issues',
      'issues.listForRepo',
      guard('issues.listForRepo', ['issues', 'read'], 'repo', `${issuesDocs}#list-repository-issues`, (req) => {
        const full = repoOf(req).toLowerCase();
        const state = req.query.get('state') ?? 'open';
        if (!['open', 'closed', 'all'].includes(state)) return gh(422, 'Validation Failed', `${issuesDocs}#list-repository-issues`);
        const wanted = (req.query.get('labels') ?? '')
          .split(',')
          .map((l) => l.trim().toLowerCase())
          .filter(Boolean);
        const direction = req.query.get('direction') ?? 'desc';
        const issues = st.issues
          .filter((i) => i.repository.toLowerCase() === full && (state === 'all' || i.state === state))
          .filter((i) => wanted.every((w) => i.labels.some((l) => l.toLowerCase() === w)))
          .sort((a, b) => (direction === 'asc' ? a.number - b.number : b.number - a.number));
        const { page, headers } = paginate(req, issues);
        return { headers, json: page.map(issueJson) };
      }),
    );
    add(
      'POST',
      '/github/repos/{owner}/{repo}/issues',
      'issues.create',
      guard('issues.create', ['issues', 'write'], 'repo', `${issuesDocs}#create-an-issue`, (req, token) => {
        const docs = `${issuesDocs}#create-an-issue`;
        const parsed = jsonBody(req, docs);
        if ('reply' in parsed) return parsed.reply;
        const b = parsed.body;
        if (b.title === undefined) return gh(422, 'Invalid request.\n\n"title" wasn\'t supplied.', docs);
        if (typeof b.title !== 'string' || b.title.trim() === '') return invalid('title', 'is not a non-empty string', docs);
        if (b.body !== undefined && b.body !== null && typeof b.body !== 'string') return invalid('body', 'is not a string', docs);
        const labels = b.labels === undefined ? [] : labelNames(b.labels);
        if (!labels) return invalid('labels', 'expected an array of label names', docs);
        const now = nowIso();
        const repository = repoOf(req);
        const issue: GithubIssue = {
          number: 1 + st.issues.filter((i) => i.repository.toLowerCase() === repository.toLowerCase()).reduce((m, i) => Math.max(m, i.number), 0),
          repository,
          title: b.title,
          body: typeof b.body === 'string' ? b.body : null,
          state: 'open',
          state_reason: null,
          labels,
          user: token.login ?? 'github-actions[bot]',
          created_at: now,
          updated_at: now,
          closed_at: null,
        };
        st.issues.push(issue);
        return { status: 201, headers: { location: `${base}/repos/${repository}/issues/${issue.number}` }, json: issueJson(issue) };
      }),
    );
    add(
      'GET',
      '/github/repos/{owner}/{repo}/issues/{issue_number}',
      'issues.get',
      guard('issues.get', ['issues', 'read'], 'repo', `${issuesDocs}#get-an-issue`, (req) => {
        const issue = findIssue(req);
        return issue ? { json: issueJson(issue) } : gh(404, 'Not Found', `${issuesDocs}#get-an-issue`);
      }),
    );
    add(
      'PATCH',
      '/github/repos/{owner}/{repo}/issues/{issue_number}',
      'issues.update',
      guard('issues.update', ['issues', 'write'], 'repo', `${issuesDocs}#update-an-issue`, (req) => {
        const docs = `${issuesDocs}#update-an-issue`;
        const issue = findIssue(req);
        if (!issue) return gh(404, 'Not Found', docs);
        const parsed = jsonBody(req, docs);
        if ('reply' in parsed) return parsed.reply;
        const b = parsed.body;
        if (b.title !== undefined && (typeof b.title !== 'string' || b.title.trim() === '')) return invalid('title', 'is not a non-empty string', docs);
        if (b.body !== undefined && b.body !== null && typeof b.body !== 'string') return invalid('body', 'is not a string', docs);
        if (b.state !== undefined && b.state !== 'open' && b.state !== 'closed') return invalid('state', `${JSON.stringify(b.state)} is not one of ["open","closed"]`, docs);
        const reasons = ['completed', 'not_planned', 'reopened'];
        if (b.state_reason !== undefined && b.state_reason !== null && !reasons.includes(b.state_reason as string)) {
          return invalid('state_reason', `${JSON.stringify(b.state_reason)} is not one of ["completed","not_planned","reopened",null]`, docs);
        }
        const labels = b.labels === undefined ? issue.labels : labelNames(b.labels);
        if (!labels) return invalid('labels', 'expected an array of label names', docs);
        const now = nowIso();
        if (typeof b.title === 'string') issue.title = b.title;
        if (b.body !== undefined) issue.body = typeof b.body === 'string' ? b.body : null;
        issue.labels = labels;
        if (b.state === 'closed' && issue.state === 'open') {
          Object.assign(issue, { state: 'closed', closed_at: now, state_reason: (b.state_reason as GithubIssue['state_reason']) ?? 'completed' });
        } else if (b.state === 'open' && issue.state === 'closed') {
          Object.assign(issue, { state: 'open', closed_at: null, state_reason: 'reopened' });
        }
        issue.updated_at = now;
        return { json: issueJson(issue) };
      }),
    );
    add(
      'GET',
      '/github/repos/{owner}/{repo}/issues/{issue_number}/comments',
      'issues.listComments',
      guard('issues.listComments', ['issues', 'read'], 'repo', `${commentsDocs}#list-issue-comments`, (req) => {
        const issue = findIssue(req);
        if (!issue) return gh(404, 'Not Found', `${commentsDocs}#list-issue-comments`);
        const comments = st.comments.filter((c) => c.repository === issue.repository && c.issue_number === issue.number).sort((a, b) => a.id - b.id);
        const { page, headers } = paginate(req, comments);
        return { headers, json: page.map(commentJson) };
      }),
    );
    add(
      'POST',
      '/github/repos/{owner}/{repo}/issues/{issue_number}/comments',
      'issues.createComment',
      guard('issues.createComment', ['issues', 'write'], 'repo', `${commentsDocs}#create-an-issue-comment`, (req, token) => {
        const docs = `${commentsDocs}#create-an-issue-comment`;
        const issue = findIssue(req);
        if (!issue) return gh(404, 'Not Found', docs);
        const parsed = jsonBody(req, docs);
        if ('reply' in parsed) return parsed.reply;
        const text = parsed.body.body;
        if (text === undefined) return gh(422, 'Invalid request.\n\n"body" wasn\'t supplied.', docs);
        if (typeof text !== 'string' || text === '') return invalid('body', 'is not a non-empty string', docs);
        const now = nowIso();
        const id = Math.max(4_000_000, maxId(st.comments)) + 1;
        const comment: GithubComment = { id, repository: issue.repository, issue_number: issue.number, body: text, user: token.login ?? 'github-actions[bot]', created_at: now, updated_at: now };
        st.comments.push(comment);
        issue.updated_at = now;
        const json = commentJson(comment);
        return { status: 201, headers: { location: json.url }, json };
      }),
    );

    // --- runtime API for tests --------------------------------------------------------------------------
    const defaultRepo = (): string => {
      const r = st.repos[0];
      if (!r) throw new Error('github seed has no repository');
      return `${r.owner}/${r.name}`;
    };
    const refreshRun = (runId: number): void => {
      const run = st.runs.find((r) => r.id === runId);
      if (!run) return;
      const jobs = st.jobs.filter((j) => j.run_id === runId);
      run.status = jobs.every((j) => j.status === 'completed') ? 'completed' : jobs.some((j) => j.status !== 'queued') ? 'in_progress' : 'queued';
      if (run.status === 'completed') run.conclusion = jobs.every((j) => j.conclusion === 'success') ? 'success' : 'failure';
      run.updated_at = nowIso();
    };
    const service: GithubRestService = {
      state: st,
      runner: (name) => st.runners.find((r) => r.name === name),
      setRunner(name, patch) {
        const r = st.runners.find((x) => x.name === name);
        if (!r) throw new Error(`no runner named ${name}`);
        Object.assign(r, patch);
        return r;
      },
      addRunner(r) {
        const runner: GithubRunner = {
          id: maxId(st.runners) + 1,
          name: r.name,
          os: r.os ?? 'Linux',
          status: r.status ?? 'online',
          busy: r.busy ?? false,
          labels: toLabels(r.labels),
          ...(r.org ? { org: r.org } : { repository: r.repository ?? defaultRepo() }),
        };
        st.runners.push(runner);
        return runner;
      },
      queueJob(opts) {
        const created = opts.createdAt === undefined ? nowIso() : new Date(opts.createdAt).toISOString().replace(/\.\d{3}Z$/, 'Z');
        let run = opts.runId === undefined ? undefined : st.runs.find((r) => r.id === opts.runId);
        if (opts.runId !== undefined && !run) throw new Error(`no run ${opts.runId}`);
        if (!run) {
          const id = Math.max(1000, maxId(st.runs)) + 1;
          run = {
            id,
            name: opts.workflow ?? 'train',
            repository: opts.repository ?? defaultRepo(),
            status: 'queued',
            conclusion: null,
            event: 'workflow_dispatch',
            head_branch: 'main',
            head_sha: '0123456789abcdef0123456789abcdef01234567',
            run_number: st.runs.length + 1,
            run_attempt: 1,
            created_at: created,
            updated_at: created,
          };
          st.runs.push(run);
        }
        const job: GithubJob = {
          id: Math.max(5000, maxId(st.jobs)) + 1,
          run_id: run.id,
          name: opts.name ?? 'train',
          status: 'queued',
          conclusion: null,
          labels: [...opts.labels],
          runner_id: null,
          runner_name: null,
          runner_group_id: null,
          runner_group_name: null,
          created_at: created,
          started_at: null,
          completed_at: null,
          workflow_name: run.name,
          head_branch: run.head_branch,
          head_sha: run.head_sha,
        };
        st.jobs.push(job);
        refreshRun(run.id);
        return { run, job };
      },
      startJob(jobId, runnerName) {
        const job = st.jobs.find((j) => j.id === jobId);
        const runner = st.runners.find((r) => r.name === runnerName);
        if (!job || !runner) throw new Error(`no job ${jobId} or runner ${runnerName}`);
        Object.assign(job, { status: 'in_progress', started_at: nowIso(), runner_id: runner.id, runner_name: runner.name, runner_group_id: 1, runner_group_name: 'Default' });
        runner.busy = true;
        refreshRun(job.run_id);
        return job;
      },
      completeJob(jobId, conclusion = 'success') {
        const job = st.jobs.find((j) => j.id === jobId);
        if (!job) throw new Error(`no job ${jobId}`);
        Object.assign(job, { status: 'completed', conclusion, completed_at: nowIso() });
        const runner = st.runners.find((r) => r.id === job.runner_id);
        if (runner) runner.busy = false;
        refreshRun(job.run_id);
        return job;
      },
      addToken(t) {
        const token: GithubToken = { ...t, token: t.token ?? `github_pat_${randomBytes(30).toString('base64url')}` };
        st.tokens.push(token);
        return token;
      },
      setRemaining(token, remaining) {
        const t = st.tokens.find((x) => x.token === token);
        if (!t) throw new Error('unknown token');
        t.remaining = remaining;
      },
      issues(repository = defaultRepo()) {
        return st.issues.filter((i) => i.repository.toLowerCase() === repository.toLowerCase()).sort((a, b) => a.number - b.number);
      },
      comments(issueNumber, repository = defaultRepo()) {
        return st.comments.filter((c) => c.repository.toLowerCase() === repository.toLowerCase() && c.issue_number === issueNumber).sort((a, b) => a.id - b.id);
      },
      reset() {
        const fresh = structuredClone(pristine);
        for (const k of ['repos', 'tokens', 'runners', 'runs', 'jobs', 'issues', 'comments'] as const) {
          (st[k] as unknown[]).splice(0, st[k].length, ...(fresh[k] as unknown[]));
        }
      },
    };
    ctx.services.set('github-rest', service);
  },
};

export default mod;
