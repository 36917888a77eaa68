// The seeded project of issue 11: idle GPU pool, busy GPU pool (a GPU pod), pool at zero, protected
// idle pool, old and new orphaned disks, images beyond retention, old and new node-pool snapshots.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import { kubernetesOf } from '../../scripts/sandbox/kubernetes/index.js';
import { defaultArtifactRegistrySeed, digestOf } from '../../scripts/sandbox/apis/artifactregistry.js';
import { ROOT } from '../harness.js';

type Obj = { metadata: { name: string; labels: Record<string, string> } };
const poolOf = (n: unknown): string | undefined => (n as Obj).metadata.labels['cloud.google.com/gke-nodepool'];
const nameOf = (n: unknown): string => (n as Obj).metadata.name;

export const PROJECT = 'mlabs-demo';
export const BUCKET = 'mlabs-demo-nodepool-snapshots';
export const IMAGE = 'us-central1-docker.pkg.dev/mlabs-demo/mlabs-runner/mlabs-runner';
const DAY = 86_400_000;
const ago = (days: number): string => new Date(Date.now() - days * DAY).toISOString();

function gpuPool(name: string, nodes: number, labels: Record<string, string> = {}): Record<string, unknown> {
  return {
    name,
    initialNodeCount: nodes,
    locations: ['us-central1-a'],
    config: {
      machineType: 'g2-standard-8',
      diskSizeGb: 100,
      diskType: 'pd-balanced',
      imageType: 'COS_CONTAINERD',
      accelerators: [{ acceleratorType: 'nvidia-l4', acceleratorCount: '1', gpuDriverInstallationConfig: { gpuDriverVersion: 'DEFAULT' } }],
      labels: { 'mlabs-managed': 'true', ...labels },
      taints: [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NO_SCHEDULE' }],
      oauthScopes: ['https://www.googleapis.com/auth/cloud-platform'],
    },
    management: { autoUpgrade: true, autoRepair: true },
    status: 'RUNNING',
  };
}

const snapObject = (pool: string, stamp: string, days: number): Record<string, unknown> => ({
  bucket: BUCKET,
  name: `node-pools/mlabs/${pool}/${stamp}.json`,
  content: JSON.stringify({ format: 'mlabs.node-pool-snapshot', pool }),
  contentType: 'application/json',
  timeCreated: ago(days),
});

export function seed(): Record<string, unknown> {
  const base = JSON.parse(readFileSync(join(ROOT, 'scripts/sandbox/seed/default.json'), 'utf8')) as Record<string, Record<string, unknown>> & { container: { clusters: { nodePools: unknown[] }[] } };
  const cluster = base.container.clusters[0] as { nodePools: unknown[] };
  cluster.nodePools = [...cluster.nodePools, gpuPool('gpu-idle', 1), gpuPool('gpu-busy', 1), gpuPool('gpu-zero', 0), gpuPool('gpu-keep', 1, { 'mlabs-keep': 'true' })];
  base.computeDisks = {
    disks: [
      { name: 'old-orphan', zone: 'us-central1-a', sizeGb: 200, type: 'pd-balanced', ageDays: 40 },
      { name: 'new-orphan', zone: 'us-central1-b', sizeGb: 50, type: 'pd-balanced', ageDays: 1 },
      { name: 'old-kept', zone: 'us-central1-a', sizeGb: 20, type: 'pd-standard', ageDays: 90, labels: { 'mlabs-keep': 'true' } },
      { name: 'attached', zone: 'us-central1-c', sizeGb: 100, ageDays: 200, users: [`https://www.googleapis.com/compute/v1/projects/${PROJECT}/zones/us-central1-c/instances/vm-1`] },
    ],
    snapshots: [],
  };
  const objects = [
    snapObject('gpu-old', '20240101T000000000Z', 60),
    snapObject('gpu-old', '20240201T000000000Z', 45),
    snapObject('gpu-old', '20240301T000000000Z', 2),
    snapObject('gpu-single', '20240101T000000000Z', 90),
    {
      bucket: BUCKET,
      name: 'node-pools/mlabs/gpu-old/latest.json',
      content: JSON.stringify({ formatVersion: 1, object: 'node-pools/mlabs/gpu-old/20240201T000000000Z.json', uri: `gs://${BUCKET}/node-pools/mlabs/gpu-old/20240201T000000000Z.json` }),
      contentType: 'application/json',
      timeCreated: ago(45),
    },
    { bucket: 'mlabs-demo-tfstate', name: 'platform/default.tfstate', content: '{}', timeCreated: ago(100) },
  ];
  base.storage = { ...base.storage, objects } as Record<string, unknown>;
  return base;
}

export interface Fixture {
  sb: Sandbox;
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** A sandbox with the seeded project (or `seedData`) and a GPU pod running on gpu-busy's node. */
export async function start(seedData: Record<string, unknown> = seed()): Promise<Fixture> {
  const sb = await startSandbox({ port: 0, operationMs: 50, seed: seedData });
  const kube = kubernetesOf(sb);
  const h = kube.get('mlabs');
  if (!h) throw new Error('no Kubernetes cluster for mlabs');
  const c = h.cluster;
  for (let i = 0; i < 100 && !c.store.list(c.type('', 'nodes')).some((n) => poolOf(n) === 'gpu-busy'); i++) await new Promise((r) => setTimeout(r, 20));
  const busyNode = c.store.list(c.type('', 'nodes')).find((n) => poolOf(n) === 'gpu-busy');
  if (!busyNode) throw new Error('gpu-busy has no Node object');
  c.createObject(c.type('', 'pods'), {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'trainer', namespace: 'default' },
    spec: {
      nodeName: nameOf(busyNode),
      tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
      containers: [{ name: 'train', image: 'nvcr.io/nvidia/pytorch:24.05-py3', resources: { requests: { 'nvidia.com/gpu': '1' }, limits: { 'nvidia.com/gpu': '1' } } }],
    },
  }, 'test');
  // A CPU pod on the idle pool's node does not make it busy.
  const idleNode = c.store.list(c.type('', 'nodes')).find((n) => poolOf(n) === 'gpu-idle');
  if (idleNode) {
    c.createObject(c.type('', 'pods'), {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'sidecar', namespace: 'default' },
      spec: { nodeName: nameOf(idleNode), tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists' }], containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '100m' } } }] },
    }, 'test');
  }
  const env = { ...sb.env, MLABS_RETRY_BASE_MS: '1', MLABS_OPERATION_POLL_MS: '20' } as Record<string, string>;
  return { sb, env, stop: () => sb.stop() };
}

export const INPUTS = {
  location: 'us-central1',
  cluster: 'mlabs',
  bucket: BUCKET,
  idle_minutes: '0',
  disk_days: '7',
  snapshot_days: '30',
  images: IMAGE,
  image_keep: '2',
  image_min_age_days: '14',
  timeout: '5m',
};

export interface ReportFinding {
  resource: string;
  id: string;
  rule: string;
  action: string;
  costPerMonth: number;
  hourlyUsd: number;
  snapshotUri?: string;
  protectedBy?: string;
  error?: string;
}
export interface Report {
  mode: string;
  savedPerMonth: number;
  prices: { source: string; date: string };
  findings: ReportFinding[];
  remaining: string[];
}

export interface ScaleSizes {
  /** Snapshot bucket objects under node-pools/ (snapshots and latest.json pointers). */
  objects: number;
  disks: number;
  /** Artifact Registry versions of IMAGE, each tagged. */
  versions: number;
}

/** Snapshots per pool in the scale seed; one pool in 100 has no latest.json. */
export const SNAPSHOTS_PER_POOL = 9;

/**
 * seed() grown to `sizes`: pools with SNAPSHOTS_PER_POOL snapshots each (ages 0-90 days) and a
 * latest.json for 99 in 100 of them, unattached disks of every age, tagged image versions 15-200 days old.
 * `pointers` is how many latest.json objects there are (each one read is the minimum the rule needs).
 */
export function scaleSeed(sizes: ScaleSizes): { seed: Record<string, unknown>; pools: number; pointers: number } {
  const base = seed() as Record<string, Record<string, unknown>>;
  const objects = [...((base.storage as { objects: unknown[] }).objects ?? [])];
  let pool = 0;
  let count = 0;
  while (count + SNAPSHOTS_PER_POOL <= sizes.objects) {
    const name = `scale-${pool}`;
    for (let i = 0; i < SNAPSHOTS_PER_POOL; i++) {
      const days = (i * 10 + (pool % 10)) % 91;
      objects.push({ ...snapObject(name, `2024${String(1 + i).padStart(2, '0')}01T000000000Z`, 90 - days), content: '{}' });
    }
    count += SNAPSHOTS_PER_POOL;
    if (pool % 100 !== 99 && count < sizes.objects) {
      objects.push({
        bucket: BUCKET,
        name: `node-pools/mlabs/${name}/latest.json`,
        content: JSON.stringify({ formatVersion: 1, object: `node-pools/mlabs/${name}/20240101T000000000Z.json` }),
        contentType: 'application/json',
        timeCreated: ago(1),
      });
      count += 1;
    }
    pool += 1;
  }
  (base.storage as { objects: unknown[] }).objects = objects;
  const pointers = objects.filter((o) => /^node-pools\/.+\/latest\.json$/.test((o as { name: string }).name)).length;
  const disks = (base.computeDisks as { disks: unknown[] }).disks;
  const zones = ['us-central1-a', 'us-central1-b', 'us-central1-c'];
  for (let i = 0; i < sizes.disks; i++) disks.push({ name: `scale-disk-${i}`, zone: zones[i % 3], sizeGb: 10 + (i % 50), type: 'pd-balanced', ageDays: 1 + (i % 100) });
  const projectId = PROJECT;
  const pkg = `projects/${projectId}/locations/us-central1/repositories/mlabs-runner/packages/mlabs-runner`;
  const ar = defaultArtifactRegistrySeed(projectId) as { versions: Record<string, unknown>[]; tags: Record<string, unknown>[] };
  for (let i = 0; i < sizes.versions; i++) {
    const digest = digestOf(`scale-version-${i}`);
    ar.versions.push({ name: `${pkg}/versions/${digest}`, ageDays: 15 + (i % 185), mediaType: 'application/vnd.oci.image.manifest.v1+json', imageSizeBytes: String(100_000_000 + i * 1000) });
    ar.tags.push({ name: `${pkg}/tags/build-${i}`, version: `${pkg}/versions/${digest}` });
  }
  base.artifactregistry = ar as unknown as Record<string, unknown>;
  return { seed: base, pools: pool, pointers };
}
