/**
 * What train-job submits, as Kubernetes objects: a batch/v1 Job (one node) whose pod runs the trainer
 * image with the given command and arguments (lists, never a shell string), the GPUs, cpu and memory
 * it asks for, and on the cloud route the burst pool's nodeSelector and the GPU toleration; the
 * `env` lines go into a Secret the Job owns (read by `envFrom`), never into the manifest text.
 * The Job is created suspended, so its Secret exists before any pod starts (and Kueue can admit it).
 */
import { createHash } from 'node:crypto';

import type { KubeObject } from '../kubernetes/client.js';

export const FIELD_MANAGER = 'mlabs-train-job';
export const MANAGED_BY = 'app.kubernetes.io/managed-by';
export const NAME_LABEL = 'mlabs.dev/train-job';
export const RUN_ANNOTATION = 'mlabs.dev/run';
export const HASH_ANNOTATION = 'mlabs.dev/spec-hash';
export const QUEUE_LABEL = 'kueue.x-k8s.io/queue-name';
export const CONTAINER = 'train';

export interface Workload {
  target: 'local' | 'cloud';
  /** The private machine (dgx, agx, wsl2) for target local. */
  runnerLabel: string;
  /** Cloud route: the accelerator type and the pool (nodeSelector). */
  accelerator: string;
  pool: string;
  image: string;
  command: string[];
  args: string[];
  /** Names only are in the manifest; values live in the Secret. */
  env: [string, string][];
  gpus: number;
  nodes: number;
  cpu: string;
  memory: string;
  namespace: string;
  name: string;
  timeoutSeconds: number;
  ttlSecondsAfterFinished?: number;
  queue: string;
  mlflow?: { trackingUri: string; experiment: string; runName: string };
  /** Who submitted: owner/repo/run/attempt. */
  run: string;
}

export const refs = {
  job: { apiVersion: 'batch/v1', kind: 'Job' },
  pod: { apiVersion: 'v1', kind: 'Pod' },
  secret: { apiVersion: 'v1', kind: 'Secret' },
} as const;

/** A hash of what the workload runs (not of who submitted it): an existing Job with the same hash is this workload. */
export function specHash(w: Workload): string {
  const what = { ...w, run: undefined, env: w.env.map(([k, v]) => [k, createHash('sha256').update(v).digest('hex')]) };
  return createHash('sha256').update(JSON.stringify(what)).digest('hex').slice(0, 16);
}

export function labels(w: Workload): Record<string, string> {
  return { [MANAGED_BY]: FIELD_MANAGER, [NAME_LABEL]: w.name, ...(w.queue ? { [QUEUE_LABEL]: w.queue } : {}) };
}

/** The pod template both engines use. */
export function podSpec(w: Workload): Record<string, unknown> {
  const limits: Record<string, string> = {};
  const requests: Record<string, string> = {};
  if (w.gpus > 0) limits['nvidia.com/gpu'] = String(w.gpus);
  if (w.cpu) requests.cpu = w.cpu;
  if (w.memory) {
    requests.memory = w.memory;
    limits.memory = w.memory;
  }
  const env: Record<string, unknown>[] = [];
  if (w.mlflow) {
    env.push({ name: 'MLFLOW_TRACKING_URI', value: w.mlflow.trackingUri }, { name: 'MLFLOW_EXPERIMENT_NAME', value: w.mlflow.experiment }, { name: 'MLFLOW_RUN_NAME', value: w.mlflow.runName });
  }
  const container: Record<string, unknown> = {
    name: CONTAINER,
    image: w.image,
    ...(w.command.length ? { command: w.command } : {}),
    ...(w.args.length ? { args: w.args } : {}),
    ...(env.length ? { env } : {}),
    ...(w.env.length ? { envFrom: [{ secretRef: { name: w.name } }] } : {}),
    resources: { ...(Object.keys(requests).length ? { requests } : {}), ...(Object.keys(limits).length ? { limits } : {}) },
  };
  const cloud = w.target === 'cloud';
  return {
    restartPolicy: 'Never',
    ...(cloud
      ? {
          nodeSelector: { 'cloud.google.com/gke-accelerator': w.accelerator, ...(w.pool ? { 'cloud.google.com/gke-nodepool': w.pool } : {}) },
          tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
        }
      : {}),
    containers: [container],
  };
}

/** The batch/v1 Job of a one-node workload; created suspended. */
export function jobManifest(w: Workload, hash: string): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: w.name, namespace: w.namespace, labels: labels(w), annotations: { [RUN_ANNOTATION]: w.run, [HASH_ANNOTATION]: hash } },
    spec: {
      suspend: true,
      backoffLimit: 0,
      // Kubernetes ends the Job at the timeout even when this action is gone.
      activeDeadlineSeconds: w.timeoutSeconds,
      ...(w.ttlSecondsAfterFinished !== undefined ? { ttlSecondsAfterFinished: w.ttlSecondsAfterFinished } : {}),
      // A failing trainer fails the Job at its first failed pod; a node going away (disruption) does not count.
      podFailurePolicy: {
        rules: [
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
          { action: 'FailJob', onExitCodes: { containerName: CONTAINER, operator: 'NotIn', values: [0] } },
        ],
      },
      template: { metadata: { labels: labels(w) }, spec: podSpec(w) },
    },
  };
}

/** The Secret holding the env values, owned by the Job (deleted with it). */
export function secretManifest(w: Workload, owner: KubeObject): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: w.name,
      namespace: w.namespace,
      labels: labels(w),
      ownerReferences: [{ apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: String(owner.metadata.uid), controller: true, blockOwnerDeletion: true }],
    },
    type: 'Opaque',
    data: Object.fromEntries(w.env.map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')])),
  };
}
