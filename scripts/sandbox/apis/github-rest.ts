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
import type { ApiModule, SandboxContext } from '../context.js';
import { appRoutes } from './github/apps.js';
import { issueRoutes } from './github/issues.js';
import { repoRoutes } from './github/repos.js';
import { githubParts } from './github/parts.js';
import { runnerRoutes } from './github/runners.js';
import { runRoutes } from './github/runs.js';
import { githubService } from './github/service.js';

export * from './github/model.js';
export { readRepoFile, seedRepoFiles, seedVariables, type FullRepo } from './github/repos.js';
export { GITHUB_API, githubTokenOf } from './github/parts.js';

// One function per resource, in github/: runners, workflow runs and jobs, issues and comments; the shared
// state, guard and pagination in github/parts.ts; the test-facing service in github/service.ts.
const mod: ApiModule = {
  id: 'github-rest',
  register(ctx: SandboxContext) {
    const p = githubParts(ctx);
    runnerRoutes(p);
    runRoutes(p);
    issueRoutes(p);
    repoRoutes(p);
    const service = githubService(p);
    appRoutes(p, service);
    ctx.services.set('github-rest', service);
  },
};

export default mod;
