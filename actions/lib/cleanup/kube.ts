/**
 * What cost-cleanup reads from the cluster's Kubernetes API, through the suite's client
 * (actions/lib/kubernetes/client.ts): nodes (their pool label) and pods (GPU requests, node,
 * phase, when they finished). Access is a kubeconfig, or the GKE cluster itself: `https://` +
 * `endpoint`, `masterAuth.clusterCaCertificate` and the Google access token, which is what
 * `gcloud container clusters get-credentials` sets up.
 */
import { ActionError } from '../errors.js';
import { getAccessToken } from '../google/auth.js';
import { getCluster, type ClusterRef } from '../google/container.js';
import { KubeClient, type KubeObject } from '../kubernetes/client.js';

export type KubeAccess = KubeClient;

export interface KubeNode {
  name: string;
  labels: Record<string, string>;
  creationTimestamp: string;
}

export interface KubePod {
  namespace: string;
  name: string;
  nodeName?: string;
  phase: string;
  gpus: number;
  /** Last time a container of the pod stopped (finished pods), else undefined. */
  finishedAt?: string;
  startTime?: string;
}

type Json = Record<string, unknown>;

export function accessFromKubeconfig(path: string): Promise<KubeAccess> {
  return KubeClient.fromKubeconfig(path);
}

/** The GKE cluster's endpoint and CA, with the Google token. */
export async function accessFromGke(ref: ClusterRef): Promise<KubeAccess> {
  const cluster = await getCluster(ref);
  const endpoint = String(cluster.endpoint ?? '');
  const ca = (cluster.masterAuth as { clusterCaCertificate?: string } | undefined)?.clusterCaCertificate;
  if (!endpoint) {
    throw new ActionError(`Cluster ${ref.cluster} has no endpoint (status ${cluster.status ?? 'unknown'}).`, { fix: 'Wait until the cluster is RUNNING, or pass a kubeconfig.' });
  }
  return new KubeClient({
    server: `https://${endpoint}`,
    caPem: ca ? Buffer.from(ca, 'base64').toString('utf8') : undefined,
    token: () => getAccessToken(),
    namespace: 'default',
    context: `gke_${ref.project}_${ref.location}_${ref.cluster}`,
  });
}

export async function listNodes(kube: KubeAccess): Promise<KubeNode[]> {
  return (await kube.list({ apiVersion: 'v1', kind: 'Node' })).map((n) => ({
    name: n.metadata.name,
    labels: n.metadata.labels ?? {},
    creationTimestamp: String(n.metadata.creationTimestamp ?? ''),
  }));
}

/** GPUs a pod asks for: the larger of requests and limits of nvidia.com/gpu, summed over containers (init containers: the max). */
export function podGpus(pod: Pick<KubeObject, 'spec'>): number {
  const spec = (pod.spec ?? {}) as Json;
  const of = (c: Json): number => {
    const r = (c.resources ?? {}) as { requests?: Record<string, string>; limits?: Record<string, string> };
    return Math.max(Number(r.requests?.['nvidia.com/gpu'] ?? 0), Number(r.limits?.['nvidia.com/gpu'] ?? 0));
  };
  const main = ((spec.containers as Json[] | undefined) ?? []).reduce((a, c) => a + of(c), 0);
  const init = ((spec.initContainers as Json[] | undefined) ?? []).reduce((a, c) => Math.max(a, of(c)), 0);
  return Math.max(main, init);
}

export async function listPods(kube: KubeAccess): Promise<KubePod[]> {
  return (await kube.list({ apiVersion: 'v1', kind: 'Pod' })).map((p) => {
    const spec = (p.spec ?? {}) as Json;
    const status = (p.status ?? {}) as Json;
    const finished = ((status.containerStatuses as Json[] | undefined) ?? [])
      .map((c) => ((c.state as Json | undefined)?.terminated as Json | undefined)?.finishedAt)
      .filter((t): t is string => typeof t === 'string')
      .sort();
    return {
      namespace: p.metadata.namespace ?? '',
      name: p.metadata.name,
      nodeName: spec.nodeName ? String(spec.nodeName) : undefined,
      phase: String(status.phase ?? 'Pending'),
      gpus: podGpus(p),
      finishedAt: finished[finished.length - 1],
      startTime: status.startTime ? String(status.startTime) : undefined,
    };
  });
}
