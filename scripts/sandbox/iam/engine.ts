// IAM for the sandbox: who the caller is (the token's members), what the policy grants them
// (the repository's Terraform, or the seed's `iamPolicy`), and the check the server runs before
// every route's handler (rpcs.ts says which permission each route needs). Refusals answer in each
// API's own words (see /work/shared/reference/google-behaviour.md, "Permission denials").
//
// Also the GKE half of Kubernetes authorization: `gkeIamAuthorize` maps a Kubernetes request to
// GKE's IAM permission (container.pods.create, container.jobs.create, ...); the cluster's API
// server asks it first and falls back to RBAC.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RouteSpec, SandboxReply, SandboxRequest } from '../router.js';
import type { TokenInfo } from '../tokens.js';
import type { ExternalAuthorizer } from '../kubernetes/auth.js';
import { GoogleError, errorInfo } from '../errors.js';
import { OWNER, permissionsWithPrefix, roleGrants, rolesGranting } from './roles.js';
import { rpcEntry, type PermissionCheck } from './rpcs.js';
import { terraformPolicy, type IamPolicy, type PolicyBinding } from './terraform.js';

export type { IamPolicy, PolicyBinding } from './terraform.js';

/** Seed key `iamPolicy`: replaces the Terraform-derived policy (tests that need another one). */
export interface IamPolicySeed {
  project?: PolicyBinding[];
  resources?: Record<string, PolicyBinding[]>;
}

export interface IamOptions {
  /** The checkout whose terraform/ is the policy (default: the nearest one above the working directory). */
  checkout?: string;
  /** Replaces the Terraform policy when given. */
  seed?: IamPolicySeed;
  project: { projectId: string; projectNumber: string };
}

type ResolvedCheck = PermissionCheck & { resource: string };

export interface Decision {
  allowed: boolean;
  permission: string;
  resource: string;
}

/** The Kubernetes request attributes GKE maps to an IAM permission. */
export interface KubeAttributes {
  verb: string;
  /** API group, '' for the core group. */
  apiGroup: string;
  /** Plural resource, lower case (`pods`, `jobs`, `configmaps`). */
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

/** IAM members a token stands for. The sandbox's own admin token is the project's owner. */
export function membersOf(token: TokenInfo): string[] {
  if (token.kind === 'sts') {
    const c = token.claims as { principal?: string; principalSets?: string[] };
    return [c.principal ?? token.subject, ...(c.principalSets ?? [])];
  }
  if (token.subject.endsWith('.gserviceaccount.com')) return [`serviceAccount:${token.subject}`];
  return [`user:${token.subject}`];
}

/** The checkout above `start` that holds terraform/ (undefined when none does). */
export function findCheckout(start = process.cwd()): string | undefined {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'terraform', 'modules', 'iam'))) return dir;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

const API_DOMAIN: Record<string, string> = {
  container: 'container.googleapis.com',
  compute: 'compute.googleapis.com',
  storage: 'storage.googleapis.com',
  artifactregistry: 'artifactregistry.googleapis.com',
  cloudquotas: 'cloudquotas.googleapis.com',
  cloudresourcemanager: 'cloudresourcemanager.googleapis.com',
  serviceusage: 'serviceusage.googleapis.com',
  iam: 'iam.googleapis.com',
};

/** The key rpcs.ts files a route under. */
export function routeKey(route: Pick<RouteSpec, 'api' | 'name' | 'iamKey'>): string {
  return route.iamKey ?? `${route.api}.${route.name}`;
}

function substitute(template: string, req: SandboxRequest, project: string): string {
  return template.replace(/\{(\w+)\}/g, (_, k: string) => req.params[k] ?? req.params[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] ?? (k === 'project' ? req.query.get('project') ?? project : `{${k}}`));
}

/** Default resource: the path after the API version, without `:verb` or a trailing collection/verb segment. */
function defaultResource(route: RouteSpec, req: SandboxRequest): string {
  let path = decodeURIComponent(req.path).replace(/:[A-Za-z]+$/, '');
  const m = /\/v\d[a-z0-9]*\/(.*)$/.exec(path);
  path = m ? (m[1] as string) : path.replace(/^\//, '');
  const template = typeof route.path === 'string' ? route.path.replace(/:[A-Za-z]+$/, '') : '';
  if (template && !template.endsWith('}')) path = path.split('/').slice(0, -1).join('/');
  return path;
}

export class IamEngine {
  private policy?: IamPolicy;
  private loading?: Promise<IamPolicy>;
  readonly checkout: string | undefined;

  constructor(private readonly opts: IamOptions) {
    this.checkout = opts.checkout ?? findCheckout();
  }

  /** The policy in force (the Terraform's unless the seed overrides it), read on first use. */
  async currentPolicy(): Promise<IamPolicy> {
    if (this.policy) return this.policy;
    this.loading ??= (async (): Promise<IamPolicy> => {
      if (this.opts.seed) return { project: this.opts.seed.project ?? [], resources: this.opts.seed.resources ?? {}, origin: 'seed iamPolicy' };
      if (!this.checkout) return { project: [], resources: {}, origin: 'no terraform/ found: nothing is granted', unresolved: [] };
      return terraformPolicy(this.checkout, this.opts.project);
    })();
    this.policy = await this.loading;
    this.base ??= this.policy;
    return this.policy;
  }

  /** The seed's or the Terraform's policy once loaded (the one setPolicy(undefined) returns to). */
  private base?: IamPolicy;

  /** Replace the policy (tests); `undefined` goes back to the seed's or the Terraform's. */
  setPolicy(seed: IamPolicySeed | undefined): void {
    this.policy = seed ? { project: seed.project ?? [], resources: seed.resources ?? {}, origin: 'setPolicy' } : this.base;
    if (!seed && !this.base) this.loading = undefined;
  }

  /** allowed() without waiting, for the Kubernetes API server's synchronous authorizer chain; undefined until the policy is loaded. */
  allowedNow(token: TokenInfo, permission: string, resource: string): boolean | undefined {
    if (token.kind === 'sandbox' || token.kind === 'kubernetes') return true;
    if (!this.policy) return undefined;
    const mine = membersOf(token);
    return this.bindingsFor(this.policy, resource).some((b) => b.members.some((m) => mine.includes(m)) && roleGrants(b.role, permission));
  }

  /**
   * The bindings set on one resource itself (a service account's own policy: `projects/-/serviceAccounts/EMAIL`),
   * from the loaded policy (await currentPolicy() first); empty before it is loaded.
   */
  resourceBindings(resource: string): PolicyBinding[] {
    return this.policy?.resources[resource] ?? [];
  }

  /** Whether the project's own bindings (not a resource's) grant the token `permission`; the policy must be loaded. */
  allowedOnProject(token: TokenInfo, permission: string): boolean {
    if (token.kind === 'sandbox') return true;
    const mine = membersOf(token);
    return (this.policy?.project ?? []).some((b) => b.members.some((m) => mine.includes(m)) && roleGrants(b.role, permission));
  }

  private bindingsFor(policy: IamPolicy, resource: string): PolicyBinding[] {
    const own = Object.entries(policy.resources).filter(([k]) => resource === k || resource.startsWith(`${k}/`));
    return [...policy.project, ...own.flatMap(([, b]) => b)];
  }

  /** Whether the token may use `permission` on `resource`. */
  async allowed(token: TokenInfo, permission: string, resource: string): Promise<boolean> {
    if (token.kind === 'sandbox' || token.kind === 'kubernetes') return true;
    const mine = membersOf(token);
    const policy = await this.currentPolicy();
    return this.bindingsFor(policy, resource).some((b) => b.members.some((m) => mine.includes(m)) && roleGrants(b.role, permission));
  }

  /** The checks a request needs: the table's, plus actAs on the account nodes will run as. */
  private checksFor(route: RouteSpec, req: SandboxRequest, project: string): { checks: ResolvedCheck[] } | { none: string } | undefined {
    const entry = rpcEntry(routeKey(route), route.api);
    if (!entry || 'none' in entry) return entry;
    const checks: ResolvedCheck[] = entry.checks.map((c) => ({ permission: c.permission, resource: c.resource ? substitute(c.resource, req, project) : defaultResource(route, req) }));
    const key = routeKey(route);
    if (key === 'container.ClusterManager.CreateNodePool' || key === 'container.ClusterManager.CreateCluster') {
      for (const sa of nodeServiceAccounts(key, safeJson(req), this.opts.project.projectNumber)) {
        checks.push({ permission: 'iam.serviceAccounts.actAs', resource: `projects/-/serviceAccounts/${sa}` });
      }
    }
    return { checks };
  }

  /** The refusal for this request, or undefined when IAM allows it. The server calls it before the handler. */
  async check(route: RouteSpec, req: SandboxRequest, token: TokenInfo | undefined = req.token): Promise<SandboxReply | undefined> {
    // Routes that check their own credentials (Cloud Storage's 401 shape, STS) are still authorized
    // when they carry a valid token; without one their handler answers.
    const project = this.opts.project.projectId;
    const need = this.checksFor(route, req, project);
    if (!need) {
      const e = new GoogleError('INTERNAL', `The sandbox has no IAM entry for ${route.api} ${route.name} (key "${routeKey(route)}"): add one to scripts/sandbox/iam/rpcs.ts.`);
      return { status: 500, json: e.toJSON() };
    }
    if ('none' in need || !token) return undefined;
    for (const c of need.checks) {
      if (!(await this.allowed(token, c.permission, c.resource))) return denial(route.api, c, token);
    }
    return undefined;
  }

  /** GKE: whether IAM lets the token make this Kubernetes request, and the permission it needs. */
  async gkeIamAuthorize(token: TokenInfo, attrs: KubeAttributes, cluster: string): Promise<Decision> {
    const permission = kubePermission(attrs);
    return { allowed: await this.allowed(token, permission, cluster), permission, resource: cluster };
  }
}

function safeJson(req: SandboxRequest): Record<string, unknown> {
  try {
    const j = req.json();
    return j && typeof j === 'object' ? (j as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The accounts a create's nodes run as: config.serviceAccount, or the Compute Engine default account. */
export function nodeServiceAccounts(key: string, body: Record<string, unknown>, projectNumber: string): string[] {
  const fallback = `${projectNumber}-compute@developer.gserviceaccount.com`;
  const of = (config: unknown): string => {
    const sa = (config as { serviceAccount?: unknown; service_account?: unknown } | undefined)?.serviceAccount ?? (config as { service_account?: unknown } | undefined)?.service_account;
    return typeof sa === 'string' && sa !== '' && sa !== 'default' ? sa : fallback;
  };
  if (key.endsWith('CreateNodePool')) {
    const pool = (body.nodePool ?? body.node_pool) as { config?: unknown } | undefined;
    return [of(pool?.config)];
  }
  const cluster = (body.cluster ?? {}) as { nodePools?: { config?: unknown }[]; node_pools?: { config?: unknown }[]; nodeConfig?: unknown; node_config?: unknown };
  const pools = cluster.nodePools ?? cluster.node_pools ?? [];
  const list = pools.length > 0 ? pools.map((p) => of(p.config)) : [of(cluster.nodeConfig ?? cluster.node_config)];
  return [...new Set(list)];
}

/** Each API's words for a missing permission. */
export function denial(api: string, c: ResolvedCheck, token: TokenInfo): SandboxReply {
  const { permission, resource } = c;
  const domain = API_DOMAIN[api] ?? `${api}.googleapis.com`;
  const info = errorInfo('IAM_PERMISSION_DENIED', domain, { permission, resource });
  if (api === 'container') {
    // GKE: `Required "container.clusters.get" permission(s) for "projects/P/zones/Z/clusters/C".`
    const message = `Required "${permission}" permission(s) for "${resource}".`;
    return { status: 403, json: { error: { code: 403, message, status: 'PERMISSION_DENIED', details: [info] } } };
  }
  if (api === 'compute') {
    // Compute: `Required 'compute.zones.list' permission for 'projects/P'` with the legacy errors[] list.
    const message = `Required '${permission}' permission for '${resource}'`;
    return { status: 403, json: { error: { code: 403, message, errors: [{ message, domain: 'global', reason: 'forbidden' }], details: [info] } } };
  }
  if (api === 'storage') {
    // Cloud Storage JSON API: who, which permission, and what kind of resource.
    const kind = /\/objects\//.test(resource) ? 'object' : 'bucket';
    const message = `${token.subject} does not have ${permission} access to the Google Cloud Storage ${kind}. Permission '${permission}' denied on resource (or it may not exist).`;
    return { status: 403, json: { error: { code: 403, message, errors: [{ message, domain: 'global', reason: 'forbidden' }] } } };
  }
  const message = `Permission '${permission}' denied on resource '//${domain}/${resource}' (or it may not exist).`;
  return { status: 403, json: { error: { code: 403, message, status: 'PERMISSION_DENIED', details: [info] } } };
}

// ---- Kubernetes on GKE ---------------------------------------------------------------------------

let kubeNames: Map<string, string> | undefined;

/** `configmaps` -> `configMaps`, from the container.* permissions of the roles file. */
function iamResourceName(resource: string): string | undefined {
  if (!kubeNames) {
    kubeNames = new Map();
    for (const p of permissionsWithPrefix('container.')) {
      const r = p.split('.')[1] as string;
      kubeNames.set(r.toLowerCase(), r);
    }
  }
  return kubeNames.get(resource.toLowerCase());
}

const BUILT_IN_GROUP = /^(|apps|batch|autoscaling|policy|rbac\.authorization\.k8s\.io|[a-z.]*\.k8s\.io|extensions)$/;

/**
 * GKE's IAM permission for a Kubernetes request: container.RESOURCE.VERB, with get/list/create/
 * update/delete verbs (watch is list, patch is update), getStatus/updateStatus, getScale/updateScale,
 * getLogs, exec, attach, portForward, proxy for subresources, and container.thirdPartyObjects.* for
 * objects of custom resources.
 */
export function kubePermission(a: KubeAttributes): string {
  const verb = { get: 'get', list: 'list', watch: 'list', create: 'create', update: 'update', patch: 'update', delete: 'delete', deletecollection: 'delete' }[a.verb] ?? a.verb;
  const name = BUILT_IN_GROUP.test(a.apiGroup) ? iamResourceName(a.resource) : undefined;
  const res = name ?? 'thirdPartyObjects';
  const sub = a.subresource;
  if (!sub) return `container.${res}.${verb}`;
  const read = verb === 'get' || verb === 'list';
  if (sub === 'status') return `container.${res}.${read ? 'getStatus' : 'updateStatus'}`;
  if (sub === 'scale') return `container.${res}.${read ? 'getScale' : 'updateScale'}`;
  if (sub === 'log') return 'container.pods.getLogs';
  if (sub === 'exec') return 'container.pods.exec';
  if (sub === 'attach') return 'container.pods.attach';
  if (sub === 'portforward') return 'container.pods.portForward';
  if (sub === 'proxy') return `container.${res}.proxy`;
  if (sub === 'eviction') return 'container.pods.evict';
  return `container.${res}.${verb}`;
}

/** GKE's Forbidden message: Kubernetes' wording plus the IAM permission that would allow it. */
export function gkeForbiddenMessage(user: string, a: KubeAttributes, permission: string): string {
  const what = a.apiGroup ? `${a.resource}.${a.apiGroup}` : a.resource;
  const subject = a.name ? `${what} "${a.name}"` : what;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const scope = a.namespace ? ` in the namespace "${a.namespace}"` : ' at the cluster scope';
  return `${subject} is forbidden: User "${user}" cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}"${scope}: requires one of ["${permission}"] permission(s).`;
}

/** The role names that grant a permission, for messages (smallest first). */
export { rolesGranting, OWNER };

/**
 * GKE's first authorizer: a Google identity's request is allowed when its IAM permissions on the
 * cluster grant the Kubernetes verb (container.jobs.create, container.pods.getLogs, ...); otherwise
 * no opinion, with GKE's sentence naming the permission, and RBAC in the cluster decides.
 * Service-account tokens of the cluster itself (kind kubernetes-sa) go straight to RBAC. The policy must be loaded
 * (await engine.currentPolicy()) before the cluster serves requests.
 */
export function gkeIamAuthorizer(engine: IamEngine, cluster: string): ExternalAuthorizer {
  return (_user, attrs, token) => {
    if (!token || token.kind === 'kubernetes-sa') return 'no-opinion';
    // The sandbox's own credentials (its admin token, the kubeconfig's admin token) act as the project owner.
    if (token.kind === 'sandbox' || token.kind === 'kubernetes') return 'allow';
    if (!attrs.resourceRequest) return 'no-opinion';
    const a: KubeAttributes = {
      verb: attrs.verb,
      apiGroup: attrs.apiGroup,
      resource: attrs.resource,
      ...(attrs.subresource ? { subresource: attrs.subresource } : {}),
      ...(attrs.namespace ? { namespace: attrs.namespace } : {}),
      ...(attrs.name ? { name: attrs.name } : {}),
    };
    const permission = kubePermission(a);
    return engine.allowedNow(token, permission, cluster) ? 'allow' : { decision: 'no-opinion', reason: `requires one of ["${permission}"] permission(s).` };
  };
}
