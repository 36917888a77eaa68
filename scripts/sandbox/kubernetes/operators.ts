// The operators a cluster may run for training workloads: their CustomResourceDefinitions, as
// `kubectl apply -f` of the operator's release manifest would create them (names, scope, served
// versions, the status subresource; the schemas keep unknown fields, so the API server does not check
// the operators' own fields). The controllers (controllers-jobset.ts, controllers-kueue.ts) act once
// the CRDs exist.
import type { KubeCluster } from './cluster.js';
import type { Json } from './store.js';

interface CrdExtra {
  /** The release's additionalPrinterColumns (what `kubectl get` shows). */
  printerColumns?: Json[];
  /** false for a kind without a status subresource. */
  status?: boolean;
}

function crd(group: string, kind: string, plural: string, version: string, shortNames: string[] = [], scope: 'Namespaced' | 'Cluster' = 'Namespaced', extra: CrdExtra = {}): Json {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope,
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase(), ...(shortNames.length ? { shortNames } : {}) },
      versions: [{
        name: version, served: true, storage: true,
        ...(extra.status === false ? {} : { subresources: { status: {} } }),
        ...(extra.printerColumns ? { additionalPrinterColumns: extra.printerColumns } : {}),
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      }],
    },
  };
}

const column = (name: string, jsonPath: string, type: string, description: string, priority?: number): Json => ({ name, jsonPath, type, description, ...(priority ? { priority } : {}) });

/** Kueue v0.10.1's CRDs (config/components/crd/bases): the four kinds a queue needs, with their scopes, short names and columns. */
const KUEUE = 'kueue.x-k8s.io';
const kueueCrds = (): Json[] => [
  crd(KUEUE, 'ResourceFlavor', 'resourceflavors', 'v1beta1', ['flavor', 'flavors', 'rf'], 'Cluster', { status: false }),
  crd(KUEUE, 'ClusterQueue', 'clusterqueues', 'v1beta1', ['cq'], 'Cluster', {
    printerColumns: [
      column('Cohort', '.spec.cohort', 'string', 'Cohort that this ClusterQueue belongs to'),
      column('Strategy', '.spec.queueingStrategy', 'string', 'The queueing strategy used to prioritize workloads', 1),
      column('Pending Workloads', '.status.pendingWorkloads', 'integer', 'Number of pending workloads'),
      column('Admitted Workloads', '.status.admittedWorkloads', 'integer', "Number of admitted workloads that haven't finished yet", 1),
    ],
  }),
  crd(KUEUE, 'LocalQueue', 'localqueues', 'v1beta1', ['queue', 'queues', 'lq'], 'Namespaced', {
    printerColumns: [
      column('ClusterQueue', '.spec.clusterQueue', 'string', 'Backing ClusterQueue'),
      column('Pending Workloads', '.status.pendingWorkloads', 'integer', 'Number of pending workloads'),
      column('Admitted Workloads', '.status.admittedWorkloads', 'integer', "Number of admitted workloads that haven't finished yet."),
    ],
  }),
  crd(KUEUE, 'Workload', 'workloads', 'v1beta1', ['wl'], 'Namespaced', {
    printerColumns: [
      column('Queue', '.spec.queueName', 'string', 'Name of the queue this workload was submitted to'),
      column('Reserved in', '.status.admission.clusterQueue', 'string', 'Name of the ClusterQueue where the workload is reserving quota'),
      column('Admitted', ".status.conditions[?(@.type=='Admitted')].status", 'string', 'Admission status'),
      column('Finished', ".status.conditions[?(@.type=='Finished')].status", 'string', 'Workload finished'),
      column('Age', '.metadata.creationTimestamp', 'date', 'Time this workload was created'),
    ],
  }),
];

/** What each operator's release installs (kubernetes-sigs/jobset v0.7.2, kubernetes-sigs/kueue v0.10.1). */
export const OPERATOR_CRDS: Record<string, Json[]> = {
  jobset: [crd('jobset.x-k8s.io', 'JobSet', 'jobsets', 'v1alpha2')],
  kuberay: [crd('ray.io', 'RayCluster', 'rayclusters', 'v1'), crd('ray.io', 'RayJob', 'rayjobs', 'v1')],
  kueue: kueueCrds(),
};

/** Install an operator's CRDs into a sandbox cluster (idempotent). */
export function installOperator(c: KubeCluster, operator: string): void {
  const crds = OPERATOR_CRDS[operator];
  if (!crds) throw new Error(`unknown operator ${operator}: expected one of ${Object.keys(OPERATOR_CRDS).join(', ')}`);
  const t = c.type('apiextensions.k8s.io', 'customresourcedefinitions');
  for (const obj of crds) if (!c.store.get(t, '', String((obj.metadata as Json).name))) c.createObject(t, structuredClone(obj), 'kubectl');
}

/** One Kueue queue: a ResourceFlavor, a ClusterQueue covering the given resources with their nominal quotas, a LocalQueue pointing at it. */
export interface KueueQueueSeed {
  /** The LocalQueue (namespaced) train-job's `queue` names. */
  queue: string;
  namespace: string;
  clusterQueue: string;
  flavor: string;
  /** nominalQuota per resource (cpu, memory, nvidia.com/gpu). */
  quota: Record<string, string>;
  /** The flavor's nodeLabels: Kueue adds them to an admitted job's nodeSelector. */
  nodeLabels?: Record<string, string>;
  queueingStrategy?: 'BestEffortFIFO' | 'StrictFIFO';
}

/** Install Kueue (if it is not yet) and create one queue, as a cluster admin would with kubectl apply. */
export function seedKueueQueue(c: KubeCluster, s: KueueQueueSeed): void {
  installOperator(c, 'kueue');
  const kind = (resource: string) => c.type(KUEUE, resource);
  const put = (resource: string, obj: Json): void => {
    const m = obj.metadata as Json;
    if (!c.store.get(kind(resource), String(m.namespace ?? ''), String(m.name))) c.createObject(kind(resource), obj, 'kubectl');
  };
  put('resourceflavors', { apiVersion: `${KUEUE}/v1beta1`, kind: 'ResourceFlavor', metadata: { name: s.flavor }, spec: { ...(s.nodeLabels ? { nodeLabels: s.nodeLabels } : {}) } });
  put('clusterqueues', {
    apiVersion: `${KUEUE}/v1beta1`, kind: 'ClusterQueue', metadata: { name: s.clusterQueue },
    spec: {
      namespaceSelector: {}, queueingStrategy: s.queueingStrategy ?? 'BestEffortFIFO',
      resourceGroups: [{ coveredResources: Object.keys(s.quota), flavors: [{ name: s.flavor, resources: Object.entries(s.quota).map(([name, nominalQuota]) => ({ name, nominalQuota })) }] }],
    },
  });
  put('localqueues', { apiVersion: `${KUEUE}/v1beta1`, kind: 'LocalQueue', metadata: { name: s.queue, namespace: s.namespace }, spec: { clusterQueue: s.clusterQueue } });
}
