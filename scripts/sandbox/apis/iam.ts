// IAM v1 (iam.googleapis.com), the read paths gcloud reaches in daily use:
//   GET  /iam/v1/projects/P/serviceAccounts                                   gcloud iam service-accounts list
//   GET  /iam/v1/projects/P/serviceAccounts/EMAIL                             gcloud iam service-accounts describe
//   POST /iam/v1/projects/P/serviceAccounts/EMAIL:getIamPolicy                gcloud iam service-accounts get-iam-policy
//   GET  /iam/v1/projects/P/locations/global/workloadIdentityPools            gcloud iam workload-identity-pools list --location global
//   GET  /iam/v1/projects/P/locations/global/workloadIdentityPools/POOL       ... describe
//   GET  /iam/v1/projects/P/locations/global/workloadIdentityPools/POOL/providers   ... providers list
// and the writes the project factory makes (project-create/-archive with trust: iam):
//   GET   .../workloadIdentityPools/POOL/providers/PROVIDER                    ... providers describe
//   PATCH .../workloadIdentityPools/POOL/providers/PROVIDER?updateMask=attributeCondition  -> a done Operation
//   POST  /iam/v1/projects/P/serviceAccounts/EMAIL:setIamPolicy {policy}     a stale etag -> 409 ABORTED
// A condition changed here is the one the next STS exchange is held to (same state).
// CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM=http://127.0.0.1:PORT/iam/
// No npm client ships IAM's v1 admin protos, so this is modelled by hand after IAM's REST reference
// (resources ServiceAccount, WorkloadIdentityPool, WorkloadIdentityPoolProvider, Policy). The data is
// the seed's `iam` (accounts and their bindings) and `workloadIdentity` (pools, providers) sections,
// the same ones STS and IAM Credentials enforce.
import { createHash } from 'node:crypto';
import type { ApiModule, SandboxContext } from '../context.js';
import { CelError, check } from './_cel.js';
import type { IamEngine } from '../iam/engine.js';
import { accountBindings, defaultIam, defaultWorkloadIdentity, poolName, providerName, type IamSeed, type PoolSeed, type ServiceAccountSeed, type WorkloadIdentitySeed } from './_wif.js';

type Json = Record<string, unknown>;

const etag = (o: unknown): string => createHash('sha256').update(JSON.stringify(o)).digest('base64').slice(0, 12);

const iamModule: ApiModule = {
  id: 'iam',
  register(ctx: SandboxContext) {
    const { errors } = ctx;
    const { projectId, projectNumber } = ctx.project;
    const iam = ctx.state.section<IamSeed>('iam', () => defaultIam(projectId));
    iam.serviceAccounts ??= [];
    const wi = ctx.state.section<WorkloadIdentitySeed>('workloadIdentity', () => defaultWorkloadIdentity(projectNumber));
    wi.pools ??= [];

    const checkProject = (p: string | undefined, permission: string): void => {
      if (p !== projectId && p !== projectNumber && p !== '-') {
        throw errors.permissionDenied(`Permission '${permission}' denied on resource (or it may not exist).`, [
          errors.errorInfo('IAM_PERMISSION_DENIED', 'iam.googleapis.com', { permission }),
        ]);
      }
    };
    const accountJson = (sa: ServiceAccountSeed): Json => {
      const uniqueId = sa.uniqueId ?? BigInt(`0x${createHash('sha256').update(sa.email).digest('hex').slice(0, 15)}`).toString();
      return {
        name: `projects/${projectId}/serviceAccounts/${sa.email}`,
        projectId,
        uniqueId,
        email: sa.email,
        displayName: sa.email.split('@')[0],
        etag: etag(sa),
        oauth2ClientId: uniqueId,
        ...(sa.disabled ? { disabled: true } : {}),
      };
    };
    const accountOf = (id: string | undefined): ServiceAccountSeed => {
      const sa = iam.serviceAccounts.find((s) => s.email.toLowerCase() === String(id).toLowerCase() || s.uniqueId === id);
      if (!sa) throw errors.notFound(`Unknown service account`);
      return sa;
    };
    const poolJson = (p: PoolSeed): Json => ({
      name: poolName(projectNumber, p.poolId),
      displayName: p.poolId,
      state: p.state ?? 'ACTIVE',
      disabled: p.state === 'DISABLED',
    });
    const poolOf = (id: string | undefined): PoolSeed => {
      const p = wi.pools.find((x) => x.poolId === id);
      if (!p) throw errors.notFound(`Requested entity was not found.`);
      return p;
    };
    const engine = ctx.services.get('iam') as IamEngine | undefined;
    /** The account's own policy (the Terraform's until a setIamPolicy); load the engine's policy first. */
    const policyJson = (sa: ServiceAccountSeed): Json => {
      const bindings = accountBindings(sa, engine).filter((b) => b.members.length).map((b) => ({ role: b.role, members: [...b.members] }));
      return { version: 1, etag: etag(bindings), ...(bindings.length ? { bindings } : {}) };
    };
    const providerJson = (pool: PoolSeed, p: PoolSeed['providers'][number]): Json => ({
      name: providerName(projectNumber, pool.poolId, p.providerId),
      displayName: p.providerId,
      state: p.state ?? 'ACTIVE',
      disabled: p.state === 'DISABLED',
      attributeMapping: p.attributeMapping ?? { 'google.subject': 'assertion.sub' },
      ...(p.attributeCondition ? { attributeCondition: p.attributeCondition } : {}),
      oidc: { issuerUri: p.issuerUri ?? 'https://token.actions.githubusercontent.com', ...(p.allowedAudiences?.length ? { allowedAudiences: p.allowedAudiences } : {}) },
    });
    const providerOf = (poolId: string | undefined, providerId: string | undefined) => {
      const pool = poolOf(poolId);
      const provider = pool.providers.find((v) => v.providerId === providerId);
      if (!provider) throw errors.notFound('Requested entity was not found.');
      return { pool, provider };
    };
    const showDeleted = (q: URLSearchParams): boolean => /^true$/i.test(q.get('showDeleted') ?? '');

    ctx.router.add({
      method: 'GET',
      path: '/iam/v1/projects/{project}/serviceAccounts',
      api: 'iam',
      name: 'ListServiceAccounts',
      handler: (req) => {
        checkProject(req.params.project, 'iam.serviceAccounts.list');
        return { json: { accounts: iam.serviceAccounts.map(accountJson) } };
      },
    });
    ctx.router.add({
      method: 'GET',
      path: '/iam/v1/projects/{project}/serviceAccounts/{account}',
      api: 'iam',
      name: 'GetServiceAccount',
      handler: (req) => {
        checkProject(req.params.project, 'iam.serviceAccounts.get');
        return { json: accountJson(accountOf(req.params.account)) };
      },
    });
    ctx.router.add({
      method: 'POST',
      path: '/iam/v1/projects/{project}/serviceAccounts/{account}:getIamPolicy',
      api: 'iam',
      name: 'GetIamPolicy',
      handler: async (req) => {
        await engine?.currentPolicy();
        checkProject(req.params.project, 'iam.serviceAccounts.getIamPolicy');
        const sa = accountOf(req.params.account);
        return { json: policyJson(sa) };
      },
    });
    ctx.router.add({
      method: 'GET',
      path: '/iam/v1/projects/{project}/locations/{location}/workloadIdentityPools',
      api: 'iam',
      name: 'ListWorkloadIdentityPools',
      handler: (req) => {
        checkProject(req.params.project, 'iam.workloadIdentityPools.list');
        if (req.params.location !== 'global') throw errors.invalidArgument(`Location ${String(req.params.location)} is not supported; workload identity pools live in global.`);
        const pools = wi.pools.filter((p) => showDeleted(req.query) || p.state !== 'DELETED');
        return { json: pools.length ? { workloadIdentityPools: pools.map(poolJson) } : {} };
      },
    });
    ctx.router.add({
      method: 'GET',
      path: '/iam/v1/projects/{project}/locations/global/workloadIdentityPools/{pool}',
      api: 'iam',
      name: 'GetWorkloadIdentityPool',
      handler: (req) => {
        checkProject(req.params.project, 'iam.workloadIdentityPools.get');
        return { json: poolJson(poolOf(req.params.pool)) };
      },
    });
    ctx.router.add({
      method: 'GET',
      path: '/iam/v1/projects/{project}/locations/global/workloadIdentityPools/{pool}/providers',
      api: 'iam',
      name: 'ListWorkloadIdentityPoolProviders',
      handler: (req) => {
        checkProject(req.params.project, 'iam.workloadIdentityPoolProviders.list');
        const pool = poolOf(req.params.pool);
        const providers = pool.providers
          .filter((p) => showDeleted(req.query) || p.state !== 'DELETED')
          .map((p) => providerJson(pool, p));
        return { json: providers.length ? { workloadIdentityPoolProviders: providers } : {} };
      },
    });
    const PROVIDER = '/iam/v1/projects/{project}/locations/global/workloadIdentityPools/{pool}/providers/{provider}';
    ctx.router.add({
      method: 'GET',
      path: PROVIDER,
      api: 'iam',
      name: 'GetWorkloadIdentityPoolProvider',
      handler: (req) => {
        checkProject(req.params.project, 'iam.workloadIdentityPoolProviders.get');
        const { pool, provider } = providerOf(req.params.pool, req.params.provider);
        return { json: providerJson(pool, provider) };
      },
    });
    const PATCHABLE = new Set(['attributeCondition', 'displayName', 'description', 'disabled', 'attributeMapping']);
    ctx.router.add({
      method: 'PATCH',
      path: PROVIDER,
      api: 'iam',
      name: 'UpdateWorkloadIdentityPoolProvider',
      handler: (req) => {
        checkProject(req.params.project, 'iam.workloadIdentityPoolProviders.update');
        const { pool, provider } = providerOf(req.params.pool, req.params.provider);
        const mask = (req.query.get('updateMask') ?? '').split(',').map((m) => m.trim()).filter(Boolean);
        if (mask.length === 0) throw errors.invalidArgument('Request contains an invalid argument.', [errors.badRequest('update_mask', 'update_mask is required.')]);
        const bad = mask.find((m) => !PATCHABLE.has(m));
        if (bad) throw errors.invalidArgument(`Invalid update mask path: ${bad}`, [errors.badRequest('update_mask', `${bad} cannot be updated.`)]);
        const body = (req.json() ?? {}) as { attributeCondition?: unknown; attributeMapping?: unknown };
        if (mask.includes('attributeCondition')) {
          const cond = body.attributeCondition;
          if (cond !== undefined && typeof cond !== 'string') throw errors.invalidArgument('Invalid attribute condition.');
          if (typeof cond === 'string' && cond.trim() !== '') {
            try {
              check(cond);
            } catch (e) {
              throw errors.invalidArgument(`The attribute condition is invalid: ${e instanceof CelError ? e.message : String(e)}`, [
                errors.badRequest('workload_identity_pool_provider.attribute_condition', 'Invalid CEL expression.'),
              ]);
            }
            provider.attributeCondition = cond;
          } else delete provider.attributeCondition;
        }
        if (mask.includes('attributeMapping') && body.attributeMapping && typeof body.attributeMapping === 'object') provider.attributeMapping = body.attributeMapping as Record<string, string>;
        const name = providerName(projectNumber, pool.poolId, provider.providerId);
        return { json: { name: `${name}/operations/${etag([name, Date.now()]).replace(/[^A-Za-z0-9]/g, '').toLowerCase()}`, done: true, response: { '@type': 'type.googleapis.com/google.iam.v1.WorkloadIdentityPoolProvider', ...providerJson(pool, provider) } } };
      },
    });
    ctx.router.add({
      method: 'POST',
      path: '/iam/v1/projects/{project}/serviceAccounts/{account}:setIamPolicy',
      api: 'iam',
      name: 'SetIamPolicy',
      handler: async (req) => {
        await engine?.currentPolicy();
        checkProject(req.params.project, 'iam.serviceAccounts.setIamPolicy');
        const sa = accountOf(req.params.account);
        const policy = ((req.json() ?? {}) as { policy?: { etag?: string; bindings?: Array<{ role?: unknown; members?: unknown }> } }).policy;
        if (!policy) throw errors.invalidArgument('Request contains an invalid argument.', [errors.badRequest('policy', 'policy is required.')]);
        if (policy.etag && policy.etag !== policyJson(sa).etag) {
          throw errors.aborted('There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.');
        }
        sa.bindings = (policy.bindings ?? []).map((b) => {
          if (typeof b.role !== 'string' || !/^roles\/[A-Za-z0-9_.]+$/.test(b.role)) throw errors.invalidArgument(`Role ${String(b.role)} is not supported for this resource.`);
          if (!Array.isArray(b.members) || b.members.some((m) => typeof m !== 'string' || !/^(user|serviceAccount|group|domain|principal|principalSet):/.test(m))) {
            throw errors.invalidArgument(`Invalid principal in binding for ${b.role}.`);
          }
          return { role: b.role, members: b.members as string[] };
        });
        return { json: policyJson(sa) };
      },
    });
  },
};

export default iamModule;
