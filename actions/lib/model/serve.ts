/**
 * Serve a promoted model in the GKE cluster: vLLM's OpenAI-compatible server as a Deployment on a
 * GPU node pool (made through node-pool-expand's library when asked, and then destroyed through
 * node-pool-destroy's library, snapshot first, on undeploy), the model copied from the promoted
 * gs:// prefix by an init container into a pod-local volume, a Service (ClusterIP, or an internal
 * load balancer), readiness on /health, then a check that /v1/models lists the model.
 *
 * Why an init container rather than the Cloud Storage FUSE CSI driver: the copy is verified whole
 * before vLLM starts (it reads manifest.json's files from a local disk at full speed, with no FUSE
 * cache tuning), it needs nothing enabled on the cluster (the FUSE driver is a cluster add-on plus a
 * Workload Identity binding per namespace), and the same Deployment runs on any node pool.
 */
import { ActionError } from '../errors.js';
import type { ClusterRef, NodePool } from '../google/container.js';
import { getNodePool } from '../google/container.js';
import { findOrUndefined } from '../http.js';
import type { KubeClient, KubeObject } from '../kubernetes/client.js';
import { costText, poolGpus } from '../nodepool/cost.js';
import { destroyNodePool } from '../nodepool/destroy.js';
import { expandNodePool } from '../nodepool/expand.js';
import { requireCluster } from '../nodepool/snapshot.js';
import type { GpuPoolSpec } from '../nodepool/spec.js';
import { info } from '../runner.js';
import { MODEL_URI_ANNOTATION, SERVER_LABEL } from './serving.js';

export const CREATED_POOL_ANNOTATION = 'mlabs.io/created-pool';
export const VLLM_IMAGE = 'vllm/vllm-openai:v0.6.3.post1';
export const FETCH_IMAGE = 'gcr.io/google.com/cloudsdktool/google-cloud-cli:499.0.0-slim';
const FIELD_MANAGER = 'mlabs-model-serve';
const PORT = 8000;

export interface ServeSpec {
  ref: ClusterRef;
  name: string;
  namespace: string;
  modelUri: string;
  servedName: string;
  accelerator: string;
  acceleratorCount: number;
  replicas: number;
  maxModelLen: number;
  vllmArgs: string[];
  serviceType: 'cluster-ip' | 'internal-lb';
  pool: string;
  createPool: boolean;
  /** The service account the pool's nodes run as (create_pool); unset = GKE's default, the Compute Engine default account. */
  serviceAccount?: string;
  snapshotBucket: string;
  deadline: number;
}

export interface ServeResult {
  endpoint: string;
  model: string;
  readyReplicas: number;
  hourlyCost: string;
  poolCreated?: string;
  reach: string;
}

const DEPLOYMENT = { apiVersion: 'apps/v1', kind: 'Deployment' };
const SERVICE = { apiVersion: 'v1', kind: 'Service' };

export function servingObjects(s: ServeSpec, createdPool: string | undefined): KubeObject[] {
  const labels = { 'app.kubernetes.io/name': s.name, 'app.kubernetes.io/component': 'model-server', [SERVER_LABEL]: 'true' };
  const deployment: KubeObject = {
    ...DEPLOYMENT,
    metadata: {
      name: s.name,
      namespace: s.namespace,
      labels,
      annotations: { [MODEL_URI_ANNOTATION]: s.modelUri, ...(createdPool ? { [CREATED_POOL_ANNOTATION]: createdPool } : {}) },
    },
    spec: {
      replicas: s.replicas,
      selector: { matchLabels: { 'app.kubernetes.io/name': s.name } },
      template: {
        metadata: { labels },
        spec: {
          nodeSelector: { 'cloud.google.com/gke-nodepool': s.pool, 'cloud.google.com/gke-accelerator': s.accelerator },
          tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
          volumes: [
            { name: 'model', emptyDir: {} },
            { name: 'dshm', emptyDir: { medium: 'Memory' } },
          ],
          initContainers: [
            {
              name: 'fetch-model',
              image: FETCH_IMAGE,
              command: ['gcloud', 'storage', 'rsync', '--recursive', s.modelUri.replace(/\/+$/, ''), '/models'],
              volumeMounts: [{ name: 'model', mountPath: '/models' }],
            },
          ],
          containers: [
            {
              name: 'vllm',
              image: VLLM_IMAGE,
              args: ['--model', '/models', '--served-model-name', s.servedName, '--max-model-len', String(s.maxModelLen), '--tensor-parallel-size', String(s.acceleratorCount), '--port', String(PORT), ...s.vllmArgs],
              ports: [{ name: 'http', containerPort: PORT }],
              resources: { limits: { 'nvidia.com/gpu': String(s.acceleratorCount) }, requests: { 'nvidia.com/gpu': String(s.acceleratorCount) } },
              readinessProbe: { httpGet: { path: '/health', port: PORT }, periodSeconds: 10, failureThreshold: 3 },
              startupProbe: { httpGet: { path: '/health', port: PORT }, periodSeconds: 10, failureThreshold: 180 },
              volumeMounts: [
                { name: 'model', mountPath: '/models' },
                { name: 'dshm', mountPath: '/dev/shm' },
              ],
            },
          ],
        },
      },
    },
  };
  const service: KubeObject = {
    ...SERVICE,
    metadata: {
      name: s.name,
      namespace: s.namespace,
      labels,
      ...(s.serviceType === 'internal-lb' ? { annotations: { 'networking.gke.io/load-balancer-type': 'Internal' } } : {}),
    },
    spec: {
      type: s.serviceType === 'internal-lb' ? 'LoadBalancer' : 'ClusterIP',
      selector: { 'app.kubernetes.io/name': s.name },
      ports: [{ name: 'http', port: PORT, targetPort: PORT }],
    },
  };
  return [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: s.namespace } }, deployment, service];
}

function poolSpec(s: ServeSpec): GpuPoolSpec {
  return {
    name: s.pool,
    acceleratorType: s.accelerator,
    acceleratorCount: s.acceleratorCount,
    nodeCount: s.replicas,
    minNodes: 0,
    maxNodes: 0,
    spot: false,
    diskSizeGb: 200,
    diskType: 'pd-balanced',
    taints: [],
    labels: { 'mlabs-serving': s.name },
    driver: 'default',
    ...(s.serviceAccount ? { serviceAccount: s.serviceAccount } : {}),
  };
}

function endpointOf(s: ServeSpec, svc: KubeObject | undefined): string {
  const lb = ((svc?.status as { loadBalancer?: { ingress?: { ip?: string }[] } } | undefined)?.loadBalancer?.ingress ?? [])[0]?.ip;
  if (s.serviceType === 'internal-lb' && lb) return `http://${lb}:${PORT}/v1`;
  return `http://${s.name}.${s.namespace}.svc.cluster.local:${PORT}/v1`;
}

function reachText(s: ServeSpec, endpoint: string): string {
  return s.serviceType === 'internal-lb' && !endpoint.includes('.svc.')
    ? `from the VPC: curl ${endpoint}/models`
    : `kubectl -n ${s.namespace} port-forward svc/${s.name} ${PORT}:${PORT}, then curl http://127.0.0.1:${PORT}/v1/models`;
}

async function poolCost(ref: ClusterRef, pool: string): Promise<string> {
  const p = await findOrUndefined<NodePool>(() => getNodePool(ref, pool));
  return p ? costText(poolGpus(p)) : '';
}

export async function deploy(s: ServeSpec, kube: KubeClient): Promise<ServeResult> {
  const cluster = await requireCluster(s.ref);
  let createdPool = (await kube.get({ ...DEPLOYMENT, namespace: s.namespace }, s.name))?.metadata.annotations?.[CREATED_POOL_ANNOTATION];
  if (s.createPool) {
    const r = await expandNodePool(s.ref, cluster, poolSpec(s), { mode: 'default' }, s.deadline);
    info(`GPU pool ${s.pool}: ${r.outcome} in ${r.zones.join(', ')}`);
    if (r.outcome === 'created') createdPool = s.pool;
  } else if (!(await findOrUndefined(() => getNodePool(s.ref, s.pool)))) {
    throw new ActionError(`Node pool ${s.pool} does not exist in cluster ${s.ref.cluster}.`, { fix: 'Set create_pool: true to make it with node-pool-expand\'s library, or name an existing GPU pool.' });
  }
  for (const obj of servingObjects(s, createdPool)) await kube.apply(obj, { fieldManager: FIELD_MANAGER, force: true });
  const ns = { ...DEPLOYMENT, namespace: s.namespace };
  const ready = await kube.waitFor<KubeObject>(ns, s.name, (d) => Number((d?.status as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0) >= s.replicas, {
    timeoutMs: Math.max(1000, s.deadline - Date.now()),
    what: `deployment ${s.namespace}/${s.name} to have ${s.replicas} ready replica(s)`,
  });
  const health = await kube.proxyGet(s.namespace, s.name, PORT, '/health');
  if (health.status !== 200) throw new ActionError(`vLLM in ${s.namespace}/${s.name} answered /health with ${health.status}.`, { fix: `kubectl -n ${s.namespace} logs deploy/${s.name} -c vllm` });
  const models = await kube.proxyGet(s.namespace, s.name, PORT, '/v1/models');
  let ids: string[] = [];
  try {
    ids = ((JSON.parse(models.body) as { data?: { id?: string }[] }).data ?? []).map((m) => String(m.id));
  } catch {
    /* not a model list */
  }
  if (models.status !== 200 || !ids.includes(s.servedName)) {
    throw new ActionError(`vLLM in ${s.namespace}/${s.name} is up but /v1/models does not list ${s.servedName} (it lists ${ids.join(', ') || 'nothing'}).`, {
      fix: `Check the --served-model-name and the files under ${s.modelUri}: kubectl -n ${s.namespace} logs deploy/${s.name} -c vllm`,
    });
  }
  const svc = await kube.get({ ...SERVICE, namespace: s.namespace }, s.name);
  const endpoint = endpointOf(s, svc);
  return {
    endpoint,
    model: s.servedName,
    readyReplicas: Number((ready?.status as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0),
    hourlyCost: await poolCost(s.ref, s.pool),
    ...(createdPool ? { poolCreated: createdPool } : {}),
    reach: reachText(s, endpoint),
  };
}

export async function status(s: ServeSpec, kube: KubeClient): Promise<ServeResult & { present: boolean }> {
  const d = await kube.get({ ...DEPLOYMENT, namespace: s.namespace }, s.name);
  const svc = await kube.get({ ...SERVICE, namespace: s.namespace }, s.name);
  const endpoint = d ? endpointOf(s, svc) : '';
  const args = ((((d?.spec as { template?: { spec?: { containers?: { args?: string[] }[] } } } | undefined)?.template?.spec?.containers ?? [])[0]?.args) ?? []);
  const i = args.indexOf('--served-model-name');
  return {
    present: Boolean(d),
    endpoint,
    model: i >= 0 ? String(args[i + 1]) : '',
    readyReplicas: Number((d?.status as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0),
    hourlyCost: d ? await poolCost(s.ref, s.pool) : '',
    reach: d ? reachText(s, endpoint) : 'not deployed',
  };
}

export interface UndeployResult {
  deployment: boolean;
  service: boolean;
  pool?: { name: string; outcome: string; snapshot?: string };
}

export async function undeploy(s: ServeSpec, kube: KubeClient): Promise<UndeployResult> {
  const ns = { ...DEPLOYMENT, namespace: s.namespace };
  const d = await kube.get(ns, s.name);
  const createdPool = d?.metadata.annotations?.[CREATED_POOL_ANNOTATION];
  const deployment = await kube.delete(ns, s.name, { propagationPolicy: 'Foreground' });
  const service = await kube.delete({ ...SERVICE, namespace: s.namespace }, s.name);
  await kube.waitFor(ns, s.name, (x) => x === undefined, { timeoutMs: Math.max(1000, s.deadline - Date.now()), what: `deployment ${s.namespace}/${s.name} to be gone` });
  // The pool goes only when this deploy made it (its annotation says so), or when asked by create_pool on an absent Deployment.
  const poolName = createdPool ?? (d === undefined && s.createPool ? s.pool : undefined);
  if (!poolName) return { deployment, service };
  const r = await destroyNodePool(s.ref, poolName, { bucket: s.snapshotBucket, deadline: s.deadline });
  return { deployment, service, pool: { name: poolName, outcome: r.outcome, ...(r.snapshot ? { snapshot: r.snapshot.uri } : {}) } };
}
