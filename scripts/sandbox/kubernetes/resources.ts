// The resource types a sandbox cluster serves: the built-in ones the suite and the local stack use,
// plus whatever CustomResourceDefinitions add at run time.

export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  /** Plural, lower case: the URL segment. */
  resource: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  subresources?: string[];
  /** The verbs discovery lists when not all of VERBS (the review kinds are create-only). */
  verbs?: string[];
  /** From a CustomResourceDefinition (validated by its openAPIV3Schema, if any). */
  crd?: { schema?: Record<string, unknown>; selectableFields?: string[]; printerColumns?: Record<string, unknown>[] };
}

type Row = [group: string, version: string, kind: string, resource: string, namespaced: boolean, shortNames?: string[], subresources?: string[], verbs?: string[]];

const ALL = ['pods', 'services', 'deployments', 'replicasets', 'statefulsets', 'daemonsets', 'jobs', 'cronjobs'];

const ROWS: Row[] = [
  ['', 'v1', 'Namespace', 'namespaces', false, ['ns'], ['status']],
  ['', 'v1', 'Node', 'nodes', false, ['no'], ['status', 'proxy']],
  ['', 'v1', 'Pod', 'pods', true, ['po'], ['status', 'log', 'binding', 'eviction']],
  ['', 'v1', 'Service', 'services', true, ['svc'], ['status', 'proxy']],
  ['', 'v1', 'Endpoints', 'endpoints', true, ['ep']],
  ['', 'v1', 'ConfigMap', 'configmaps', true, ['cm']],
  ['', 'v1', 'Secret', 'secrets', true],
  ['', 'v1', 'ServiceAccount', 'serviceaccounts', true, ['sa'], ['token']],
  ['', 'v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', true, ['pvc'], ['status']],
  ['', 'v1', 'PersistentVolume', 'persistentvolumes', false, ['pv'], ['status']],
  ['', 'v1', 'ResourceQuota', 'resourcequotas', true, ['quota'], ['status']],
  ['', 'v1', 'LimitRange', 'limitranges', true, ['limits']],
  ['', 'v1', 'Event', 'events', true, ['ev']],
  ['discovery.k8s.io', 'v1', 'EndpointSlice', 'endpointslices', true],
  ['apps', 'v1', 'Deployment', 'deployments', true, ['deploy'], ['status', 'scale']],
  ['apps', 'v1', 'ReplicaSet', 'replicasets', true, ['rs'], ['status', 'scale']],
  ['apps', 'v1', 'StatefulSet', 'statefulsets', true, ['sts'], ['status', 'scale']],
  ['apps', 'v1', 'DaemonSet', 'daemonsets', true, ['ds'], ['status']],
  ['apps', 'v1', 'ControllerRevision', 'controllerrevisions', true],
  ['batch', 'v1', 'Job', 'jobs', true, [], ['status']],
  ['batch', 'v1', 'CronJob', 'cronjobs', true, ['cj'], ['status']],
  ['networking.k8s.io', 'v1', 'Ingress', 'ingresses', true, ['ing'], ['status']],
  ['networking.k8s.io', 'v1', 'NetworkPolicy', 'networkpolicies', true, ['netpol']],
  ['policy', 'v1', 'PodDisruptionBudget', 'poddisruptionbudgets', true, ['pdb'], ['status']],
  ['rbac.authorization.k8s.io', 'v1', 'Role', 'roles', true],
  ['rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings', true],
  ['rbac.authorization.k8s.io', 'v1', 'ClusterRole', 'clusterroles', false],
  ['rbac.authorization.k8s.io', 'v1', 'ClusterRoleBinding', 'clusterrolebindings', false],
  ['authorization.k8s.io', 'v1', 'SelfSubjectAccessReview', 'selfsubjectaccessreviews', false, [], [], ['create']],
  ['authorization.k8s.io', 'v1', 'SelfSubjectRulesReview', 'selfsubjectrulesreviews', false, [], [], ['create']],
  ['authorization.k8s.io', 'v1', 'SubjectAccessReview', 'subjectaccessreviews', false, [], [], ['create']],
  ['authorization.k8s.io', 'v1', 'LocalSubjectAccessReview', 'localsubjectaccessreviews', true, [], [], ['create']],
  ['authentication.k8s.io', 'v1', 'SelfSubjectReview', 'selfsubjectreviews', false, [], [], ['create']],
  ['storage.k8s.io', 'v1', 'StorageClass', 'storageclasses', false, ['sc']],
  ['scheduling.k8s.io', 'v1', 'PriorityClass', 'priorityclasses', false, ['pc']],
  ['coordination.k8s.io', 'v1', 'Lease', 'leases', true],
  ['autoscaling', 'v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', true, ['hpa'], ['status']],
  // What training operators' manifests carry besides their CRDs (JobSet, Kueue): stored, not called.
  ['admissionregistration.k8s.io', 'v1', 'MutatingWebhookConfiguration', 'mutatingwebhookconfigurations', false],
  ['admissionregistration.k8s.io', 'v1', 'ValidatingWebhookConfiguration', 'validatingwebhookconfigurations', false],
  ['apiregistration.k8s.io', 'v1', 'APIService', 'apiservices', false, [], ['status']],
  ['apiextensions.k8s.io', 'v1', 'CustomResourceDefinition', 'customresourcedefinitions', false, ['crd', 'crds'], ['status']],
];

export function builtinResources(): ResourceType[] {
  return ROWS.map(([group, version, kind, resource, namespaced, shortNames, subresources, verbs]) => ({
    group,
    version,
    kind,
    resource,
    singular: kind.toLowerCase(),
    namespaced,
    ...(shortNames?.length ? { shortNames } : {}),
    ...(ALL.includes(resource) ? { categories: ['all'] } : {}),
    subresources: subresources ?? [],
    ...(verbs ? { verbs } : {}),
  }));
}

export const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export const apiVersionOf = (t: { group: string; version: string }): string => (t.group ? `${t.group}/${t.version}` : t.version);

/** `deployments.apps` / `pods`: how Kubernetes names a resource in messages. */
export const qualified = (t: { group: string; resource: string }): string => (t.group ? `${t.resource}.${t.group}` : t.resource);
