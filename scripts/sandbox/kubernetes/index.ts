// The sandbox's Kubernetes service: one HTTPS API server per GKE cluster (Node objects follow the
// GKE module's node pools) and minikube-like clusters for the self-hosted machines (dgx, agx).
// Other modules and tests reach it with `kubernetesOf(sandbox)` or ctx.services.get('kubernetes').
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SandboxContext } from '../context.js';
import { allowGoogleIdentities, type ExternalAuthorizer } from './auth.js';
import { KubeCluster, type ProxyAnswer } from './cluster.js';
import { gkeIamAuthorizer, type IamEngine } from '../iam/engine.js';
import type { Delays } from './controllers.js';
import { makePki, type Pki } from './pki.js';
import { installOperator, seedKueueQueue, type KueueQueueSeed } from './operators.js';
import { meta, type Json } from './store.js';

export { KubeCluster } from './cluster.js';
export type { AuthorizerDecision, ExternalAuthorizer, RequestAttributes, UserInfo } from './auth.js';
export type { ProxyAnswer } from './cluster.js';

export interface MachineSpec {
  arch: string;
  cpu: string;
  memory: string;
  gpus: number;
  gpuProduct: string;
}

/** The self-hosted machines' single-node clusters. */
export const MACHINES: Record<string, MachineSpec> = {
  dgx: { arch: 'arm64', cpu: '20', memory: '128Gi', gpus: 1, gpuProduct: 'NVIDIA-GB10' },
  agx: { arch: 'arm64', cpu: '12', memory: '64Gi', gpus: 1, gpuProduct: 'NVIDIA-Jetson-AGX-Orin' },
};

export interface ClusterHandle {
  name: string;
  /** https://127.0.0.1:PORT */
  server: string;
  /** A kubeconfig (CA + bearer token) that kubectl can use as is. */
  kubeconfigPath: string;
  cluster: KubeCluster;
}

export interface KubernetesService {
  caPem: string;
  /** GKE clusters by name, and machine clusters by machine name. */
  clusters: Map<string, ClusterHandle>;
  /** Start (or return) the single-node cluster of a self-hosted machine: 'dgx' or 'agx'. */
  startCluster(machine: string): Promise<ClusterHandle>;
  /** The handle of a GKE cluster (by cluster name) or machine cluster. */
  get(name: string): ClusterHandle | undefined;
  /** Kubeconfig text for a cluster (token auth). */
  kubeconfig(name: string): string;
  /** Answer a service's proxied paths (e.g. MLflow `/health`) for tests and demos. */
  setProxyAnswer(cluster: string, namespace: string, service: string, answers: Record<string, ProxyAnswer> | ((path: string) => ProxyAnswer | undefined)): void;
  /** The models an Ollama service holds (pulled through its /api/pull), by their full name:tag. */
  ollamaModels(cluster: string, namespace: string, service: string): string[];
  /** The service's proxy forwards every request (method, path, query, body) to `baseUrl`, e.g. the sandbox's MLflow at <sandbox>/mlflow. */
  forwardService(cluster: string, namespace: string, service: string, baseUrl: string): void;
  /** Faults: image pulls that fail, a node that goes NotReady, watch streams that drop, jobs that fail. */
  failImagePulls(cluster: string, pattern: RegExp): void;
  setNodeReady(cluster: string, node: string, ready: boolean): void;
  dropWatchesAfter(cluster: string, ms: number): void;
  /** That Job's pods end Failed (a RegExp matches job names not known in advance); the returned function lifts the fault. */
  failJob(cluster: string, namespace: string, job: string | RegExp): () => void;
  /** Install an operator's CustomResourceDefinitions (`jobset`, `kueue`, `kuberay`); its controller acts from then on. */
  installOperator(cluster: string, operator: string): void;
  /** Install Kueue and create one queue: ResourceFlavor, ClusterQueue (nominal quotas), LocalQueue. */
  seedKueueQueue(cluster: string, seed: KueueQueueSeed): void;
  /**
   * Kueue evicts that Workload: `InactiveWorkload` deactivates it (spec.active false; the returned
   * function activates it again), another reason (`Preempted`, `PodsReadyTimeout`...) sets Evicted True
   * with that reason and message. Its job is stopped and the workload requeued.
   */
  evictWorkload(cluster: string, namespace: string, workload: string, reason: string, message?: string): () => void;
}

export interface KubernetesOptions {
  delays?: Partial<Delays>;
}

const GIB = 1024 ** 3;

/** Capacity of a GKE machine type (cpu, memory) from its name. */
function machineCapacity(machineType: string): { cpu: number; memoryGi: number } {
  const m = /^([a-z0-9]+)-(standard|highmem|highcpu|highgpu|ultragpu|megagpu|medium|small|micro)-?(\d+)?g?$/.exec(machineType);
  const family = m?.[1] ?? 'e2';
  const kind = m?.[2] ?? 'standard';
  const n = Number(m?.[3] ?? 2);
  if (kind === 'medium') return { cpu: 2, memoryGi: 4 };
  if (kind === 'small') return { cpu: 2, memoryGi: 2 };
  if (kind === 'micro') return { cpu: 2, memoryGi: 1 };
  if (family === 'a2' && kind === 'highgpu') return { cpu: 12 * n, memoryGi: 85 * n };
  if (family === 'a3') return { cpu: 26 * n, memoryGi: 234 * n };
  if (family === 'g2') return { cpu: n, memoryGi: 4 * n };
  const per = kind === 'highmem' ? 8 : kind === 'highcpu' ? 1 : family === 'n1' ? 3.75 : 4;
  return { cpu: n, memoryGi: Math.round(per * n) };
}

/** What GKE's control plane and nodes report for the sandbox's cluster version. */
export const GKE_VERSION = 'v1.32.4-gke.1415000';

function nodeObject(name: string, labels: Record<string, string>, capacity: Record<string, string>, taints: Json[], providerID: string, ip: string, arch: string, version = 'v1.32.4'): Json {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': arch, 'beta.kubernetes.io/os': 'linux', 'beta.kubernetes.io/arch': arch, ...labels } },
    spec: { providerID, ...(taints.length ? { taints } : {}) },
    status: {
      capacity: { ...capacity, pods: '110', 'ephemeral-storage': '100Gi' },
      allocatable: { ...capacity, pods: '110', 'ephemeral-storage': '100Gi' },
      conditions: [
        { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available', lastHeartbeatTime: new Date().toISOString(), lastTransitionTime: new Date().toISOString() },
        { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure', lastHeartbeatTime: new Date().toISOString(), lastTransitionTime: new Date().toISOString() },
        { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available', lastHeartbeatTime: new Date().toISOString(), lastTransitionTime: new Date().toISOString() },
        { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: new Date().toISOString(), lastTransitionTime: new Date().toISOString() },
      ],
      addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }],
      nodeInfo: { kubeletVersion: version, kubeProxyVersion: version, containerRuntimeVersion: 'containerd://1.7.24', operatingSystem: 'linux', architecture: arch, osImage: arch === 'arm64' ? 'Ubuntu 24.04 LTS' : 'Container-Optimized OS from Google', kernelVersion: '6.8.0', machineID: '', systemUUID: '', bootID: '' },
    },
  };
}

export async function createKubernetes(ctx: SandboxContext, options: KubernetesOptions = {}): Promise<KubernetesService> {
  const dir = mkdtempSync(join(tmpdir(), 'mlabs-sandbox-kube-'));
  const pki: Pki = makePki(dir);
  const clusters = new Map<string, ClusterHandle>();
  const caB64 = Buffer.from(pki.caPem).toString('base64');

  const token = ctx.tokens.issue({ subject: `kubernetes-admin@${ctx.project.projectId}.iam.gserviceaccount.com`, kind: 'kubernetes', ttlSeconds: 7 * 24 * 3600 }).token;

  const kubeconfig = (name: string): string => {
    const h = clusters.get(name);
    if (!h) throw new Error(`no sandbox Kubernetes cluster named ${name}`);
    const ctxName = h.cluster.name;
    return [
      'apiVersion: v1', 'kind: Config',
      'clusters:', `- name: ${ctxName}`, '  cluster:', `    server: ${h.server}`, `    certificate-authority-data: ${caB64}`,
      'users:', `- name: ${ctxName}-admin`, '  user:', `    token: ${token}`,
      'contexts:', `- name: ${ctxName}`, '  context:', `    cluster: ${ctxName}`, `    user: ${ctxName}-admin`, '    namespace: default',
      `current-context: ${ctxName}`, '',
    ].join('\n');
  };

  async function open(name: string, displayName: string, flavor: 'gke' | 'minikube', arch = 'amd64', iamAuthorize?: ExternalAuthorizer): Promise<ClusterHandle> {
    // GKE: IAM decides first (the iam module's check when the sandbox has one), then RBAC.
    const authorize = flavor === 'gke' ? (iamAuthorize ?? allowGoogleIdentities) : undefined;
    const cluster = new KubeCluster({ name: displayName, pki, tokens: ctx.tokens, faults: ctx.faults, delays: options.delays, flavor, ...(authorize ? { authorize } : {}),
      version: flavor === 'gke' ? { gitVersion: GKE_VERSION, goVersion: 'go1.23.6 X:boringcrypto', platform: 'linux/amd64' } : { platform: `linux/${arch}` } });
    await cluster.start();
    const handle: ClusterHandle = { name, server: `https://127.0.0.1:${cluster.port}`, kubeconfigPath: join(dir, `${name}.kubeconfig`), cluster };
    clusters.set(name, handle);
    writeFileSync(handle.kubeconfigPath, kubeconfig(name), { mode: 0o600 });
    return handle;
  }

  // ---- GKE clusters ----------------------------------------------------------------------------
  interface ContainerSvc {
    state: { clusters: Json[] };
    listNodes(): { cluster: string; clusterName: string; pool: string; zone: string; index: number; name: string; nodePool: Json }[];
  }
  const container = (): ContainerSvc | undefined => ctx.services.get('container') as ContainerSvc | undefined;
  const gkeKey = (c: Json): string => `projects/${ctx.project.projectId}/locations/${String(c.location)}/clusters/${String(c.name)}`;
  const byKey = new Map<string, ClusterHandle>();

  async function ensureGke(c: Json): Promise<ClusterHandle> {
    const key = gkeKey(c);
    let h = byKey.get(key);
    if (!h) {
      // GKE authorizes a Google identity through IAM (RBAC in the cluster is the second path).
      const iam = ctx.services.get('iam') as IamEngine | undefined;
      if (iam) await iam.currentPolicy();
      h = await open(String(c.name), `gke_${ctx.project.projectId}_${String(c.location)}_${String(c.name)}`, 'gke', 'amd64', iam ? gkeIamAuthorizer(iam, key) : undefined);
      byKey.set(key, h);
    }
    c.endpoint = `127.0.0.1:${h.cluster.port}`;
    const ma = (c.masterAuth ??= {}) as Json;
    ma.clusterCaCertificate = caB64;
    return h;
  }

  function syncNodes(h: ClusterHandle, key: string): void {
    const svc = container();
    if (!svc) return;
    const want = svc.listNodes().filter((n) => n.cluster === key);
    const nodeType = h.cluster.type('', 'nodes');
    const existing = h.cluster.store.list(nodeType);
    for (const n of existing) {
      const labels = (meta(n).labels ?? {}) as Json;
      if (labels['cloud.google.com/gke-nodepool'] !== undefined && !want.some((w) => w.name === meta(n).name)) h.cluster.purge(nodeType, n);
    }
    for (const w of want) {
      if (h.cluster.store.get(nodeType, '', w.name)) continue;
      const cfg = (w.nodePool.config ?? {}) as Json;
      const acc = ((cfg.accelerators as Json[] | undefined) ?? [])[0];
      const machineType = String(cfg.machineType ?? 'e2-medium');
      const cap = machineCapacity(machineType);
      const spot = cfg.spot === true || cfg.preemptible === true;
      const labels: Record<string, string> = {
        ...((cfg.labels as Record<string, string> | undefined) ?? {}),
        'cloud.google.com/gke-nodepool': w.pool,
        'cloud.google.com/gke-os-distribution': 'cos',
        'cloud.google.com/gke-boot-disk': String(cfg.diskType ?? 'pd-balanced'),
        'cloud.google.com/machine-family': machineType.split('-')[0] ?? 'e2',
        'node.kubernetes.io/instance-type': machineType,
        'topology.kubernetes.io/region': w.zone.replace(/-[a-z]$/, ''),
        'topology.kubernetes.io/zone': w.zone,
        ...(spot ? { 'cloud.google.com/gke-spot': 'true' } : {}),
        ...(cfg.preemptible === true ? { 'cloud.google.com/gke-preemptible': 'true' } : {}),
      };
      const capacity: Record<string, string> = { cpu: String(cap.cpu), memory: `${cap.memoryGi}Gi` };
      const taints: Json[] = ((cfg.taints as Json[] | undefined) ?? []).map((t) => ({ key: t.key, value: t.value, effect: ({ NO_SCHEDULE: 'NoSchedule', PREFER_NO_SCHEDULE: 'PreferNoSchedule', NO_EXECUTE: 'NoExecute' } as Record<string, string>)[String(t.effect)] ?? String(t.effect) }));
      if (acc) {
        const count = Number(acc.acceleratorCount ?? 1);
        labels['cloud.google.com/gke-accelerator'] = String(acc.acceleratorType);
        labels['cloud.google.com/gke-accelerator-count'] = String(count);
        labels['cloud.google.com/gke-gpu'] = 'true';
        capacity['nvidia.com/gpu'] = String(count);
        if (!taints.some((t) => t.key === 'nvidia.com/gpu')) taints.push({ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' });
      }
      const ip = `10.128.${w.index % 250}.${(Math.abs([...w.name].reduce((a, ch) => a * 31 + ch.charCodeAt(0), 7)) % 250) + 2}`;
      h.cluster.createObject(nodeType, nodeObject(w.name, labels, capacity, taints, `gce://${ctx.project.projectId}/${w.zone}/${w.name}`, ip, 'amd64', GKE_VERSION), 'node-controller');
    }
  }

  async function syncGke(): Promise<void> {
    const svc = container();
    if (!svc) return;
    for (const c of svc.state.clusters) {
      if (c.status === 'STOPPING') continue;
      const h = await ensureGke(c);
      syncNodes(h, gkeKey(c));
    }
    for (const [key, h] of byKey) {
      if (!svc.state.clusters.some((c) => gkeKey(c) === key)) {
        byKey.delete(key);
        clusters.delete(h.name);
        await h.cluster.stop();
      }
    }
  }

  await syncGke();
  ctx.events.on('container.nodePool', () => void syncGke());
  ctx.events.on('container.cluster', () => void syncGke());

  ctx.onStop(async () => {
    for (const h of clusters.values()) await h.cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const must = (name: string): KubeCluster => {
    const h = clusters.get(name);
    if (!h) throw new Error(`no sandbox Kubernetes cluster named ${name}`);
    return h.cluster;
  };

  const service: KubernetesService = {
    caPem: pki.caPem,
    clusters,
    async startCluster(machine: string) {
      const existing = clusters.get(machine);
      if (existing) return existing;
      const spec = MACHINES[machine];
      if (!spec) throw new Error(`unknown machine ${machine}: expected one of ${Object.keys(MACHINES).join(', ')}`);
      const h = await open(machine, machine, 'minikube', spec.arch);
      const capacity: Record<string, string> = { cpu: spec.cpu, memory: spec.memory, ...(spec.gpus ? { 'nvidia.com/gpu': String(spec.gpus) } : {}) };
      h.cluster.createObject(h.cluster.type('', 'nodes'), nodeObject(machine, {
        'node-role.kubernetes.io/control-plane': '',
        'minikube.k8s.io/name': machine,
        'minikube.k8s.io/primary': 'true',
        ...(spec.gpus ? { 'nvidia.com/gpu.present': 'true', 'nvidia.com/gpu.count': String(spec.gpus), 'nvidia.com/gpu.product': spec.gpuProduct } : {}),
      }, capacity, [], `minikube://${machine}`, '192.168.49.2', spec.arch), 'minikube');
      return h;
    },
    get: (name) => clusters.get(name),
    kubeconfig,
    forwardService(cluster, namespace, svcName, baseUrl) {
      must(cluster).proxyForwards.set(`${namespace}/${svcName}`, baseUrl.replace(/\/+$/, ''));
    },
    setProxyAnswer(cluster, namespace, svcName, answers) {
      must(cluster).proxyAnswers.set(`${namespace}/${svcName}`, answers);
    },
    ollamaModels(cluster, namespace, svcName) {
      return [...(must(cluster).ollamaModels.get(`${namespace}/${svcName}`)?.keys() ?? [])].sort();
    },
    failImagePulls(cluster, pattern) {
      must(cluster).clusterFaults.imagePull.push(pattern);
    },
    setNodeReady(cluster, node, ready) {
      const c = must(cluster);
      const t = c.type('', 'nodes');
      const n = c.store.get(t, '', node);
      if (!n) throw new Error(`no node ${node} in ${cluster}`);
      const next = structuredClone(n);
      const cond = (((next.status as Json).conditions as Json[]) ?? []).find((x) => x.type === 'Ready');
      if (cond) Object.assign(cond, ready
        ? { status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }
        : { status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' }, { lastTransitionTime: new Date().toISOString() });
      const spec = (next.spec ??= {}) as Json;
      const taints = ((spec.taints as Json[] | undefined) ?? []).filter((x) => x.key !== 'node.kubernetes.io/unreachable');
      if (!ready) taints.push({ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule', timeAdded: new Date().toISOString() });
      if (taints.length) spec.taints = taints;
      else delete spec.taints;
      c.updateObject(t, n, next, undefined);
    },
    dropWatchesAfter(cluster, ms) {
      must(cluster).clusterFaults.watchDropMs = ms;
    },
    failJob(cluster, namespace, job) {
      const faults = must(cluster).clusterFaults.failJobs;
      const entry = typeof job === 'string' ? `${namespace}/${job}` : new RegExp(`^${namespace}/(?:${job.source})$`);
      faults.add(entry);
      return () => void faults.delete(entry);
    },
    installOperator(cluster, operator) {
      installOperator(must(cluster), operator);
    },
    seedKueueQueue(cluster, seed) {
      seedKueueQueue(must(cluster), seed);
    },
    evictWorkload(cluster, namespace, workload, reason, message) {
      const c = must(cluster);
      const t = c.type('kueue.x-k8s.io', 'workloads');
      const write = (change: (w: Json) => Json): void => {
        const cur = c.store.get(t, namespace, workload);
        if (!cur) throw new Error(`no Workload ${namespace}/${workload} on ${cluster}`);
        c.updateObject(t, cur, change(cur), undefined);
      };
      if (reason === 'InactiveWorkload') {
        write((w) => ({ ...w, spec: { ...(w.spec as Json), active: false } }));
        return () => write((w) => ({ ...w, spec: { ...(w.spec as Json), active: true } }));
      }
      write((w) => {
        const st = structuredClone((w.status ?? {}) as Json);
        const list = ((st.conditions as Json[] | undefined) ?? []).filter((x) => x.type !== 'Evicted');
        st.conditions = [...list, { type: 'Evicted', status: 'True', reason, message: message ?? 'Preempted to accommodate a workload due to prioritization in the ClusterQueue', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), observedGeneration: meta(w).generation }];
        return { ...w, status: st };
      });
      return () => undefined;
    },
  };
  void GIB;
  ctx.services.set('kubernetes', service);
  return service;
}

/** The Kubernetes service of a started sandbox. */
export function kubernetesOf(sandbox: { ctx: SandboxContext }): KubernetesService {
  const s = sandbox.ctx.services.get('kubernetes') as KubernetesService | undefined;
  if (!s) throw new Error('the sandbox has no Kubernetes module (scripts/sandbox/apis/kubernetes.ts)');
  return s;
}
