// The operators a cluster may run for training workloads: their CustomResourceDefinitions, as
// `kubectl apply -f` of the operator's release manifest would create them (names, scope, served
// versions, the status subresource; the schemas keep unknown fields, so the API server does not check
// the operators' own fields). The controllers (controllers-jobset.ts) act once the CRD exists.
import type { KubeCluster } from './cluster.js';
import type { Json } from './store.js';

function crd(group: string, kind: string, plural: string, version: string, shortNames: string[] = []): Json {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase(), ...(shortNames.length ? { shortNames } : {}) },
      versions: [{ name: version, served: true, storage: true, subresources: { status: {} }, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
    },
  };
}

/** What each operator's release installs (kubernetes-sigs/jobset v0.7.2). */
export const OPERATOR_CRDS: Record<string, Json[]> = {
  jobset: [crd('jobset.x-k8s.io', 'JobSet', 'jobsets', 'v1alpha2')],
  kuberay: [crd('ray.io', 'RayCluster', 'rayclusters', 'v1'), crd('ray.io', 'RayJob', 'rayjobs', 'v1')],
};

/** Install an operator's CRDs into a sandbox cluster (idempotent). */
export function installOperator(c: KubeCluster, operator: string): void {
  const crds = OPERATOR_CRDS[operator];
  if (!crds) throw new Error(`unknown operator ${operator}: expected one of ${Object.keys(OPERATOR_CRDS).join(', ')}`);
  const t = c.type('apiextensions.k8s.io', 'customresourcedefinitions');
  for (const obj of crds) if (!c.store.get(t, '', String((obj.metadata as Json).name))) c.createObject(t, structuredClone(obj), 'kubectl');
}
