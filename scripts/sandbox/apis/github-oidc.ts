// GitHub Actions' OIDC token endpoint as a runner exposes it, and the issuer's JWKS.
//   GET /github/actions/idtoken?api-version=2.0&audience=AUD  (Authorization: Bearer ACTIONS_ID_TOKEN_REQUEST_TOKEN)
//     -> {"count": N, "value": "<RS256 JWT>"}
//   GET /github-oidc/.well-known/openid-configuration, GET /github-oidc/.well-known/jwks
// Claims come from the `githubOidc` seed section (live: tests may change `sandbox.state.githubOidc.claims`,
// or call the 'github-oidc' service's setClaims()). `sub` is derived like GitHub's unless set.
import { randomUUID } from 'node:crypto';
import type { ApiModule, SandboxContext } from '../context.js';
import { bearerOf } from '../tokens.js';
import { newSigningKey, signJwt, verifyJwtSignature, decodeJwt, type SigningKey } from './_jwt.js';

export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';

export interface GithubOidcSeed {
  issuer?: string;
  /** Token lifetime in seconds (GitHub's are short). Default 300. */
  ttlSeconds?: number;
  /** Claims of every token; `undefined`/null values are left out. `sub` is derived when absent. */
  claims: Record<string, unknown>;
}

export function defaultGithubOidcSeed(): GithubOidcSeed {
  return {
    issuer: GITHUB_ISSUER,
    ttlSeconds: 300,
    claims: {
      repository: 'mlabs/platform',
      repository_owner: 'mlabs',
      repository_owner_id: '1000001',
      repository_id: '2000002',
      repository_visibility: 'private',
      ref: 'refs/heads/main',
      ref_type: 'branch',
      sha: '0123456789abcdef0123456789abcdef01234567',
      workflow: 'test',
      workflow_ref: 'mlabs/platform/.github/workflows/test.yml@refs/heads/main',
      workflow_sha: '0123456789abcdef0123456789abcdef01234567',
      job_workflow_ref: 'mlabs/platform/.github/workflows/test.yml@refs/heads/main',
      job_workflow_sha: '0123456789abcdef0123456789abcdef01234567',
      event_name: 'workflow_dispatch',
      actor: 'octocat',
      actor_id: '583231',
      run_id: '1',
      run_number: '1',
      run_attempt: '1',
      runner_environment: 'self-hosted',
      head_ref: '',
      base_ref: '',
    },
  };
}

/** GitHub's default subject: repo:OWNER/REPO:environment:ENV, :pull_request, or :ref:REF. */
export function deriveSubject(c: Record<string, unknown>): string {
  const repo = String(c.repository ?? '');
  if (c.environment) return `repo:${repo}:environment:${String(c.environment)}`;
  if (c.event_name === 'pull_request' || c.event_name === 'pull_request_target') return `repo:${repo}:pull_request`;
  return `repo:${repo}:ref:${String(c.ref ?? '')}`;
}

export interface GithubOidcService {
  issuer: string;
  jwks(): { keys: object[] };
  /** A token as the runner would hand it out (extra claims override the seed's). */
  mint(audience?: string, extra?: Record<string, unknown>): string;
  /** Merge claims into the live seed (undefined removes a claim). */
  setClaims(partial: Record<string, unknown>): void;
  /** Verify a JWT against this issuer's keys (signature only). */
  verifySignature(jwt: string): boolean;
  decode: typeof decodeJwt;
}

const mod: ApiModule = {
  id: 'github-oidc',
  register(ctx: SandboxContext) {
    const seed = ctx.state.section<GithubOidcSeed>('githubOidc', defaultGithubOidcSeed);
    seed.claims ??= {};
    const key: SigningKey = newSigningKey();
    const issuer = (): string => seed.issuer ?? GITHUB_ISSUER;

    const mint = (audience?: string, extra: Record<string, unknown> = {}): string => {
      const now = Math.floor(Date.now() / 1000);
      const base: Record<string, unknown> = { ...seed.claims, ...extra };
      for (const [k, v] of Object.entries(base)) if (v === undefined || v === null) delete base[k];
      const owner = String(base.repository ?? '').split('/')[0];
      const claims: Record<string, unknown> = {
        jti: randomUUID(),
        sub: base.sub ?? deriveSubject(base),
        aud: audience ?? `https://github.com/${owner}`,
        ...base,
        iss: issuer(),
        nbf: now - 5,
        iat: now - 5,
        exp: now + (seed.ttlSeconds ?? 300),
      };
      if (base.sub !== undefined) claims.sub = base.sub;
      return signJwt(key, claims);
    };

    const service: GithubOidcService = {
      get issuer() {
        return issuer();
      },
      jwks: () => ({ keys: [key.publicJwk] }),
      mint,
      setClaims(partial) {
        for (const [k, v] of Object.entries(partial)) {
          if (v === undefined) delete seed.claims[k];
          else seed.claims[k] = v;
        }
      },
      verifySignature: (jwt) => verifyJwtSignature(jwt, [key.publicJwk]),
      decode: decodeJwt,
    };
    ctx.services.set('github-oidc', service);

    ctx.router.add({
      method: 'GET',
      path: '/github/actions/idtoken',
      api: 'github-oidc',
      name: 'idtoken',
      auth: false,
      handler(req) {
        const info = ctx.tokens.verify(bearerOf(req.headers.authorization));
        if (!info || info.kind !== 'github-runner') {
          return { status: 401, json: { message: 'Unauthorized: the runtime token is missing, expired or not a runner token.' } };
        }
        const audience = req.query.get('audience') ?? undefined;
        return { json: { count: 1, value: mint(audience || undefined) } };
      },
    });
    ctx.router.add({
      method: 'GET',
      path: '/github-oidc/.well-known/jwks',
      api: 'github-oidc',
      name: 'jwks',
      auth: false,
      handler: () => ({ json: service.jwks() }),
    });
    ctx.router.add({
      method: 'GET',
      path: '/github-oidc/.well-known/openid-configuration',
      api: 'github-oidc',
      name: 'openid-configuration',
      auth: false,
      handler: () => ({
        json: {
          issuer: issuer(),
          jwks_uri: `${ctx.baseUrl}/github-oidc/.well-known/jwks`,
          subject_types_supported: ['public', 'pairwise'],
          response_types_supported: ['id_token'],
          claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'ref', 'repository', 'repository_owner', 'workflow', 'environment', 'actor', 'job_workflow_ref'],
          id_token_signing_alg_values_supported: ['RS256'],
          scopes_supported: ['openid'],
        },
      }),
    });
  },
};

export default mod;
