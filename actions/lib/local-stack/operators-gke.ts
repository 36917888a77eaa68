/**
 * The training operators on a GKE cluster, through the suite's Kubernetes client (no kubectl, no
 * kubeconfig on disk): the same pinned, checksummed manifests the local stack applies (OPERATORS in
 * matrix.ts, operatorManifest in apply.ts), server-side applied object by object, then the CRDs
 * Established and the controller Deployment available. Undeploy removes the controller and the
 * objects that call it; the CRDs (and every object of them in the cluster) go only with purge.
 */
import { ActionError, describeError } from '../errors.js';
import { ApiError } from '../http.js';
import type { KubeClient, KubeObject } from '../kubernetes/client.js';
import { info } from '../runner.js';
import { operatorManifest } from './apply.js';
import { stackLabels } from './labels.js';
import { type Operator, OPERATORS } from './matrix.js';

export const FIELD_MANAGER = 'mlabs-actions';

/** The role an operator's install or removal needs: RBAC roles, webhook configurations and CRDs are container.admin's. */
export const ADMIN_ROLE = 'roles/container.admin';

/** A refusal by GKE's IAM becomes one error naming the role (the CI account holds roles/container.developer only). */
async function asAdmin<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ApiError && err.httpStatus === 403) {
      throw new ActionError(`${what}: ${describeError(err)}`, {
        fix: `Installing or removing an operator writes RBAC roles, webhook configurations and CustomResourceDefinitions, which need ${ADMIN_ROLE}; the CI account that terraform/ makes holds roles/container.developer. Run the cluster-operators workflow once as a platform admin's identity, or grant ${ADMIN_ROLE} to the account running it.`,
      });
    }
    throw err;
  }
}

export interface OperatorResult {
  operator: Operator;
  version: string;
  image: string;
  namespace: string;
  /** deployed | unchanged | removed | absent | ready | not-ready */
  status: string;
  health: string;
  changed: string[];
}

/** The pinned manifest's objects, in its order (CRDs first, webhooks last, as kustomize writes them). */
export async function manifestObjects(name: Operator): Promise<KubeObject[]> {
  const yaml = await import('yaml');
  return yaml.parseAllDocuments(operatorManifest(name)).map((d) => d.toJSON() as KubeObject | null).filter((o): o is KubeObject => Boolean(o?.kind));
}

const refOf = (o: KubeObject): { apiVersion: string; kind: string; namespace?: string } => ({ apiVersion: o.apiVersion, kind: o.kind, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) });

const base = (name: Operator, status: string): OperatorResult => {
  const p = OPERATORS[name];
  return { operator: name, version: p.version, image: p.image, namespace: p.namespace, status, health: '', changed: [] };
};

async function controllerHealth(kube: KubeClient, name: Operator): Promise<{ ok: boolean; text: string }> {
  const p = OPERATORS[name];
  const d = await kube.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: p.namespace }, p.deployment);
  if (!d) return { ok: false, text: `deployment/${p.deployment} absent` };
  const want = Number((d.spec as { replicas?: number } | undefined)?.replicas ?? 1);
  const have = Number((d.status as { availableReplicas?: number } | undefined)?.availableReplicas ?? 0);
  return { ok: have >= want, text: `deployment/${p.deployment} ${have >= want ? 'available' : 'failing: available'} ${have}/${want}` };
}

export async function deployOperators(kube: KubeClient, names: Operator[], deadline: number): Promise<OperatorResult[]> {
  const out: OperatorResult[] = [];
  for (const name of names) {
    const p = OPERATORS[name];
    const res = base(name, 'deployed');
    out.push(res);
    const objects = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: p.namespace, labels: stackLabels(name) } } as KubeObject, ...(await manifestObjects(name))];
    info(`${name}: server-side apply of ${objects.length} objects (${p.repo} ${p.version}, sha256 ${p.sha256.slice(0, 12)}…)`);
    for (const o of objects) {
      const before = await kube.get(refOf(o), o.metadata.name);
      const after = await asAdmin(`${name}: applying ${o.kind}/${o.metadata.name}`, () => kube.apply(o, { fieldManager: FIELD_MANAGER, force: true }));
      if (before?.metadata.resourceVersion !== after.metadata.resourceVersion) res.changed.push(`${o.kind}/${o.metadata.name}${before ? ' (changed)' : ' (created)'}`);
    }
    for (const crd of p.crds) {
      const ok = await kube.waitFor({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' }, crd, (c) => ((c?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some((x) => x.type === 'Established' && x.status === 'True'), { timeoutMs: Math.max(1000, deadline - Date.now()), intervalMs: 200, maxIntervalMs: 2000, what: `CustomResourceDefinition ${crd} Established` });
      if (!ok) throw new ActionError(`${name}: CustomResourceDefinition ${crd} is not Established before the timeout.`);
    }
    const rolled = await kube.waitFor({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: p.namespace }, p.deployment, (d) => {
      const want = Number((d?.spec as { replicas?: number } | undefined)?.replicas ?? 1);
      return Number((d?.status as { availableReplicas?: number } | undefined)?.availableReplicas ?? 0) >= want;
    }, { timeoutMs: Math.max(1000, deadline - Date.now()), intervalMs: 200, maxIntervalMs: 2000, what: `deployment/${p.deployment} available` });
    if (!rolled) throw new ActionError(`${name}: deployment/${p.deployment} is not available before the timeout.`, { fix: `Check its pods: kubectl get pods -n ${p.namespace}.` });
    res.health = (await controllerHealth(kube, name)).text;
    if (!res.changed.length) res.status = 'unchanged';
  }
  return out;
}

export async function operatorStatus(kube: KubeClient, names: Operator[]): Promise<OperatorResult[]> {
  const out: OperatorResult[] = [];
  for (const name of names) {
    const h = await controllerHealth(kube, name);
    const res = base(name, h.text.endsWith('absent') ? 'absent' : h.ok ? 'ready' : 'not-ready');
    res.health = h.text;
    out.push(res);
  }
  return out;
}

/** Remove the controller and what calls it; with purge the whole manifest, CRDs included, naming the objects that go with them. */
export async function undeployOperators(kube: KubeClient, names: Operator[], purge: boolean): Promise<OperatorResult[]> {
  const out: OperatorResult[] = [];
  for (const name of [...names].reverse()) {
    const p = OPERATORS[name];
    const res = base(name, 'removed');
    out.push(res);
    const objects = await manifestObjects(name);
    const callers = new Set(p.callers.map((c) => c.split('/')[1]));
    const always = objects.filter((o) => o.kind === 'Deployment' || o.kind === 'Service' || callers.has(o.metadata.name));
    const doomed = purge ? [...objects].reverse() : always;
    if (purge) {
      for (const crd of objects.filter((o) => o.kind === 'CustomResourceDefinition')) {
        const spec = crd.spec as { group: string; names: { kind: string }; versions: { name: string; storage?: boolean }[] };
        const version = spec.versions.find((v) => v.storage)?.name ?? spec.versions[0]?.name ?? 'v1';
        if (!(await kube.get({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' }, crd.metadata.name))) continue;
        const items = await kube.list({ apiVersion: `${spec.group}/${version}`, kind: spec.names.kind });
        if (!items.length) continue;
        const line = `${items.length} ${spec.names.kind} object(s) deleted with the CRD: ${items.slice(0, 10).map((i) => `${i.metadata.namespace ? `${i.metadata.namespace}/` : ''}${i.metadata.name}`).join(', ')}${items.length > 10 ? ', …' : ''}`;
        info(`${name}: ${line}`);
        res.changed.push(line);
      }
    }
    for (const o of doomed) if (await asAdmin(`${name}: deleting ${o.kind}/${o.metadata.name}`, () => kube.delete(refOf(o), o.metadata.name, { propagationPolicy: 'Foreground' }))) res.changed.push(`${o.kind}/${o.metadata.name} (deleted)`);
    if (purge && (await kube.delete({ apiVersion: 'v1', kind: 'Namespace' }, p.namespace))) res.changed.push(`Namespace/${p.namespace} (deleted)`);
    if (!res.changed.length) res.status = 'absent';
    res.health = purge ? 'CustomResourceDefinitions and their objects deleted' : `kept CustomResourceDefinitions (and the users' objects of them): ${p.crds.join(', ')}`;
  }
  return out;
}
