/**
 * The GitHub REST calls routing needs: the repository's self-hosted runners and the jobs waiting for
 * them. Base URL from GITHUB_API_URL (the runner sets it; https://api.github.com otherwise). Retries
 * 429/5xx through lib/http.ts; turns GitHub's `{message, documentation_url}` errors into ActionErrors
 * naming the permission the token lacks.
 */
import { ActionError } from '../errors.js';
import { GITHUB_HEADERS, githubApiBase, githubMessage, nextLink } from '../github/rest.js';
import { ApiError, request, type RetryPolicy } from '../http.js';

export { githubApiBase };

export interface RunnerState {
  id: number;
  name: string;
  status: 'online' | 'offline';
  busy: boolean;
  labels: string[];
  /** Where the runner is registered: the repository, or its owner organisation. */
  scope?: 'repository' | 'organization';
}

/** Which runners routing reads: the repository's, and the owner organisation's unless `off`. */
export type OrgRunners = 'auto' | 'required' | 'off';

export interface RunnersRead {
  runners: RunnerState[];
  /** Why the organisation's runners were not read (auto mode, owner not an organisation or no permission). */
  orgNote?: string;
}

export interface QueuedJob {
  id: number;
  runId: number;
  name: string;
  labels: string[];
  createdAt: string;
}

export interface GithubClientOptions {
  token: string;
  /** owner/name */
  repository: string;
  retry?: RetryPolicy;
  /** Most runs to look through per status (queued, in_progress). */
  maxRuns?: number;
  /** Leave out this run's own jobs (the route job's run: its later jobs are not competitors). */
  excludeRunId?: number;
}

/** GET every page (Link rel="next") of a list and concatenate `field`, up to `max` items. */
async function listPages<T>(url: string, field: string, opts: GithubClientOptions, max = Infinity): Promise<T[]> {
  const out: T[] = [];
  let next: string | undefined = `${url}${url.includes('?') ? '&' : '?'}per_page=100`;
  while (next && out.length < max) {
    const res = await request(next, { token: opts.token, headers: { ...GITHUB_HEADERS }, ...(opts.retry ? { retry: opts.retry } : {}) });
    const page = (await res.json()) as Record<string, unknown>;
    out.push(...((page[field] as T[] | undefined) ?? []));
    next = nextLink(res.headers.get('link'));
  }
  return out.slice(0, max);
}

/** What went wrong, and which permission fixes it, for a failed GitHub call. */
export function explainGithubError(err: unknown, what: 'runners' | 'jobs', repository: string): unknown {
  if (!(err instanceof ApiError)) return err;
  const msg = githubMessage(err);
  const need =
    what === 'runners'
      ? '`administration: read` on the repository (listing self-hosted runners needs it; the workflow GITHUB_TOKEN cannot be given it, so use a fine-grained personal access token or a GitHub App installation token with Administration: read and Actions: read)'
      : '`actions: read` on the repository (the workflow needs `permissions: actions: read`)';
  const call = what === 'runners' ? `listing the self-hosted runners of ${repository}` : `listing the queued workflow runs and jobs of ${repository}`;
  if (err.httpStatus === 401) {
    return new ActionError(`GitHub refused github_token while ${call}: 401 ${msg}. The token is invalid, expired or revoked.`, {
      fix: `Pass a valid token with ${need} in github_token.`,
    });
  }
  if (err.httpStatus === 403 && /rate limit/i.test(msg)) {
    return new ActionError(`GitHub's API rate limit stopped ${call}: 403 ${msg}.`, { fix: 'Wait for the rate limit to reset (see x-ratelimit-reset), or use a token with its own budget.' });
  }
  if (err.httpStatus === 403) {
    return new ActionError(`github_token may not do this: ${call} answered 403 ${msg}.`, { fix: `Give github_token ${need}.` });
  }
  if (err.httpStatus === 404) {
    return new ActionError(`GitHub answered 404 Not Found while ${call}: the repository does not exist or github_token cannot see it.`, {
      fix: `Check the repository input ("${repository}") and give github_token access to it with ${need}.`,
    });
  }
  return new ActionError(`GitHub answered ${err.httpStatus || 'no response'} while ${call}: ${msg}`, { fix: 'Retry later; https://www.githubstatus.com shows GitHub outages.' });
}

type RawRunner = { id: number; name: string; status: string; busy: boolean; labels: { name: string }[] };
const toState = (scope: RunnerState['scope']) => (r: RawRunner): RunnerState => ({
  id: r.id,
  name: r.name,
  status: r.status === 'online' ? 'online' : 'offline',
  busy: Boolean(r.busy),
  labels: (r.labels ?? []).map((l) => l.name),
  scope,
});

/** The repository's self-hosted runners (online/offline, busy, labels). */
export async function listRunners(opts: GithubClientOptions): Promise<RunnerState[]> {
  try {
    const raw = await listPages<RawRunner>(`${githubApiBase()}/repos/${opts.repository}/actions/runners`, 'runners', opts);
    return raw.map(toState('repository'));
  } catch (err) {
    throw explainGithubError(err, 'runners', opts.repository);
  }
}

/**
 * The repository's runners and those of its owner organisation (GET /orgs/{org}/actions/runners,
 * which needs `organization_self_hosted_runners: read`). In `auto`, an owner that is a user (404)
 * or a token without that permission (403) leaves the organisation's runners out, with a note;
 * `required` makes either an error; `off` reads the repository's only.
 */
export async function listAllRunners(opts: GithubClientOptions, org: OrgRunners): Promise<RunnersRead> {
  const runners = await listRunners(opts);
  if (org === 'off') return { runners };
  const owner = opts.repository.split('/')[0] as string;
  try {
    const raw = await listPages<RawRunner>(`${githubApiBase()}/orgs/${owner}/actions/runners`, 'runners', opts);
    const seen = new Set(runners.map((r) => r.id));
    return { runners: [...runners, ...raw.filter((r) => !seen.has(r.id)).map(toState('organization'))] };
  } catch (err) {
    if (org === 'auto' && err instanceof ApiError && (err.httpStatus === 404 || (err.httpStatus === 403 && !/rate limit/i.test(githubMessage(err))))) {
      const why = err.httpStatus === 404 ? `${owner} is not an organisation this token can see (404)` : `the token may not list them (403 ${githubMessage(err)}; it needs organization_self_hosted_runners: read on ${owner})`;
      return { runners, orgNote: `Organisation runners of ${owner} not read: ${why}. Only the repository's runners were considered.` };
    }
    if (err instanceof ApiError && (err.httpStatus === 403 || err.httpStatus === 404)) {
      throw new ActionError(`Listing the organisation runners of ${owner} answered ${err.httpStatus} ${githubMessage(err)}.`, {
        fix: `Give github_token organization_self_hosted_runners: read on ${owner} (a fine-grained token or GitHub App with "Self-hosted runners: read"), or set org_runners: auto to route with the repository's runners only.`,
      });
    }
    throw explainGithubError(err, 'runners', opts.repository);
  }
}

/** Jobs waiting for a runner: the queued jobs of queued and in-progress runs (a run in progress can have jobs still queued). */
export async function listQueuedJobs(opts: GithubClientOptions): Promise<QueuedJob[]> {
  try {
    const base = `${githubApiBase()}/repos/${opts.repository}/actions/runs`;
    const max = opts.maxRuns ?? 100;
    const runs = [
      ...(await listPages<{ id: number }>(`${base}?status=queued`, 'workflow_runs', opts, max)),
      ...(await listPages<{ id: number }>(`${base}?status=in_progress`, 'workflow_runs', opts, max)),
    ];
    const out: QueuedJob[] = [];
    for (const run of runs) {
      if (run.id === opts.excludeRunId) continue;
      const jobs = await listPages<{ id: number; run_id: number; name: string; status: string; labels: string[]; created_at: string }>(
        `${base}/${run.id}/jobs`,
        'jobs',
        opts,
      );
      for (const j of jobs) {
        if (j.status === 'queued') out.push({ id: j.id, runId: j.run_id, name: j.name, labels: j.labels ?? [], createdAt: j.created_at });
      }
    }
    return out;
  } catch (err) {
    throw explainGithubError(err, 'jobs', opts.repository);
  }
}
