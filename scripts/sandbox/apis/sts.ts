// Security Token Service: POST /sts/v1/token (RFC 8693 token exchange) for Workload Identity
// Federation. Verifies the subject token's RS256 signature against the GitHub OIDC module's JWKS,
// then the pool/provider of the `workloadIdentity` seed: state, issuer, audience, attribute mapping
// and condition. Errors are STS's flat OAuth shape {"error","error_description"} (HTTP 400 / 429).
// The access token it issues (kind 'sts') is accepted by every sandbox API.
import type { ApiModule, SandboxContext } from '../context.js';
import type { SandboxReply } from '../router.js';
import { CelError, evaluate, holds } from './_cel.js';
import type { GithubOidcService } from './github-oidc.js';
import { decodeJwt } from './_jwt.js';
import { defaultWorkloadIdentity, federatedMembers, findPool, providerName, type WorkloadIdentitySeed, IAM_HOST } from './_wif.js';

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const SUBJECT_TYPES = ['urn:ietf:params:oauth:token-type:jwt', 'urn:ietf:params:oauth:token-type:id_token'];
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

export const STS_MESSAGES = {
  audienceMismatch: (aud: string) => `The audience in ID Token [${aud}] does not match the expected audience.`,
  condition: 'The given credential is rejected by the attribute condition.',
  invalidTarget:
    'The target service indicated by the "audience" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn\'t exist.',
  invalidAudienceParam:
    'Invalid value for "audience". This value should be the full resource name of the Identity Provider. See https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token for the list of possible formats.',
  issuer: (iss: string, expected: string) => `The issuer in ID Token ${iss} does not match the expected ones: ${expected.endsWith('/') ? expected : expected + '/'}`,
  subjectTooLong:
    'The size of mapped attribute google.subject exceeds the 127 bytes limit. Either modify your attribute mapping or the incoming assertion to produce a mapped attribute that is less than 127 bytes.',
  throttled: 'The request was throttled due to rate limit: sts.googleapis.com/requests. Please retry after a few seconds.',
};

function oauth(error: string, description: string, status = 400): SandboxReply {
  return { status, json: { error, error_description: description } };
}

function readParams(body: Buffer, contentType: string | undefined): Record<string, string> {
  const text = body.toString('utf8');
  if ((contentType ?? '').includes('json')) {
    try {
      const j = JSON.parse(text) as Record<string, unknown>;
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(j)) {
        // JSON clients send camelCase (subjectToken) or snake_case (subject_token).
        const snake = k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
        out[snake] = Array.isArray(v) ? v.join(' ') : String(v);
      }
      return out;
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}

const AUDIENCE_RE = /^\/\/iam\.googleapis\.com\/projects\/([^/]+)\/locations\/global\/workloadIdentityPools\/([^/]+)\/providers\/([^/]+)$/;
const POOL_ONLY_RE = /^\/\/iam\.googleapis\.com\/projects\/[^/]+\/locations\/global\/workloadIdentityPools\/[^/]+\/?$/;

const mod: ApiModule = {
  id: 'sts',
  register(ctx: SandboxContext) {
    const wi = ctx.state.section<WorkloadIdentitySeed>('workloadIdentity', () => defaultWorkloadIdentity(ctx.project.projectNumber));
    wi.pools ??= [];
    ctx.router.add({
      method: 'POST',
      path: '/sts/v1/token',
      api: 'sts',
      name: 'token',
      auth: false,
      // Injected faults in STS's flat OAuth shape: 429 is its rate limit, anything else a server error.
      faultReply: (fault) =>
        fault.status === 429 ? oauth('quota_exceeded', fault.message ?? STS_MESSAGES.throttled, 429) : oauth('internal_error', fault.message ?? 'Internal error.', fault.status),
      handler(req) {
        const p = readParams(req.body, req.headers['content-type']);
        if (p.grant_type !== GRANT) {
          return oauth('unsupported_grant_type', `Invalid value for "grant_type". Expected "${GRANT}".`);
        }
        const audience = p.audience ?? '';
        const m = AUDIENCE_RE.exec(audience);
        if (!m) {
          if (audience === '' || POOL_ONLY_RE.test(audience) || !audience.startsWith(`//${IAM_HOST}/`)) {
            return oauth('invalid_request', STS_MESSAGES.invalidAudienceParam);
          }
          return oauth('invalid_target', STS_MESSAGES.invalidTarget);
        }
        const [, projectNumber, poolId, providerId] = m as unknown as [string, string, string, string];
        // A project ID where the number belongs never matches: pools are keyed by project number.
        const pool = /^\d+$/.test(projectNumber) ? findPool(wi, projectNumber, poolId, ctx.project.projectNumber) : undefined;
        const provider = pool?.providers.find((v) => v.providerId === providerId);
        if (!pool || !provider || (pool.state ?? 'ACTIVE') !== 'ACTIVE' || (provider.state ?? 'ACTIVE') !== 'ACTIVE') {
          return oauth('invalid_target', STS_MESSAGES.invalidTarget);
        }
        if (!SUBJECT_TYPES.includes(p.subject_token_type ?? '')) {
          return oauth('invalid_request', `Invalid value for "subject_token_type". Expected one of: ${SUBJECT_TYPES.join(', ')}.`);
        }
        const jwt = p.subject_token ?? '';
        const decoded = decodeJwt(jwt);
        if (!decoded) return oauth('invalid_request', 'Invalid value for "subject_token". The subject token is not a valid JWT.');
        const github = ctx.services.get('github-oidc') as GithubOidcService | undefined;
        const claims = decoded.claims;
        const iss = String(claims.iss ?? '');
        const expectedIssuer = provider.issuerUri ?? 'https://token.actions.githubusercontent.com';
        if (iss.replace(/\/$/, '') !== expectedIssuer.replace(/\/$/, '')) {
          return oauth('invalid_grant', STS_MESSAGES.issuer(iss, expectedIssuer));
        }
        if (!github || !github.verifySignature(jwt)) {
          return oauth('invalid_grant', 'Invalid JWT signature: the ID Token is not signed by a key in the issuer\'s JWKS.');
        }
        const now = Math.floor(Date.now() / 1000);
        if (typeof claims.exp !== 'number' || claims.exp <= now) {
          return oauth('invalid_grant', `ID Token expired at ${String(claims.exp)} (now ${now}).`);
        }
        const canonical = providerName(projectNumber, poolId, providerId);
        const allowed = provider.allowedAudiences?.length
          ? provider.allowedAudiences
          : [`https://${IAM_HOST}/${canonical}`, `//${IAM_HOST}/${canonical}`];
        const auds = Array.isArray(claims.aud) ? claims.aud.map(String) : [String(claims.aud ?? '')];
        if (!auds.some((a) => allowed.includes(a))) {
          return oauth('invalid_grant', STS_MESSAGES.audienceMismatch(auds.join(', ')));
        }

        // Attribute mapping, then the condition over assertion / attribute / google.
        const mapping = provider.attributeMapping ?? { 'google.subject': 'assertion.sub' };
        const vars: Record<string, never> = { assertion: claims } as unknown as Record<string, never>;
        const attributes: Record<string, string> = {};
        let subject = '';
        try {
          for (const [target, expr] of Object.entries(mapping)) {
            const v = evaluate(expr, vars);
            if (v === undefined || v === null || v === '') continue;
            const text = Array.isArray(v) ? v.join(',') : String(v);
            if (target === 'google.subject') subject = text;
            else if (target.startsWith('attribute.')) attributes[target.slice('attribute.'.length)] = text;
          }
        } catch (err) {
          return oauth('invalid_request', `The attribute mapping could not be evaluated: ${(err as Error).message}`);
        }
        if (!subject) return oauth('invalid_request', 'The mapped attribute google.subject is empty. Check the provider\'s attribute mapping.');
        if (Buffer.byteLength(subject) > 127) return oauth('invalid_request', STS_MESSAGES.subjectTooLong);
        if (provider.attributeCondition) {
          let ok = false;
          try {
            ok = holds(provider.attributeCondition, { assertion: claims, attribute: attributes, google: { subject } } as never);
          } catch (err) {
            if (!(err instanceof CelError)) throw err;
          }
          if (!ok) return oauth('unauthorized_client', STS_MESSAGES.condition);
        }

        const members = federatedMembers(projectNumber, poolId, subject, attributes);
        const scopes = (p.scope ?? 'https://www.googleapis.com/auth/cloud-platform').split(/\s+/).filter(Boolean);
        const info = ctx.tokens.issue({
          subject: members.principal,
          kind: 'sts',
          scopes,
          ttlSeconds: 3600,
          claims: { ...members, projectNumber, poolId, providerId, attributes, googleSubject: subject },
        });
        return {
          json: { access_token: info.token, issued_token_type: ACCESS_TOKEN_TYPE, token_type: 'Bearer', expires_in: 3599 },
        };
      },
    });
  },
};

export default mod;
