// IAM v1 (iam.googleapis.com): the Workload Identity provider and service-account policy calls the
// project factory makes, on the same pools, providers and bindings STS and IAM Credentials read, so
// a condition changed here is the condition the next token exchange is held to.
//   GET   /iam/v1/projects/{p}/locations/global/workloadIdentityPools/{pool}/providers/{provider}
//   PATCH (same)?updateMask=attributeCondition[,displayName,...]  -> a done Operation
//   POST  /iam/v1/projects/{p}/serviceAccounts/{email}:getIamPolicy  -> {version, etag, bindings}
//   POST  /iam/v1/projects/{p}/serviceAccounts/{email}:setIamPolicy  {policy}; a stale etag -> 409 ABORTED
// CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM=http://127.0.0.1:PORT/iam/
import { createHash } from 'node:crypto';
import type { ApiModule, SandboxContext } from '../context.js';
import { CelError, check } from './_cel.js';
import { defaultIam, defaultWorkloadIdentity, providerName, type IamSeed, type WorkloadIdentitySeed } from './_wif.js';

const PATCHABLE = new Set(['attributeCondition', 'displayName', 'description', 'disabled', 'attributeMapping']);

const iamAdmin: ApiModule = {
  id: 'iam-admin',
  register(ctx: SandboxContext) {
    const { errors } = ctx;
    const wi = (): WorkloadIdentitySeed => ctx.state.section<WorkloadIdentitySeed>('workloadIdentity', () => defaultWorkloadIdentity(ctx.project.projectNumber));
    const iam = (): IamSeed => ctx.state.section<IamSeed>('iam', () => defaultIam(ctx.project.projectId, ctx.project.projectNumber));
    const PROVIDER = '/iam/v1/projects/{project}/locations/global/workloadIdentityPools/{pool}/providers/{provider}';

    const find = (params: Record<string, string>) => {
      const project = params.project ?? '';
      if (project !== ctx.project.projectNumber && project !== ctx.project.projectId) throw errors.notFound(`Requested entity was not found.`);
      const pool = wi().pools.find((p) => p.poolId === params.pool);
      const provider = pool?.providers.find((v) => v.providerId === params.provider);
      if (!pool || !provider) throw errors.notFound('Requested entity was not found.');
      return { pool, provider, name: providerName(pool.projectNumber ?? ctx.project.projectNumber, pool.poolId, provider.providerId) };
    };
    const providerJson = (name: string, v: ReturnType<typeof find>['provider']) => ({
      name,
      state: v.state ?? 'ACTIVE',
      disabled: v.state === 'DISABLED',
      attributeMapping: v.attributeMapping ?? {},
      ...(v.attributeCondition ? { attributeCondition: v.attributeCondition } : {}),
      oidc: { issuerUri: v.issuerUri ?? 'https://token.actions.githubusercontent.com', ...(v.allowedAudiences?.length ? { allowedAudiences: v.allowedAudiences } : {}) },
    });

    ctx.router.add({
      method: 'GET',
      path: PROVIDER,
      api: 'iam',
      name: 'workloadIdentityPools.providers.get',
      handler: (req) => {
        const f = find(req.params);
        return { json: providerJson(f.name, f.provider) };
      },
    });
    ctx.router.add({
      method: 'PATCH',
      path: PROVIDER,
      api: 'iam',
      name: 'workloadIdentityPools.providers.patch',
      handler: (req) => {
        const f = find(req.params);
        const mask = (req.query.get('updateMask') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
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
              throw errors.invalidArgument(`The attribute condition is invalid: ${e instanceof CelError ? e.message : String(e)}`, [errors.badRequest('workload_identity_pool_provider.attribute_condition', 'Invalid CEL expression.')]);
            }
            f.provider.attributeCondition = cond;
          } else delete f.provider.attributeCondition;
        }
        if (mask.includes('attributeMapping') && body.attributeMapping && typeof body.attributeMapping === 'object') f.provider.attributeMapping = body.attributeMapping as Record<string, string>;
        return { json: { name: `${f.name}/operations/${createHash('sha1').update(`${f.name}${Date.now()}`).digest('hex').slice(0, 20)}`, done: true, response: { '@type': 'type.googleapis.com/google.iam.v1.WorkloadIdentityPoolProvider', ...providerJson(f.name, f.provider) } } };
      },
    });

    const account = (params: Record<string, string>) => {
      const email = decodeURIComponent(params.account ?? '');
      const sa = iam().serviceAccounts.find((s) => s.email.toLowerCase() === email.toLowerCase() || s.uniqueId === email);
      if (!sa) {
        throw errors.permissionDenied(`Permission 'iam.serviceAccounts.getIamPolicy' denied on resource (or it may not exist).`, [
          errors.errorInfo('IAM_PERMISSION_DENIED', 'iam.googleapis.com', { permission: 'iam.serviceAccounts.getIamPolicy' }),
        ]);
      }
      return sa;
    };
    const etagOf = (bindings: unknown): string => Buffer.from(createHash('sha1').update(JSON.stringify(bindings ?? [])).digest()).toString('base64').slice(0, 12);
    const policyJson = (sa: ReturnType<typeof account>) => {
      const bindings = (sa.bindings ?? []).filter((b) => b.members.length).map((b) => ({ role: b.role, members: [...b.members] }));
      return { version: 1, etag: etagOf(bindings), ...(bindings.length ? { bindings } : {}) };
    };
    ctx.router.add({
      method: 'POST',
      path: '/iam/v1/projects/{project}/serviceAccounts/{account}:getIamPolicy',
      api: 'iam',
      name: 'projects.serviceAccounts.getIamPolicy',
      handler: (req) => ({ json: policyJson(account(req.params)) }),
    });
    ctx.router.add({
      method: 'POST',
      path: '/iam/v1/projects/{project}/serviceAccounts/{account}:setIamPolicy',
      api: 'iam',
      name: 'projects.serviceAccounts.setIamPolicy',
      handler: (req) => {
        const sa = account(req.params);
        const body = (req.json() ?? {}) as { policy?: { etag?: string; bindings?: Array<{ role?: unknown; members?: unknown }> } };
        const policy = body.policy;
        if (!policy) throw errors.invalidArgument('Request contains an invalid argument.', [errors.badRequest('policy', 'policy is required.')]);
        if (policy.etag && policy.etag !== policyJson(sa).etag) {
          throw errors.aborted('There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.');
        }
        const bindings = (policy.bindings ?? []).map((b) => {
          if (typeof b.role !== 'string' || !/^roles\/[A-Za-z0-9_.]+$/.test(b.role)) throw errors.invalidArgument(`Role ${String(b.role)} is not supported for this resource.`);
          if (!Array.isArray(b.members) || b.members.some((m) => typeof m !== 'string' || !/^(user|serviceAccount|group|domain|principal|principalSet):/.test(m))) {
            throw errors.invalidArgument(`Invalid principal in binding for ${b.role}.`);
          }
          return { role: b.role, members: b.members as string[] };
        });
        sa.bindings = bindings;
        return { json: policyJson(sa) };
      },
    });
  },
};

export default iamAdmin;
