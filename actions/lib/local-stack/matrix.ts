/**
 * The local stack's support matrix: every component × machine (architecture, GPU, memory), decided from
 * the node the cluster reports (kubernetes.io/arch, allocatable nvidia.com/gpu, cpu and memory, the GPU
 * product label), never from the runner label alone. Pure: no I/O, so tests and docs can read it.
 */
import { milliQuantity, parseQuantity } from '../kubernetes/quantity.js';

export const COMPONENTS = ['mlflow', 'qdrant', 'ollama', 'nim', 'nemo', 'kfp', 'jobset', 'kuberay', 'kueue'] as const;
export type Component = (typeof COMPONENTS)[number];

/** What a component's pods run on: plain amd64/arm64 builds, or Jetson (L4T) builds for GPU work on an Orin. */
export type Platform = 'amd64' | 'arm64' | 'jetson';

export interface Image {
  /** The placeholder name in the kustomize base (`mlabs/<name>`), replaced through kustomize `images:`. */
  placeholder: string;
  name: string;
  tag: string;
}

export interface HealthCheck {
  service: string;
  port: number;
  path: string;
}

export interface Endpoint {
  service: string;
  port: number;
  /** Fixed NodePort (the SSH tunnel forwards a workstation port to it on the machine). */
  nodePort?: number;
  /**
   * The workstation's port for this service: unprivileged (1024 or above) and different for every
   * service of the stack, so that one `ssh -N` line can forward them all at once. A service without
   * a NodePort is port-forwarded on the machine to this same port first.
   */
  localPort: number;
}

export interface Requests {
  /** millicores */
  cpuMilli: number;
  /** bytes */
  memory: number;
  gpu: number;
}

export interface ComponentSpec {
  name: Component;
  title: string;
  version: string;
  namespace: string;
  /** How it is installed: the suite's kustomize base, an upstream Helm chart, or an upstream kustomize tree. */
  install: 'kustomize' | 'helm' | 'kustomize-remote' | 'manifest';
  /** Images per platform, one row per workload container; a platform missing = unsupported there. */
  images: Partial<Record<Platform, Image[]>>;
  /** Why a platform is not supported (shown in the refusal table). */
  unsupported?: Partial<Record<Platform, string>>;
  /** Sum of the component's pod requests (what must fit on the node). */
  requests: Requests;
  /** Per container requests patched into the base (container name → cpu/memory/gpu). */
  containers: Record<string, { workload: string; kind: 'Deployment' | 'StatefulSet'; cpu: string; memory: string; gpu?: number }>;
  /** Needs a GPU on the node even when it reserves none itself (it launches GPU jobs). */
  needsGpuNode?: boolean;
  /** Needs the NGC API key (image pulls from nvcr.io, model downloads). */
  needsNgcKey?: boolean;
  health: HealthCheck[];
  endpoints: Endpoint[];
  /** PersistentVolumeClaims holding the component's data (kept on undeploy unless purged). */
  pvcs: string[];
  /** Components that must be deployed before this one (undeploy goes the other way). */
  after?: Component[];
}

const GI = 1024 ** 3;

export const HELM_NEMO = {
  repoName: 'nemo-microservices',
  repoUrl: 'https://helm.ngc.nvidia.com/nvidia/nemo-microservices',
  chart: 'nemo-microservices-helm-chart',
  version: '25.6.0',
  release: 'nemo',
} as const;

export const KFP = {
  version: '2.4.0',
  /** The upstream trees, pinned to the release tag (what `kubectl kustomize` fetches). */
  sources: [
    'https://github.com/kubeflow/pipelines/manifests/kustomize/cluster-scoped-resources?ref=2.4.0',
    'https://github.com/kubeflow/pipelines/manifests/kustomize/env/platform-agnostic?ref=2.4.0',
  ],
} as const;

export type Operator = 'jobset' | 'kueue' | 'kuberay';

export interface OperatorPin {
  /** The upstream release tag the manifest is rendered from. */
  version: string;
  /** The upstream repository and the commit the tag names (checked in its mirror). */
  repo: string;
  commit: string;
  /** The controller's image as the release publishes it (the manifest names exactly this). */
  image: string;
  /** Where the image's architectures were read: both linux/amd64 and linux/arm64 are published. */
  arches: string;
  namespace: string;
  /** The controller Deployment: its rollout is the health check. */
  deployment: string;
  /** SHA-256 of the rendered YAML (manifests/<name>/<name>.yaml.gz, unzipped): apply refuses any other. */
  sha256: string;
  /** The CRDs it owns; deleting them deletes every object of theirs in the cluster (purge only). */
  crds: string[];
  /** Cluster-scoped objects that call the controller (webhooks, aggregated APIs): removed on every undeploy,
   * so that a cluster without the controller does not refuse Jobs or fail discovery. */
  callers: string[];
}

/**
 * The training operators train-job runs on, pinned. Each manifest is rendered from the upstream tag's
 * `config/default` tree by scripts/local-stack/render-operators.sh (what the project's own `make
 * artifacts` renders, with the release image) and committed gzipped with its checksum here. Versions:
 * the newest stable tag of each project's repository as its mirror here holds it (read on 2026-12-02;
 * the mirrors' newest commits are of 2026-08-18..22): JobSet v0.12.0 of 2026-05-08 (next: v0.13.0-devel),
 * Kueue v0.19.2 of 2026-08-20 (next: v0.20.0-devel), KubeRay v1.7.0 of 2026-08-19. A later release
 * is a new render (scripts/local-stack/render-operators.sh) and a new checksum here.
 */
export const OPERATORS: Record<Operator, OperatorPin> = {
  jobset: {
    version: 'v0.12.0', repo: 'kubernetes-sigs/jobset', commit: 'f22e565ac3cc3265c7c45ef67ecffdc689af5d77',
    image: 'registry.k8s.io/jobset/jobset:v0.12.0',
    // The Makefile at v0.12.0: PLATFORMS ?= linux/amd64,linux/arm64,linux/s390x (image-push builds them all);
    // the release checklist (.github/ISSUE_TEMPLATE/new-release.md) promotes to registry.k8s.io/jobset/jobset.
    arches: 'kubernetes-sigs/jobset Makefile v0.12.0: PLATFORMS linux/amd64,linux/arm64,linux/s390x',
    namespace: 'jobset-system', deployment: 'jobset-controller-manager',
    sha256: '2714c01f11be18acd59d57273958f0f3ffa37966b2d15f95cef105acb0b083a8',
    crds: ['jobsets.jobset.x-k8s.io'],
    callers: ['mutatingwebhookconfiguration/jobset-mutating-webhook-configuration', 'validatingwebhookconfiguration/jobset-validating-webhook-configuration'],
  },
  kueue: {
    version: 'v0.19.2', repo: 'kubernetes-sigs/kueue', commit: '8eab68778fc1b52affe165fdf5af29d1e9b4f3cb',
    image: 'registry.k8s.io/kueue/kueue:v0.19.2',
    // The Makefile at v0.19.2: PLATFORMS ?= linux/amd64,linux/arm64,linux/s390x,linux/ppc64le.
    arches: 'kubernetes-sigs/kueue Makefile v0.19.2: PLATFORMS linux/amd64,linux/arm64,linux/s390x,linux/ppc64le',
    namespace: 'kueue-system', deployment: 'kueue-controller-manager',
    sha256: 'a818639c5027abdf7b66d6afd3960f44e8994f1afa21481bb0ee0e1868f7ffc6',
    crds: ['admissionchecks', 'clusterqueues', 'cohorts', 'localqueues', 'multikueueclusters', 'multikueueconfigs', 'provisioningrequestconfigs', 'resourceflavors', 'topologies', 'workloadpriorityclasses', 'workloads'].map((r) => `${r}.kueue.x-k8s.io`),
    callers: [
      'mutatingwebhookconfiguration/kueue-mutating-webhook-configuration', 'validatingwebhookconfiguration/kueue-validating-webhook-configuration',
      'apiservice/v1beta1.visibility.kueue.x-k8s.io', 'apiservice/v1beta2.visibility.kueue.x-k8s.io',
    ],
  },
  kuberay: {
    version: 'v1.7.0', repo: 'ray-project/kuberay', commit: '59d663aeec13760646da3db9c1cf8cfe883e30b7',
    image: 'quay.io/kuberay/operator:v1.7.0',
    // .github/workflows/image-release.yaml at v1.7.0 builds the operator image with
    // platforms: linux/amd64,linux/arm64 (ray-operator/Makefile docker-multi-arch-push likewise).
    arches: 'ray-project/kuberay .github/workflows/image-release.yaml v1.7.0: platforms linux/amd64,linux/arm64',
    namespace: 'kuberay-system', deployment: 'kuberay-operator',
    sha256: '33d525a6218cadea9959153525adb6e30572b759a9d05ffd2973396a99dc2dec',
    crds: ['rayclusters', 'raycronjobs', 'rayjobs', 'rayservices'].map((r) => `${r}.ray.io`),
    callers: [],
  },
};

export const isOperator = (c: Component): c is Operator => c in OPERATORS;

export const DEFAULT_NIM_MODEL = 'meta/llama-3.1-8b-instruct:1.3.3';

const img = (placeholder: string, ref: string): Image => {
  const at = ref.lastIndexOf(':');
  return { placeholder: `mlabs/${placeholder}`, name: ref.slice(0, at), tag: ref.slice(at + 1) };
};

const MLFLOW = ['mlflow', 'ghcr.io/mlflow/mlflow:v2.20.3'] as const;
const MINIO = ['minio', 'quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z'] as const;
const MC = ['mc', 'quay.io/minio/mc:RELEASE.2025-04-16T18-13-26Z'] as const;
const QDRANT = ['qdrant', 'docker.io/qdrant/qdrant:v1.13.4'] as const;
const OLLAMA = ['ollama', 'docker.io/ollama/ollama:0.6.5'] as const;
const OLLAMA_L4T = ['ollama', 'docker.io/dustynv/ollama:0.6.5-r36.4.0'] as const;

export function formatMemory(bytes: number): string {
  if (bytes >= GI) return `${+(bytes / GI).toFixed(1)}Gi`;
  return `${Math.round(bytes / 1024 ** 2)}Mi`;
}

export function formatCpu(milli: number): string {
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

function sum(containers: ComponentSpec['containers']): Requests {
  let c = 0;
  let m = 0;
  let g = 0;
  for (const x of Object.values(containers)) {
    c += milliQuantity(x.cpu);
    m += parseQuantity(x.memory);
    g += x.gpu ?? 0;
  }
  return { cpuMilli: c, memory: m, gpu: g };
}

function spec(s: Omit<ComponentSpec, 'requests'> & { extra?: Requests }): ComponentSpec {
  const base = sum(s.containers);
  const extra = s.extra ?? { cpuMilli: 0, memory: 0, gpu: 0 };
  const { extra: _e, ...rest } = s;
  return { ...rest, requests: { cpuMilli: base.cpuMilli + extra.cpuMilli, memory: base.memory + extra.memory, gpu: base.gpu + extra.gpu } };
}

export function nimImage(model: string): Image {
  const ref = model.includes(':') ? model : `${model}:latest`;
  return img('nim', `nvcr.io/nim/${ref}`);
}

/** An operator's row: its controller image on amd64 and arm64 (a Jetson is arm64: the controller needs no GPU). */
function operatorSpec(name: Operator, title: string, controller: { cpu: string; memory: string }): ComponentSpec {
  const p = OPERATORS[name];
  const at = p.image.lastIndexOf(':');
  const images = [{ placeholder: 'manifest', name: p.image.slice(0, at), tag: p.image.slice(at + 1) }];
  return spec({
    name, title: `${title} ${p.version} (upstream release manifest)`, version: p.version, namespace: p.namespace, install: 'manifest',
    images: { amd64: images, arm64: images, jetson: images },
    // Requests as the upstream manifest sets them (patched nowhere: the manifest is applied as pinned).
    containers: {},
    extra: { cpuMilli: milliQuantity(controller.cpu), memory: parseQuantity(controller.memory), gpu: 0 },
    health: [],
    endpoints: [],
    pvcs: [],
  });
}

/** The support matrix. `nimModel` picks the NIM image (`org/model:tag` under nvcr.io/nim). */
export function componentSpecs(nimModel = DEFAULT_NIM_MODEL): Record<Component, ComponentSpec> {
  const mlflowImages = [img(...MLFLOW), img(...MINIO), img(...MC)];
  return {
    mlflow: spec({
      name: 'mlflow', title: 'MLflow tracking server with its MinIO artifact store', version: '2.20.3', namespace: 'mlflow', install: 'kustomize',
      images: { amd64: mlflowImages, arm64: mlflowImages, jetson: mlflowImages },
      containers: {
        minio: { workload: 'minio', kind: 'Deployment', cpu: '250m', memory: '1Gi' },
        mlflow: { workload: 'mlflow', kind: 'Deployment', cpu: '500m', memory: '2Gi' },
      },
      health: [{ service: 'minio', port: 9000, path: '/minio/health/live' }, { service: 'mlflow', port: 5000, path: '/health' }],
      endpoints: [{ service: 'mlflow', port: 5000, nodePort: 30500, localPort: 5000 }, { service: 'minio', port: 9001, nodePort: 30901, localPort: 9001 }],
      pvcs: ['mlflow-db', 'minio-data'],
    }),
    qdrant: spec({
      name: 'qdrant', title: 'Qdrant vector database', version: '1.13.4', namespace: 'qdrant', install: 'kustomize',
      images: { amd64: [img(...QDRANT)], arm64: [img(...QDRANT)], jetson: [img(...QDRANT)] },
      containers: { qdrant: { workload: 'qdrant', kind: 'StatefulSet', cpu: '500m', memory: '2Gi' } },
      health: [{ service: 'qdrant', port: 6333, path: '/readyz' }],
      endpoints: [{ service: 'qdrant', port: 6333, nodePort: 30633, localPort: 6333 }],
      pvcs: ['qdrant-storage'],
    }),
    ollama: spec({
      name: 'ollama', title: 'Ollama model server', version: '0.6.5', namespace: 'ollama', install: 'kustomize',
      images: { amd64: [img(...OLLAMA)], arm64: [img(...OLLAMA)], jetson: [img(...OLLAMA_L4T)] },
      containers: { ollama: { workload: 'ollama', kind: 'Deployment', cpu: '2', memory: '16Gi', gpu: 1 } },
      health: [{ service: 'ollama', port: 11434, path: '/api/tags' }],
      endpoints: [{ service: 'ollama', port: 11434, nodePort: 31434, localPort: 11434 }],
      pvcs: ['ollama-models'],
    }),
    nim: spec({
      name: 'nim', title: 'NVIDIA NIM LLM inference microservice', version: nimImage(nimModel).tag, namespace: 'nim', install: 'kustomize',
      images: { amd64: [nimImage(nimModel)], arm64: [nimImage(nimModel)] },
      unsupported: { jetson: 'NIM LLM containers are not built for Jetson (L4T); use ollama on the AGX' },
      containers: { nim: { workload: 'nim', kind: 'Deployment', cpu: '4', memory: '32Gi', gpu: 1 } },
      needsNgcKey: true,
      health: [{ service: 'nim', port: 8000, path: '/v1/health/ready' }],
      endpoints: [{ service: 'nim', port: 8000, nodePort: 30800, localPort: 8000 }],
      pvcs: ['nim-cache'],
    }),
    nemo: spec({
      name: 'nemo', title: `NeMo microservices (Helm chart ${HELM_NEMO.chart} ${HELM_NEMO.version})`, version: HELM_NEMO.version, namespace: 'nemo', install: 'helm',
      images: {
        amd64: [{ placeholder: 'helm', name: `${HELM_NEMO.repoUrl}/${HELM_NEMO.chart}`, tag: HELM_NEMO.version }],
        arm64: [{ placeholder: 'helm', name: `${HELM_NEMO.repoUrl}/${HELM_NEMO.chart}`, tag: HELM_NEMO.version }],
      },
      unsupported: { jetson: 'NeMo microservices need a data-center GPU and more memory than a Jetson has' },
      containers: {},
      extra: { cpuMilli: 4000, memory: 24 * GI, gpu: 0 },
      needsGpuNode: true,
      needsNgcKey: true,
      health: [{ service: 'nemo-entity-store', port: 8000, path: '/v1/health/ready' }],
      // NIM has 8000 on the workstation; NeMo's entity store gets 8001.
      endpoints: [{ service: 'nemo-entity-store', port: 8000, nodePort: undefined, localPort: 8001 }],
      pvcs: [],
    }),
    kfp: spec({
      name: 'kfp', title: `Kubeflow Pipelines ${KFP.version} (upstream kustomize tree)`, version: KFP.version, namespace: 'kubeflow', install: 'kustomize-remote',
      images: { amd64: [{ placeholder: 'kustomize', name: 'github.com/kubeflow/pipelines/manifests/kustomize', tag: KFP.version }] },
      // Checked upstream: the kfp-* images of every release up to 2.16 are published for linux/amd64
      // only (kubeflow/pipelines#10309, still so for 2.15.0 in #12705; #13957 tracks publishing
      // arm64). So not on the DGX Spark or the Jetson: the amd64 machine (wsl2) runs it.
      unsupported: {
        arm64: 'Kubeflow Pipelines publishes linux/amd64 images only (kubeflow/pipelines#10309, #12705); deploy it on the amd64 machine instead (local-stack-deploy with runner: wsl2)',
        jetson: 'Kubeflow Pipelines publishes linux/amd64 images only (kubeflow/pipelines#10309, #12705); deploy it on the amd64 machine instead (local-stack-deploy with runner: wsl2)',
      },
      containers: {},
      extra: { cpuMilli: 2000, memory: 6 * GI, gpu: 0 },
      health: [{ service: 'ml-pipeline', port: 8888, path: '/apis/v2beta1/healthz' }],
      // The UI's Service listens on 80, a privileged port on the workstation: 8080 there.
      endpoints: [{ service: 'ml-pipeline-ui', port: 80, localPort: 8080 }],
      pvcs: ['mysql-pv-claim', 'minio-pvc'],
    }),
    jobset: operatorSpec('jobset', 'JobSet controller', { cpu: '500m', memory: '128Mi' }),
    kuberay: operatorSpec('kuberay', 'KubeRay operator', { cpu: '100m', memory: '512Mi' }),
    kueue: operatorSpec('kueue', 'Kueue controller', { cpu: '500m', memory: '512Mi' }),
  };
}

/** What the cluster's node says about the machine. */
export interface NodeFacts {
  name: string;
  arch: string;
  platform: Platform;
  gpuProduct: string;
  allocatable: Requests;
  /** Requests of pods already on the node that the asked components do not own. */
  used: Requests;
  internalIp: string;
}

interface NodeJson {
  metadata: { name: string; labels?: Record<string, string> };
  status?: { allocatable?: Record<string, string>; addresses?: { type: string; address: string }[]; nodeInfo?: { architecture?: string; osImage?: string; kernelVersion?: string } };
}

/** Node → facts. Jetson is recognised by its GPU product or its L4T kernel (`-tegra`), not by the runner label. */
export function nodeFacts(node: NodeJson, used: Requests = { cpuMilli: 0, memory: 0, gpu: 0 }): NodeFacts {
  const labels = node.metadata.labels ?? {};
  const arch = labels['kubernetes.io/arch'] ?? node.status?.nodeInfo?.architecture ?? 'unknown';
  const product = labels['nvidia.com/gpu.product'] ?? '';
  const tegra = /jetson|orin|xavier|tegra/i.test(product) || /tegra/i.test(node.status?.nodeInfo?.kernelVersion ?? '');
  const alloc = node.status?.allocatable ?? {};
  return {
    name: node.metadata.name,
    arch,
    platform: arch === 'arm64' && tegra ? 'jetson' : arch === 'amd64' ? 'amd64' : arch === 'arm64' ? 'arm64' : ('unknown' as Platform),
    gpuProduct: product,
    allocatable: { cpuMilli: milliQuantity(alloc.cpu ?? '0'), memory: parseQuantity(alloc.memory ?? '0'), gpu: Number(alloc['nvidia.com/gpu'] ?? 0) },
    used,
    internalIp: node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '127.0.0.1',
  };
}

export interface Verdict {
  component: Component;
  supported: boolean;
  reason?: string;
  images: Image[];
  requests: Requests;
}

export interface Assessment {
  ok: boolean;
  verdicts: Verdict[];
  asked: Requests;
  free: Requests;
  /** Why the set does not fit, when it does not. */
  misfit: string[];
}

/** Decide every asked component against the node, then whether the set's requests fit what is free. */
export function assess(components: Component[], node: NodeFacts, specs = componentSpecs()): Assessment {
  const verdicts: Verdict[] = components.map((c) => {
    const s = specs[c];
    const images = s.images[node.platform];
    if (!images) {
      const why = s.unsupported?.[node.platform] ?? `no ${node.platform} build`;
      return { component: c, supported: false, reason: `not supported on ${node.platform} (${node.arch}): ${why}`, images: [], requests: s.requests };
    }
    if ((s.requests.gpu > 0 || s.needsGpuNode) && node.allocatable.gpu < 1) {
      return { component: c, supported: false, reason: `needs an NVIDIA GPU; node ${node.name} has no allocatable nvidia.com/gpu`, images, requests: s.requests };
    }
    return { component: c, supported: true, images, requests: s.requests };
  });
  const asked = verdicts.reduce((a, v) => ({ cpuMilli: a.cpuMilli + v.requests.cpuMilli, memory: a.memory + v.requests.memory, gpu: a.gpu + v.requests.gpu }), { cpuMilli: 0, memory: 0, gpu: 0 });
  const free = {
    cpuMilli: node.allocatable.cpuMilli - node.used.cpuMilli,
    memory: node.allocatable.memory - node.used.memory,
    gpu: node.allocatable.gpu - node.used.gpu,
  };
  const misfit: string[] = [];
  if (asked.gpu > free.gpu) misfit.push(`GPUs: asked ${asked.gpu}, free ${free.gpu} of ${node.allocatable.gpu}`);
  if (asked.memory > free.memory) misfit.push(`memory: asked ${formatMemory(asked.memory)}, free ${formatMemory(free.memory)} of ${formatMemory(node.allocatable.memory)}`);
  if (asked.cpuMilli > free.cpuMilli) misfit.push(`CPU: asked ${formatCpu(asked.cpuMilli)}, free ${formatCpu(free.cpuMilli)} of ${formatCpu(node.allocatable.cpuMilli)}`);
  return { ok: verdicts.every((v) => v.supported) && misfit.length === 0, verdicts, asked, free, misfit };
}

export function formatRequests(r: Requests): string {
  return `cpu ${formatCpu(r.cpuMilli)}, memory ${formatMemory(r.memory)}${r.gpu ? `, nvidia.com/gpu ${r.gpu}` : ''}`;
}

export function imageRef(i: Image): string {
  return `${i.name}:${i.tag}`;
}

/** The refusal table (markdown): what was asked against what fits on this node. */
export function supportTable(a: Assessment, node: NodeFacts): string {
  const rows = [
    '| component | asked (requests) | fits on this node | verdict |',
    '| --- | --- | --- | --- |',
    ...a.verdicts.map((v) => `| ${v.component} | ${formatRequests(v.requests)} | ${v.supported ? v.images.map(imageRef).join('<br>') : '—'} | ${v.supported ? 'supported' : `refused: ${v.reason ?? ''}`} |`),
    `| **total** | ${formatRequests(a.asked)} | free: ${formatRequests(a.free)} | ${a.misfit.length ? `does not fit: ${a.misfit.join('; ')}` : 'fits'} |`,
  ];
  return `Node ${node.name}: ${node.platform} (${node.arch})${node.gpuProduct ? `, GPU ${node.gpuProduct}` : ''}, allocatable ${formatRequests(node.allocatable)}\n\n${rows.join('\n')}`;
}

/** Default components for a machine: GPU inference and tracking on a DGX-class node, edge inference on a Jetson. */
export function defaultComponents(node: NodeFacts): Component[] {
  if (node.platform === 'jetson') return ['qdrant', 'ollama'];
  return node.allocatable.gpu > 0 ? ['mlflow', 'qdrant', 'ollama'] : ['mlflow', 'qdrant'];
}

/** Deploy order (dependencies first); undeploy uses the reverse. */
export function deployOrder(components: Component[]): Component[] {
  return COMPONENTS.filter((c) => components.includes(c));
}
