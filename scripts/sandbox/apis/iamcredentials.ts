// IAM Credentials: generateAccessToken / generateIdToken for service accounts of the `iam` seed.
//   POST /iamcredentials/v1/projects/-/serviceAccounts/{email}:generateAccessToken  {scope[], lifetime}
//   POST /iamcredentials/v1/projects/-/serviceAccounts/{email}:generateIdToken      {audience, includeEmail}
// Who may impersonate whom: a role granting iam.serviceAccounts.getAccessToken / getOpenIdToken
// (roles/iam.workloadIdentityUser, roles/iam.serviceAccountTokenCreator) in the account's own policy
// or on the project. The account's policy is the Terraform's (bootstrap's `ci_wif` gives the
// repository's principalSet roles/iam.workloadIdentityUser on the CI account) unless the seed or a
// setIamPolicy sets it (_wif.ts accountBindings); members are matched against the caller's principal /
// principalSets (STS tokens) or `serviceAccount:EMAIL` (tokens of another account). The sandbox
// admin token may impersonate any account. Lifetimes up to 3600 s, or 43200 s with the lifetime-extension policy.
import type { ApiModule, SandboxContext } from '../context.js';
import type { TokenInfo } from '../tokens.js';
import { membersOf, type IamEngine } from '../iam/engine.js';
import { roleGrants } from '../iam/roles.js';
import { newSigningKey, signJwt } from './_jwt.js';
import { accountBindings, defaultIam, type IamSeed, type ServiceAccountSeed } from './_wif.js';

export interface IamCredentialsService {
  /** JWKS of the key that signs generateIdToken's tokens (issuer https://accounts.google.com). */
  jwks(): { keys: object[] };
  /** IAM members the caller's token stands for. */
  membersOf(token: TokenInfo): string[];
}

function googleTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const mod: ApiModule = {
  id: 'iamcredentials',
  register(ctx: SandboxContext) {
    const iam = ctx.state.section<IamSeed>('iam', () => defaultIam(ctx.project.projectId));
    iam.serviceAccounts ??= [];
    const key = newSigningKey();
    const { errors } = ctx;
    ctx.services.set('iamcredentials', { jwks: () => ({ keys: [key.publicJwk] }), membersOf } satisfies IamCredentialsService);

    const denied = (permission: string) =>
      errors.permissionDenied(`Permission '${permission}' denied on resource (or it may not exist).`, [
        errors.errorInfo('IAM_PERMISSION_DENIED', 'iam.googleapis.com', { permission }),
      ]);

    /** The account if the caller may act as it, else the 403 Google gives for both "no binding" and "no account". */
    const engine = ctx.services.get('iam') as IamEngine | undefined;
    const authorise = async (token: TokenInfo | undefined, email: string, permission: string): Promise<ServiceAccountSeed> => {
      const sa = iam.serviceAccounts.find((s) => s.email.toLowerCase() === email.toLowerCase() || s.uniqueId === email);
      if (!sa || !token) throw denied(permission);
      if (token.kind === 'sandbox') return sa;
      await engine?.currentPolicy();
      const mine = membersOf(token);
      const own = accountBindings(sa, engine).some((b) => roleGrants(b.role, permission) && b.members.some((m) => mine.includes(m)));
      if (!own && !engine?.allowedOnProject(token, permission)) throw denied(permission);
      if (sa.disabled) throw errors.failedPrecondition(`Service account ${sa.email} is disabled.`);
      return sa;
    };

    const body = (raw: unknown): Record<string, unknown> => (raw && typeof raw === 'object' ? (raw as Record<string, unknown>) : {});

    ctx.router.add({
      method: 'POST',
      path: '/iamcredentials/v1/projects/{project}/serviceAccounts/{name}:generateAccessToken',
      api: 'iamcredentials',
      name: 'GenerateAccessToken',
      async handler(req) {
        const b = body(req.json());
        const email = req.params.name ?? '';
        const rawLifetime = b.lifetime === undefined ? '3600s' : String(b.lifetime);
        const lm = /^(\d+)(?:\.\d+)?s$/.exec(rawLifetime);
        if (!lm) {
          throw errors.invalidArgument(
            `Invalid value at 'lifetime' (type.googleapis.com/google.protobuf.Duration), Field 'lifetime', Illegal duration format; duration must end with 's'`,
            [errors.badRequest('lifetime', `Invalid value at 'lifetime' (type.googleapis.com/google.protobuf.Duration)`)],
          );
        }
        const lifetime = Number(lm[1]);
        if (lifetime <= 0) throw errors.invalidArgument('Lifetime of access token must be larger then zero.');
        const scopes = Array.isArray(b.scope) ? b.scope.map(String) : typeof b.scope === 'string' ? [b.scope] : [];
        if (scopes.length === 0) throw errors.invalidArgument('Scope required.', [errors.badRequest('scope', 'At least one scope is required.')]);
        const sa = await authorise(req.token, email, 'iam.serviceAccounts.getAccessToken');
        const ext = iam.allowLifetimeExtension;
        const extended = ext === true || (Array.isArray(ext) && ext.includes(sa.email));
        if (lifetime > 3600 && !extended) {
          throw errors.invalidArgument(
            `Access tokens for service account ${sa.email} can not have lifetimes of more than 1 hour. Extend it with the organization policy constraints/iam.allowServiceAccountCredentialLifetimeExtension.`,
          );
        }
        if (lifetime > 43200) throw errors.invalidArgument('Lifetime of access token must be less than or equal to 43200 seconds.');
        const info = ctx.tokens.issue({
          subject: sa.email,
          kind: 'iamcredentials',
          scopes,
          ttlSeconds: lifetime,
          claims: { serviceAccount: sa.email, impersonatedBy: req.token?.subject },
        });
        return { json: { accessToken: info.token, expireTime: googleTime(info.expiresAt) } };
      },
    });

    ctx.router.add({
      method: 'POST',
      path: '/iamcredentials/v1/projects/{project}/serviceAccounts/{name}:generateIdToken',
      api: 'iamcredentials',
      name: 'GenerateIdToken',
      async handler(req) {
        const b = body(req.json());
        const audience = typeof b.audience === 'string' ? b.audience : '';
        if (!audience) throw errors.invalidArgument('Audience required.', [errors.badRequest('audience', 'An audience is required.')]);
        const sa = await authorise(req.token, req.params.name ?? '', 'iam.serviceAccounts.getOpenIdToken');
        const now = Math.floor(Date.now() / 1000);
        const uid = sa.uniqueId ?? '100000000000000000000';
        const claims: Record<string, unknown> = { aud: audience, azp: uid, exp: now + 3600, iat: now, iss: 'https://accounts.google.com', sub: uid };
        if (b.includeEmail === true) Object.assign(claims, { email: sa.email, email_verified: true });
        return { json: { token: signJwt(key, claims) } };
      },
    });
  },
};

export default mod;
