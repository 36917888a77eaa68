// What every GitHub REST resource shares: the state, GitHub's error shape, the token, rate-limit and
// permission guard, pagination with Link headers, and the route registrar that words injected faults
// in GitHub's shape.
import type { SandboxContext } from '../../context.js';
import type { ErrorFault } from '../../faults.js';
import type { SandboxReply, SandboxRequest } from '../../router.js';
import { defaultGithubSeed, type Access, type GithubLabel, type GithubSeed, type GithubToken } from './model.js';

export const GITHUB_API = 'github';
export const DOCS = 'https://docs.github.com/rest';

const READ_ONLY_LABELS = new Set(['self-hosted', 'linux', 'windows', 'macos', 'x64', 'arm64', 'arm']);

export function gh(status: number, message: string, documentation = DOCS, headers: Record<string, string> = {}): SandboxReply {
  return { status, headers, json: { message, documentation_url: documentation, status: String(status) } };
}

/** The token of `Authorization: Bearer X` or `Authorization: token X`. */
export function githubTokenOf(authorization: string | undefined): string | undefined {
  const m = /^(?:bearer|token)\s+(\S+)\s*$/i.exec(authorization?.trim() ?? '');
  return m?.[1];
}

export function nowIso(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** State, guard, pagination and the route registrar, built once per sandbox and shared by each resource's routes. */
export function githubParts(ctx: SandboxContext) {
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
  const repoOf = (req: SandboxRequest): string => {
    const full = `${req.params.owner}/${req.params.repo}`.toLowerCase();
    const repo = st.repos.find((r) => `${r.owner}/${r.name}`.toLowerCase() === full);
    return repo ? `${repo.owner}/${repo.name}` : full;
  };
  const add = (method: string, path: string, name: string, handler: (req: SandboxRequest) => SandboxReply): void =>
    ctx.router.add({ method, path, api: GITHUB_API, name, auth: false, handler, faultReply });
  return { ctx, st, pristine, base, maxId, toLabels, faultReply, guard, paginate, repoOf, add };
}

export type GithubParts = ReturnType<typeof githubParts>;
