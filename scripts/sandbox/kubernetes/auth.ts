// Authentication and authorization of the sandbox's Kubernetes API servers, as kube-apiserver does it:
// a bearer token names a user (minikube's admin credentials, a Google identity on GKE, or a service
// account token from TokenRequest), impersonation headers are checked, and every request's attributes
// (verb, API group, resource, subresource, namespace, name, or a non-resource path) go through an
// authorizer chain: an optional external authorizer set on the cluster (GKE's IAM check plugs in here),
// then RBAC (Role, ClusterRole, RoleBinding, ClusterRoleBinding).
//
// Sources: the request-attribute parsing follows k8s.io/apiserver/pkg/endpoints/request/requestinfo.go,
// the rule matching plugin/pkg/auth/authorizer/rbac/rbac.go and pkg/apis/rbac/v1/evaluation_helpers.go,
// the 403 text k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go (forbiddenMessage),
// the bootstrap roles plugin/pkg/auth/authorizer/rbac/bootstrappolicy/testdata/cluster-roles.yaml
// (admin, edit and view written out with the rules their aggregation gives them), and minikube's
// `minikube-rbac` binding (kube-system's default ServiceAccount is cluster-admin).
// GKE's denial for a Google identity appends its IAM authorizer's reason, e.g.
// `...: requires one of ["container.pods.create"] permission(s).` (seen in public GKE error reports).
import type { TokenInfo } from '../tokens.js';
import { meta, type Json, type Store } from './store.js';
import type { ResourceType } from './resources.js';

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export interface RequestAttributes {
  user: UserInfo;
  verb: string;
  resourceRequest: boolean;
  /** The URL path (non-resource requests are authorized by it). */
  path: string;
  namespace: string;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  name: string;
}

/**
 * An external authorizer's answer: 'allow' ends the chain; 'no-opinion' passes to RBAC (a reason
 * given with it is appended to the 403 if RBAC does not allow either, as GKE appends its IAM reason).
 */
export type AuthorizerDecision = 'allow' | 'no-opinion' | { decision: 'allow' | 'no-opinion'; reason?: string };
export type ExternalAuthorizer = (user: UserInfo, attrs: RequestAttributes, token?: TokenInfo) => AuthorizerDecision;

export interface Decision {
  allowed: boolean;
  reason: string;
}

const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';

/** The user a service account's token stands for. */
export function serviceAccountUser(namespace: string, name: string, uid?: string): UserInfo {
  return { username: `${SERVICE_ACCOUNT_PREFIX}${namespace}:${name}`, ...(uid ? { uid } : {}), groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'] };
}

/** `system:serviceaccount:NS:NAME` → {namespace, name}. */
export function parseServiceAccountUser(username: string): { namespace: string; name: string } | undefined {
  if (!username.startsWith(SERVICE_ACCOUNT_PREFIX)) return undefined;
  const [namespace, name, ...rest] = username.slice(SERVICE_ACCOUNT_PREFIX.length).split(':');
  if (!namespace || !name || rest.length) return undefined;
  return { namespace, name };
}

/** The request's attributes from its method and path, as kube-apiserver's RequestInfo parses them. */
export function requestAttributes(user: UserInfo, method: string, path: string, q: URLSearchParams): RequestAttributes {
  const base: RequestAttributes = { user, verb: method.toLowerCase(), resourceRequest: false, path, namespace: '', apiGroup: '', apiVersion: '', resource: '', subresource: '', name: '' };
  const parts = path.split('/').filter(Boolean).map((p) => decodeURIComponent(p));
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    base.apiVersion = parts[1] as string;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    base.apiGroup = parts[1] as string;
    base.apiVersion = parts[2] as string;
    rest = parts.slice(3);
  } else {
    if (method === 'HEAD') base.verb = 'get';
    return base;
  }
  const a: RequestAttributes = { ...base, resourceRequest: true };
  if (rest[0] === 'namespaces') {
    if (rest.length > 1) {
      a.namespace = rest[1] as string;
      if (rest.length > 2 && !['status', 'finalize'].includes(rest[2] as string)) rest = rest.slice(2);
    }
  }
  a.resource = rest[0] ?? '';
  a.name = rest[1] ?? '';
  a.subresource = rest[2] ?? '';
  const watch = q.get('watch') === 'true' || q.get('watch') === '1';
  switch (method) {
    case 'GET':
    case 'HEAD':
      a.verb = a.name ? 'get' : watch ? 'watch' : 'list';
      break;
    case 'POST':
      a.verb = 'create';
      break;
    case 'PUT':
      a.verb = 'update';
      break;
    case 'PATCH':
      a.verb = 'patch';
      break;
    case 'DELETE':
      a.verb = a.name ? 'delete' : 'deletecollection';
      break;
  }
  if ((a.verb === 'list' || a.verb === 'watch') && !a.name) {
    const m = /(?:^|,)metadata\.name==?([^,]*)/.exec(q.get('fieldSelector') ?? '');
    if (m) a.name = m[1] as string;
  }
  return a;
}

/** `User "X" cannot VERB resource "R" in API group "G" in the namespace "N"`: forbiddenMessage. */
export function forbiddenMessage(a: RequestAttributes): string {
  if (!a.resourceRequest) return `User ${JSON.stringify(a.user.username)} cannot ${a.verb} path ${JSON.stringify(a.path)}`;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const where = a.namespace ? `in the namespace ${JSON.stringify(a.namespace)}` : 'at the cluster scope';
  return `User ${JSON.stringify(a.user.username)} cannot ${a.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(a.apiGroup)} ${where}`;
}

/** The whole 403 Status message: `pods is forbidden: ...` or `pods "x" is forbidden: ...`. */
export function forbiddenStatus(a: RequestAttributes, reason: string): { message: string; details: Json } {
  let msg = forbiddenMessage(a);
  if (reason) msg = `${msg}: ${reason}`;
  if (!a.resourceRequest) return { message: `forbidden: ${msg}`, details: {} };
  const gr = a.apiGroup ? `${a.resource}.${a.apiGroup}` : a.resource;
  return {
    message: a.name ? `${gr} ${JSON.stringify(a.name)} is forbidden: ${msg}` : `${gr} is forbidden: ${msg}`,
    details: { ...(a.name ? { name: a.name } : {}), ...(a.apiGroup ? { group: a.apiGroup } : {}), kind: a.resource },
  };
}

// ---- RBAC -----------------------------------------------------------------------------------------

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

type RbacType = Pick<ResourceType, 'group' | 'resource'>;
const RBAC = 'rbac.authorization.k8s.io';
const T = {
  roles: { group: RBAC, resource: 'roles' },
  clusterRoles: { group: RBAC, resource: 'clusterroles' },
  roleBindings: { group: RBAC, resource: 'rolebindings' },
  clusterRoleBindings: { group: RBAC, resource: 'clusterrolebindings' },
} satisfies Record<string, RbacType>;

function appliesTo(user: UserInfo, subject: Json, bindingNamespace: string): boolean {
  switch (subject.kind) {
    case 'User':
      return subject.name === user.username;
    case 'Group':
      return user.groups.includes(String(subject.name));
    case 'ServiceAccount': {
      const ns = subject.namespace ? String(subject.namespace) : bindingNamespace;
      return `${SERVICE_ACCOUNT_PREFIX}${ns}:${String(subject.name)}` === user.username;
    }
    default:
      return false;
  }
}

function describeSubject(subject: Json, bindingNamespace: string): string {
  if (subject.kind === 'ServiceAccount') return `ServiceAccount "${String(subject.name)}/${String(subject.namespace ?? bindingNamespace)}"`;
  return `${String(subject.kind)} ${JSON.stringify(String(subject.name))}`;
}

export function ruleAllows(a: RequestAttributes, r: PolicyRule): boolean {
  const verbOk = r.verbs.includes('*') || r.verbs.includes(a.verb);
  if (!verbOk) return false;
  if (!a.resourceRequest) {
    return (r.nonResourceURLs ?? []).some((u) => u === '*' || u === a.path || (u.endsWith('*') && a.path.startsWith(u.slice(0, -1))));
  }
  if (!(r.apiGroups ?? []).some((g) => g === '*' || g === a.apiGroup)) return false;
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  if (!(r.resources ?? []).some((x) => x === '*' || x === combined || (a.subresource !== '' && x === `*/${a.subresource}`))) return false;
  const names = r.resourceNames ?? [];
  return names.length === 0 || names.includes(a.name);
}

interface BoundRules {
  rules: PolicyRule[];
  describe: (subject: Json) => string;
  subject: Json;
}

/** Every rule set bound to the user that applies in `namespace` (cluster-wide ones too), with errors. */
function boundRules(store: Store, user: UserInfo, namespace: string): { sets: BoundRules[]; errors: string[] } {
  const sets: BoundRules[] = [];
  const errors: string[] = [];
  const roleRules = (ref: Json, ns: string): PolicyRule[] | undefined => {
    if (ref.kind === 'ClusterRole') {
      const role = store.get(T.clusterRoles, '', String(ref.name));
      if (!role) errors.push(`clusterrole.rbac.authorization.k8s.io "${String(ref.name)}" not found`);
      return role ? ((role.rules as PolicyRule[] | undefined) ?? []) : undefined;
    }
    const role = store.get(T.roles, ns, String(ref.name));
    if (!role) errors.push(`role.rbac.authorization.k8s.io "${String(ref.name)}" not found`);
    return role ? ((role.rules as PolicyRule[] | undefined) ?? []) : undefined;
  };
  for (const b of store.list(T.clusterRoleBindings)) {
    const subject = ((b.subjects as Json[] | undefined) ?? []).find((s) => appliesTo(user, s, ''));
    if (!subject) continue;
    const ref = (b.roleRef ?? {}) as Json;
    const rules = roleRules(ref, '');
    if (rules) sets.push({ rules, subject, describe: (s) => `ClusterRoleBinding ${JSON.stringify(String(meta(b).name))} of ClusterRole ${JSON.stringify(String(ref.name))} to ${describeSubject(s, '')}` });
  }
  if (namespace) {
    for (const b of store.list(T.roleBindings, namespace)) {
      const subject = ((b.subjects as Json[] | undefined) ?? []).find((s) => appliesTo(user, s, namespace));
      if (!subject) continue;
      const ref = (b.roleRef ?? {}) as Json;
      const rules = roleRules(ref, namespace);
      if (rules) sets.push({ rules, subject, describe: (s) => `RoleBinding "${String(meta(b).name)}/${namespace}" of ${String(ref.kind)} ${JSON.stringify(String(ref.name))} to ${describeSubject(s, namespace)}` });
    }
  }
  return { sets, errors };
}

export function rbacAuthorize(store: Store, a: RequestAttributes): Decision {
  const { sets, errors } = boundRules(store, a.user, a.namespace);
  for (const s of sets) if (s.rules.some((r) => ruleAllows(a, r))) return { allowed: true, reason: `RBAC: allowed by ${s.describe(s.subject)}` };
  return { allowed: false, reason: errors.length ? `RBAC: [${errors.join(', ')}]` : '' };
}

/** The rules RBAC gives the user in a namespace (SelfSubjectRulesReview). */
export function rbacRulesFor(store: Store, user: UserInfo, namespace: string): { resourceRules: Json[]; nonResourceRules: Json[]; errors: string[] } {
  const { sets, errors } = boundRules(store, user, namespace);
  const resourceRules: Json[] = [];
  const nonResourceRules: Json[] = [];
  for (const s of sets) {
    for (const r of s.rules) {
      if (r.nonResourceURLs?.length) nonResourceRules.push({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs });
      if (r.resources?.length) resourceRules.push({ verbs: r.verbs, apiGroups: r.apiGroups ?? [], resources: r.resources, ...(r.resourceNames?.length ? { resourceNames: r.resourceNames } : {}) });
    }
  }
  return { resourceRules, nonResourceRules, errors };
}

/** The chain: the external authorizer (if any), then RBAC; reasons of the no-opinions joined as a union authorizer does. */
export function authorize(store: Store, a: RequestAttributes, external?: ExternalAuthorizer, token?: TokenInfo): Decision {
  const reasons: string[] = [];
  if (external) {
    const d = external(a.user, a, token);
    const decision = typeof d === 'string' ? d : d.decision;
    const reason = typeof d === 'string' ? '' : (d.reason ?? '');
    if (decision === 'allow') return { allowed: true, reason };
    if (reason) reasons.push(reason);
  }
  const r = rbacAuthorize(store, a);
  if (r.allowed) return r;
  if (r.reason) reasons.push(r.reason);
  return { allowed: false, reason: reasons.join(', ') };
}

/** GKE until the IAM module plugs in its check: every Google identity is allowed (IAM decides; see the iam module). */
export const allowGoogleIdentities: ExternalAuthorizer = (user) => (parseServiceAccountUser(user.username) ? 'no-opinion' : 'allow');

// ---- bootstrap policy -----------------------------------------------------------------------------

const RW = ['create', 'delete', 'deletecollection', 'patch', 'update'];
const RO = ['get', 'list', 'watch'];
const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

const VIEW: PolicyRule[] = [
  { apiGroups: [''], resources: ['configmaps', 'endpoints', 'persistentvolumeclaims', 'persistentvolumeclaims/status', 'pods', 'replicationcontrollers', 'replicationcontrollers/scale', 'serviceaccounts', 'services', 'services/status'], verbs: RO },
  { apiGroups: [''], resources: ['bindings', 'events', 'limitranges', 'namespaces/status', 'pods/log', 'pods/status', 'replicationcontrollers/status', 'resourcequotas', 'resourcequotas/status'], verbs: RO },
  { apiGroups: [''], resources: ['namespaces'], verbs: RO },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: RO },
  { apiGroups: ['apps'], resources: ['controllerrevisions', 'daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale', 'deployments/status', 'replicasets', 'replicasets/scale', 'replicasets/status', 'statefulsets', 'statefulsets/scale', 'statefulsets/status'], verbs: RO },
  { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers', 'horizontalpodautoscalers/status'], verbs: RO },
  { apiGroups: ['batch'], resources: ['cronjobs', 'cronjobs/status', 'jobs', 'jobs/status'], verbs: RO },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets', 'poddisruptionbudgets/status'], verbs: RO },
  { apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'ingresses/status', 'networkpolicies'], verbs: RO },
];

const EDIT: PolicyRule[] = [
  { apiGroups: [''], resources: ['pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy', 'secrets', 'services/proxy'], verbs: RO },
  { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate'] },
  { apiGroups: [''], resources: ['pods', 'pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy'], verbs: RW },
  { apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
  { apiGroups: [''], resources: ['configmaps', 'events', 'persistentvolumeclaims', 'replicationcontrollers', 'replicationcontrollers/scale', 'secrets', 'serviceaccounts', 'services', 'services/proxy'], verbs: RW },
  { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'] },
  { apiGroups: ['apps'], resources: ['daemonsets', 'deployments', 'deployments/rollback', 'deployments/scale', 'replicasets', 'replicasets/scale', 'statefulsets', 'statefulsets/scale'], verbs: RW },
  { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: RW },
  { apiGroups: ['batch'], resources: ['cronjobs', 'jobs'], verbs: RW },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: RW },
  { apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'networkpolicies'], verbs: RW },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ALL_VERBS },
  ...VIEW,
];

const ADMIN: PolicyRule[] = [
  { apiGroups: ['authorization.k8s.io'], resources: ['localsubjectaccessreviews'], verbs: ['create'] },
  { apiGroups: [RBAC], resources: ['rolebindings', 'roles'], verbs: ALL_VERBS },
  ...EDIT,
];

const AGGREGATE = (to: string): string => `rbac.authorization.k8s.io/aggregate-to-${to}`;

/**
 * admin, edit and view are aggregated ClusterRoles, as the bootstrap policy makes them: each has an
 * aggregationRule selecting the `aggregate-to-*` label, and its rules are what the aggregation
 * controller collects (system:aggregate-to-view holds view's own rules, system:aggregate-to-edit
 * edit's, system:aggregate-to-admin admin's; view carries aggregate-to-edit, edit aggregate-to-admin).
 */
const AGGREGATED: Record<string, { selects: string; label?: string }> = {
  admin: { selects: 'admin' },
  edit: { selects: 'edit', label: 'admin' },
  view: { selects: 'view', label: 'edit' },
};
const AGGREGATE_TO: Record<string, { label: string; rules: PolicyRule[] }> = {
  'system:aggregate-to-admin': { label: 'admin', rules: ADMIN.slice(0, ADMIN.length - EDIT.length) },
  'system:aggregate-to-edit': { label: 'edit', rules: EDIT.slice(0, EDIT.length - VIEW.length) },
  'system:aggregate-to-view': { label: 'view', rules: VIEW },
};

const CLUSTER_ROLES: Record<string, PolicyRule[]> = {
  'cluster-admin': [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, { nonResourceURLs: ['*'], verbs: ['*'] }],
  admin: [],
  edit: [],
  view: [],
  ...Object.fromEntries(Object.entries(AGGREGATE_TO).map(([name, a]) => [name, a.rules])),
  'system:basic-user': [
    { apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'], verbs: ['create'] },
    { apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'], verbs: ['create'] },
  ],
  'system:discovery': [{ nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/'], verbs: ['get'] }],
  'system:public-info-viewer': [{ nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'], verbs: ['get'] }],
};

const CLUSTER_ROLE_BINDINGS: [name: string, role: string, subjects: Json[]][] = [
  ['cluster-admin', 'cluster-admin', [{ apiGroup: RBAC, kind: 'Group', name: 'system:masters' }]],
  ['system:basic-user', 'system:basic-user', [{ apiGroup: RBAC, kind: 'Group', name: 'system:authenticated' }]],
  ['system:discovery', 'system:discovery', [{ apiGroup: RBAC, kind: 'Group', name: 'system:authenticated' }]],
  ['system:public-info-viewer', 'system:public-info-viewer', [{ apiGroup: RBAC, kind: 'Group', name: 'system:authenticated' }, { apiGroup: RBAC, kind: 'Group', name: 'system:unauthenticated' }]],
];

const BOOTSTRAP_LABELS = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
const BOOTSTRAP_ANNOTATIONS = { 'rbac.authorization.kubernetes.io/autoupdate': 'true' };

let bootstrapRoles: Json[] | undefined;

/** The bootstrap ClusterRoles with the aggregated ones filled in, computed once per process. */
function aggregatedBootstrapRoles(): Json[] {
  const roles: Json[] = Object.entries(CLUSTER_ROLES).map(([name, rules]) => {
    const agg = AGGREGATED[name];
    const to = AGGREGATE_TO[name]?.label ?? agg?.label;
    return {
      apiVersion: `${RBAC}/v1`, kind: 'ClusterRole', metadata: { name, labels: { ...BOOTSTRAP_LABELS, ...(to ? { [AGGREGATE(to)]: 'true' } : {}) }, annotations: BOOTSTRAP_ANNOTATIONS },
      ...(agg ? { aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [AGGREGATE(agg.selects)]: 'true' } }] } } : {}),
      rules: structuredClone(rules),
    };
  });
  aggregateRules(roles);
  return roles;
}

/** The bootstrap ClusterRoles and ClusterRoleBindings (and minikube's own binding) as objects to store. */
export function bootstrapPolicy(flavor: 'gke' | 'minikube'): { clusterRoles: Json[]; clusterRoleBindings: Json[] } {
  bootstrapRoles ??= aggregatedBootstrapRoles();
  // A fresh top level and metadata for the caller to stamp (uid, creationTimestamp); the store copies the rest when it keeps it.
  const clusterRoles = bootstrapRoles.map((r) => ({ ...r, metadata: { ...meta(r) } }));
  const bindings = [...CLUSTER_ROLE_BINDINGS];
  if (flavor === 'minikube') bindings.push(['minikube-rbac', 'cluster-admin', [{ kind: 'ServiceAccount', name: 'default', namespace: 'kube-system' }]]);
  const clusterRoleBindings = bindings.map(([name, role, subjects]) => ({
    apiVersion: `${RBAC}/v1`, kind: 'ClusterRoleBinding', metadata: { name, ...(name === 'minikube-rbac' ? {} : { labels: BOOTSTRAP_LABELS, annotations: BOOTSTRAP_ANNOTATIONS }) }, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: role }, subjects,
  }));
  return { clusterRoles, clusterRoleBindings };
}

// ---- ClusterRole aggregation (pkg/controller/clusterroleaggregation) -----------------------------

function selectorMatchesLabels(sel: Json, labels: Record<string, string>): boolean {
  const ml = (sel.matchLabels ?? {}) as Record<string, string>;
  if (!Object.entries(ml).every(([k, v]) => labels[k] === v)) return false;
  for (const e of (sel.matchExpressions as Json[] | undefined) ?? []) {
    const key = String(e.key);
    const values = ((e.values as string[] | undefined) ?? []).map(String);
    const has = key in labels;
    if (e.operator === 'In' && !(has && values.includes(labels[key] as string))) return false;
    if (e.operator === 'NotIn' && has && values.includes(labels[key] as string)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

const ruleKey = (r: PolicyRule): string => JSON.stringify([r.verbs ?? [], r.apiGroups ?? [], r.resources ?? [], r.resourceNames ?? [], r.nonResourceURLs ?? []]);

/**
 * What the aggregation controller does: every ClusterRole with an aggregationRule gets the rules of
 * the ClusterRoles its selectors match (by name order, each rule once, itself left out), repeated
 * until nothing changes (edit aggregates view, admin aggregates edit). Changes `roles` in place and
 * returns the names whose rules changed.
 */
export function aggregateRules(roles: Json[]): string[] {
  const changed = new Set<string>();
  const sorted = [...roles].sort((a, b) => (String(meta(a).name) < String(meta(b).name) ? -1 : 1));
  const aggregated = sorted.filter((r) => r.aggregationRule);
  if (!aggregated.length) return [];
  const labelsOf = (r: Json): Record<string, string> => (meta(r).labels ?? {}) as Record<string, string>;
  const keysOf = new Map<Json, string[]>(sorted.map((r) => [r, ((r.rules as PolicyRule[] | undefined) ?? []).map(ruleKey)]));
  for (let pass = 0; pass <= aggregated.length; pass++) {
    let any = false;
    for (const role of aggregated) {
      const selectors = ((role.aggregationRule as Json).clusterRoleSelectors as Json[] | undefined) ?? [];
      const seen = new Set<string>();
      const rules: PolicyRule[] = [];
      const keys: string[] = [];
      for (const other of sorted) {
        if (other === role || !selectors.some((sel) => selectorMatchesLabels(sel, labelsOf(other)))) continue;
        const otherRules = (other.rules as PolicyRule[] | undefined) ?? [];
        (keysOf.get(other) ?? []).forEach((k, i) => {
          if (seen.has(k)) return;
          seen.add(k);
          keys.push(k);
          rules.push(structuredClone(otherRules[i] as PolicyRule));
        });
      }
      if (keys.join('\n') !== (keysOf.get(role) ?? []).join('\n')) {
        role.rules = rules;
        keysOf.set(role, keys);
        changed.add(String(meta(role).name));
        any = true;
      }
    }
    if (!any) break;
  }
  return [...changed];
}

// ---- RBAC escalation prevention (pkg/registry/rbac/{role,clusterrole,rolebinding,clusterrolebinding}/policybased) --

/** One verb on one group/resource (and name), or on one non-resource URL: Covers() breaks rules into these. */
interface SimpleRule {
  verb: string;
  group?: string;
  resource?: string;
  name?: string;
  url?: string;
}

function breakdown(r: PolicyRule): SimpleRule[] {
  const out: SimpleRule[] = [];
  for (const group of r.apiGroups ?? []) {
    for (const resource of r.resources ?? []) {
      for (const verb of r.verbs) {
        if (r.resourceNames?.length) for (const name of r.resourceNames) out.push({ verb, group, resource, name });
        else out.push({ verb, group, resource });
      }
    }
  }
  for (const url of r.nonResourceURLs ?? []) for (const verb of r.verbs) out.push({ verb, url });
  return out;
}

function resourceCovers(owner: string, want: string): boolean {
  if (owner === '*' || owner === want) return true;
  const [res, sub] = want.split('/');
  if (sub !== undefined && owner === `${res}/*`) return true;
  if (sub !== undefined && owner === `*/${sub}`) return true;
  return false;
}

function covers(owner: PolicyRule, want: SimpleRule): boolean {
  if (!owner.verbs.includes('*') && !owner.verbs.includes(want.verb)) return false;
  if (want.url !== undefined) return (owner.nonResourceURLs ?? []).some((u) => u === '*' || u === want.url || (u.endsWith('*') && want.url?.startsWith(u.slice(0, -1))));
  if (!(owner.apiGroups ?? []).some((g) => g === '*' || g === want.group)) return false;
  if (!(owner.resources ?? []).some((x) => resourceCovers(x, String(want.resource)))) return false;
  const names = owner.resourceNames ?? [];
  return names.length === 0 || (want.name !== undefined && names.includes(want.name));
}

const goQuoted = (xs: string[]): string => `[${xs.map((x) => JSON.stringify(x)).join(' ')}]`;

/** rbacv1helpers.CompactString: `{APIGroups:["apps"], Resources:["deployments"], Verbs:["get" "list"]}`. */
function compactString(r: { apiGroups?: string[]; resources?: string[]; nonResourceURLs?: string[]; resourceNames?: string[]; verbs: string[] }): string {
  const parts: string[] = [];
  if (r.apiGroups?.length) parts.push(`APIGroups:${goQuoted(r.apiGroups)}`);
  if (r.resources?.length) parts.push(`Resources:${goQuoted(r.resources)}`);
  if (r.nonResourceURLs?.length) parts.push(`NonResourceURLs:${goQuoted(r.nonResourceURLs)}`);
  if (r.resourceNames?.length) parts.push(`ResourceNames:${goQuoted(r.resourceNames)}`);
  if (r.verbs.length) parts.push(`Verbs:${goQuoted(r.verbs)}`);
  return `{${parts.join(', ')}}`;
}

/**
 * ConfirmNoEscalation: the rules the user does not hold (RBAC's rules in `namespace`), as the API
 * server's sentence; undefined when the user holds them all.
 */
export function escalationMessage(store: Store, user: UserInfo, namespace: string, rules: PolicyRule[]): string | undefined {
  const held = rbacRulesFor(store, user, namespace);
  const owner: PolicyRule[] = [
    ...held.resourceRules.map((r) => r as unknown as PolicyRule),
    ...held.nonResourceRules.map((r) => r as unknown as PolicyRule),
  ];
  const missing = rules.flatMap(breakdown).filter((w) => !owner.some((o) => covers(o, w)));
  if (!missing.length) return undefined;
  // CompactRules: one rule per group/resource/name, its verbs merged.
  const compact = new Map<string, { apiGroups?: string[]; resources?: string[]; nonResourceURLs?: string[]; resourceNames?: string[]; verbs: string[] }>();
  for (const m of missing) {
    const key = JSON.stringify([m.group, m.resource, m.name, m.url]);
    const r = compact.get(key) ?? (m.url !== undefined ? { nonResourceURLs: [m.url], verbs: [] } : { apiGroups: [m.group as string], resources: [m.resource as string], ...(m.name !== undefined ? { resourceNames: [m.name] } : {}), verbs: [] });
    r.verbs.push(m.verb);
    compact.set(key, r);
  }
  const lines = [...new Set([...compact.values()].map(compactString))].sort();
  let msg = `user ${JSON.stringify(user.username)} (groups=${goQuoted(user.groups)}) is attempting to grant RBAC permissions not currently held:\n${lines.join('\n')}`;
  if (held.errors.length) msg += `; resolution errors: [${held.errors.join(' ')}]`;
  return msg;
}

/** The RBAC kinds whose writes are checked for escalation. */
const ESCALATION_KINDS = new Set(['roles', 'clusterroles', 'rolebindings', 'clusterrolebindings']);

/** Full authority: what a ClusterRole with an aggregationRule may come to hold. */
const FULL_AUTHORITY: PolicyRule[] = [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }, { verbs: ['*'], nonResourceURLs: ['*'] }];

/**
 * The API server's refusal of a Role, ClusterRole, RoleBinding or ClusterRoleBinding write that
 * grants more than the caller holds: undefined when allowed. Allowed outright for system:masters;
 * a role write when the caller may `escalate` roles (clusterroles), a binding when it may `bind` the
 * role it references (both asked of the whole authorizer chain, GKE's IAM included); otherwise the
 * caller's RBAC rules must cover the role's rules (an aggregated ClusterRole needs full authority).
 */
export function escalationRefusal(store: Store, resource: string, obj: Json, user: UserInfo, allowed: (a: RequestAttributes) => boolean): { status: number; reason: string; message: string; details: Json } | undefined {
  if (!ESCALATION_KINDS.has(resource) || user.groups.includes('system:masters')) return undefined;
  const name = String(meta(obj).name ?? '');
  const namespace = resource === 'roles' || resource === 'rolebindings' ? String(meta(obj).namespace ?? '') : '';
  const attrs = (verb: string, res: string, n: string, ns: string): RequestAttributes => ({ user, verb, resourceRequest: true, path: '', namespace: ns, apiGroup: RBAC, apiVersion: 'v1', resource: res, subresource: '', name: n });
  const forbidden = (message: string) => ({ status: 403, reason: 'Forbidden', message: `${resource}.${RBAC} ${JSON.stringify(name)} is forbidden: ${message}`, details: { name, group: RBAC, kind: resource } });
  let rules: PolicyRule[];
  if (resource === 'roles' || resource === 'clusterroles') {
    if (allowed(attrs('escalate', resource, name, namespace))) return undefined;
    rules = resource === 'clusterroles' && obj.aggregationRule ? FULL_AUTHORITY : ((obj.rules as PolicyRule[] | undefined) ?? []);
  } else {
    const ref = (obj.roleRef ?? {}) as Json;
    const refResource = ref.kind === 'ClusterRole' ? 'clusterroles' : 'roles';
    if (allowed(attrs('bind', refResource, String(ref.name ?? ''), namespace))) return undefined;
    const role = refResource === 'clusterroles' ? store.get(T.clusterRoles, '', String(ref.name)) : store.get(T.roles, namespace, String(ref.name));
    if (!role) return { status: 404, reason: 'NotFound', message: `${refResource}.${RBAC} ${JSON.stringify(String(ref.name ?? ''))} not found`, details: { name: String(ref.name ?? ''), group: RBAC, kind: refResource } };
    rules = (role.rules as PolicyRule[] | undefined) ?? [];
  }
  const msg = escalationMessage(store, user, namespace, rules);
  return msg ? forbidden(msg) : undefined;
}
