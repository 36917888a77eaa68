// The job token (GITHUB_TOKEN): GitHub's Actions service mints, for each job, an installation token of
// the GitHub Actions app whose permissions are the job's `permissions:`. Here the runner asks for it
// with GitHub's own "create an installation access token" call, authenticated with the sandbox's
// runner token (kind github-runner) where GitHub wants the app's JWT.
import { randomBytes } from 'node:crypto';
import type { Access, GithubRestService } from './model.js';
import { gh, githubTokenOf, type GithubParts } from './parts.js';

const TOKEN_PERMISSIONS = new Set([
  'actions', 'attestations', 'checks', 'contents', 'deployments', 'discussions', 'issues', 'metadata', 'packages',
  'pages', 'pull_requests', 'repository_projects', 'security_events', 'statuses',
]);

export function appRoutes(p: GithubParts, service: GithubRestService): void {
  const { ctx, st, add } = p;
  add('POST', '/github/app/installations/{installation_id}/access_tokens', 'apps.createInstallationAccessToken', (req) => {
    const runner = ctx.tokens.verify(githubTokenOf(req.headers.authorization));
    if (!runner || runner.kind !== 'github-runner') return gh(401, 'A JSON web token could not be decoded', 'https://docs.github.com/rest');
    const body = (req.json() ?? {}) as { repositories?: string[]; permissions?: Record<string, string> };
    const permissions: Record<string, Access> = { metadata: 'read' };
    for (const [k, v] of Object.entries(body.permissions ?? {})) {
      if (!TOKEN_PERMISSIONS.has(k) || (v !== 'read' && v !== 'write')) {
        return gh(422, 'The permissions requested are not granted to this installation.', 'https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app');
      }
      permissions[k] = v;
    }
    const owner = st.repos[0]?.owner ?? 'mlabs';
    const repositories = (body.repositories ?? []).map((r) => (r.includes('/') ? r : `${owner}/${r}`));
    const token = service.addToken({ login: 'github-actions[bot]', permissions, ...(repositories.length ? { repositories } : {}), token: `ghs_${randomBytes(27).toString('base64url')}` });
    const expires = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    return { status: 201, json: { token: token.token, expires_at: expires, permissions, repository_selection: repositories.length ? 'selected' : 'all' } };
  });
}
