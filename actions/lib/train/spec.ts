/**
 * What train-job submits, as Kubernetes objects: a batch/v1 Job (one node) whose pod runs the trainer
 * image with the given command and arguments (lists, never a shell string), the GPUs, cpu and memory
 * it asks for, and on the cloud route the burst pool's nodeSelector and the GPU toleration; the
 * `env` lines go into a Secret the Job owns (read by `envFrom`), never into the manifest text.
 * The Job is created suspended, so its Secret exists before any pod starts (and Kueue can admit it).
 * More than one node is a JobSet; engine ray is a KubeRay RayJob (`rayJobManifest`), suspended likewise.
 */

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
  /** MLflow for the trainer; runId/experimentId once the action created (or found) its run. */
  mlflow?: { trackingUri: string; experiment: string; runName: string; runId?: string; experimentId?: string };
  /** Who submitted: owner/repo/run/attempt. */
  run: string;
  /** `ray`: a KubeRay RayJob (set only then, so the batch workloads' spec hash stays what it was). */
  engine?: 'ray';
}

export const refs = {
  job: { apiVersion: 'batch/v1', kind: 'Job' },
  jobset: { apiVersion: 'jobset.x-k8s.io/v1alpha2', kind: 'JobSet' },
  rayjob: { apiVersion: 'ray.io/v1', kind: 'RayJob' },
  pod: { apiVersion: 'v1', kind: 'Pod' },
  secret: { apiVersion: 'v1', kind: 'Secret' },
  /** Kueue's Workload for a queued Job, JobSet or RayJob (owned by it, labelled with its uid). */
  workload: { apiVersion: 'kueue.x-k8s.io/v1beta1', kind: 'Workload' },
} as const;

/** The label Kueue puts on a job's Workload: the job's uid. */
export const JOB_UID_LABEL = 'kueue.x-k8s.io/job-uid';

/** A hash of what the workload runs (not of who submitted it): an existing Job with the same hash is this workload. */
export function specHash(w: Workload): string {
  // The MLflow run is the submission's (like `run`), not the workload's: a re-run adopts the Job and resumes its run.
  const mlflow = w.mlflow ? { ...w.mlflow, runId: undefined, experimentId: undefined } : undefined;
  const what = { ...w, run: undefined, mlflow, env: w.env.map(([k, v]) => [k, process.getBuiltinModule('node:crypto').createHash('sha256').update(v).digest('hex')]) };
  return process.getBuiltinModule('node:crypto').createHash('sha256').update(JSON.stringify(what)).digest('hex').slice(0, 16);
}

export function labels(w: Workload): Record<string, string> {
  return { [MANAGED_BY]: FIELD_MANAGER, [NAME_LABEL]: w.name, ...(w.queue ? { [QUEUE_LABEL]: w.queue } : {}) };
}

/** The torchrun rendezvous port every rank uses. */
export const MASTER_PORT = 29500;
/** The one replicated Job of a multi-node JobSet; its Job `<name>-node-0` runs one indexed pod per node. */
export const REPLICATED_JOB = 'node';

/** Rank 0's stable DNS name: `<pod hostname>.<headless Service>` (the JobSet's name). */
export function masterAddr(w: Workload): string {
  return `${w.name}-${REPLICATED_JOB}-0-0.${w.name}`;
}

/** The workload's own kind: a RayJob for engine ray; else a Job for one node, a JobSet for more. */
export function workloadRef(w: Pick<Workload, 'nodes' | 'engine'>): { apiVersion: string; kind: string } {
  if (w.engine === 'ray') return refs.rayjob;
  return w.nodes > 1 ? refs.jobset : refs.job;
}

/** The manifest of the workload's kind; created suspended. */
export function workloadManifest(w: Workload, hash: string): KubeObject {
  if (w.engine === 'ray') return rayJobManifest(w, hash);
  return w.nodes > 1 ? jobSetManifest(w, hash) : jobManifest(w, hash);
}

/** What the trainer's container asks for: GPUs, cpu and memory. */
function resources(w: Workload, gpus: number): Record<string, unknown> {
  const limits: Record<string, string> = {};
  const requests: Record<string, string> = {};
  if (gpus > 0) limits['nvidia.com/gpu'] = String(gpus);
  if (w.cpu) requests.cpu = w.cpu;
  if (w.memory) {
    requests.memory = w.memory;
    limits.memory = w.memory;
  }
  return { ...(Object.keys(requests).length ? { requests } : {}), ...(Object.keys(limits).length ? { limits } : {}) };
}

/** MLflow's variables, when the run logs to MLflow. */
function mlflowEnv(w: Workload): Record<string, unknown>[] {
  if (!w.mlflow) return [];
  return [
    { name: 'MLFLOW_TRACKING_URI', value: w.mlflow.trackingUri },
    { name: 'MLFLOW_EXPERIMENT_NAME', value: w.mlflow.experiment },
    { name: 'MLFLOW_RUN_NAME', value: w.mlflow.runName },
    // MLflow's client resumes the run the action created (mlflow.start_run() reads MLFLOW_RUN_ID).
    ...(w.mlflow.runId ? [{ name: 'MLFLOW_RUN_ID', value: w.mlflow.runId }] : []),
    ...(w.mlflow.experimentId ? [{ name: 'MLFLOW_EXPERIMENT_ID', value: w.mlflow.experimentId }] : []),
  ];
}

const GPU_TOLERATION = { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' };

/** The cloud route's placement: the burst pool's accelerator (and pool), and the GPU taint tolerated. */
function placement(w: Workload): Record<string, unknown> {
  return w.target === 'cloud'
    ? { nodeSelector: { 'cloud.google.com/gke-accelerator': w.accelerator, ...(w.pool ? { 'cloud.google.com/gke-nodepool': w.pool } : {}) }, tolerations: [GPU_TOLERATION] }
    : {};
}

/** The pod template both batch engines use. */
export function podSpec(w: Workload): Record<string, unknown> {
  const env: Record<string, unknown>[] = [];
  if (w.nodes > 1) {
    env.push(
      { name: 'MASTER_ADDR', value: masterAddr(w) },
      { name: 'MASTER_PORT', value: String(MASTER_PORT) },
      { name: 'NNODES', value: String(w.nodes) },
      { name: 'NODE_RANK', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } },
    );
  }
  env.push(...mlflowEnv(w));
  const container: Record<string, unknown> = {
    name: CONTAINER,
    image: w.image,
    ...(w.command.length ? { command: w.command } : {}),
    ...(w.args.length ? { args: w.args } : {}),
    ...(env.length ? { env } : {}),
    ...(w.env.length ? { envFrom: [{ secretRef: { name: w.name } }] } : {}),
    resources: resources(w, w.gpus),
  };
  return { restartPolicy: 'Never', ...placement(w), containers: [container] };
}

/** The Job spec both engines run: no retries, the deadline, fail on the first failed trainer. */
function jobSpec(w: Workload): Record<string, unknown> {
  return {
      backoffLimit: 0,
      // Kubernetes ends the Job at the timeout even when this action is gone.
      activeDeadlineSeconds: w.timeoutSeconds,
      // A failing trainer fails the Job at its first failed pod; a node going away (disruption) does not count.
      podFailurePolicy: {
        rules: [
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
          { action: 'FailJob', onExitCodes: { containerName: CONTAINER, operator: 'NotIn', values: [0] } },
        ],
      },
      template: { metadata: { labels: labels(w) }, spec: podSpec(w) },
  };
}

/** The batch/v1 Job of a one-node workload; created suspended. */
export function jobManifest(w: Workload, hash: string): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: w.name, namespace: w.namespace, labels: labels(w), annotations: { [RUN_ANNOTATION]: w.run, [HASH_ANNOTATION]: hash } },
    spec: { suspend: true, ...jobSpec(w), ...(w.ttlSecondsAfterFinished !== undefined ? { ttlSecondsAfterFinished: w.ttlSecondsAfterFinished } : {}) },
  };
}

/**
 * The JobSet of a multi-node workload (jobset.x-k8s.io/v1alpha2); created suspended. One replicated
 * Job runs one pod per node (Indexed: the completion index is NODE_RANK); the JobSet's headless
 * Service gives rank 0 the stable name MASTER_ADDR.
 */
export function jobSetManifest(w: Workload, hash: string): KubeObject {
  return {
    apiVersion: refs.jobset.apiVersion,
    kind: 'JobSet',
    metadata: { name: w.name, namespace: w.namespace, labels: labels(w), annotations: { [RUN_ANNOTATION]: w.run, [HASH_ANNOTATION]: hash } },
    spec: {
      suspend: true,
      network: { enableDNSHostnames: true },
      failurePolicy: { maxRestarts: 0 },
      ...(w.ttlSecondsAfterFinished !== undefined ? { ttlSecondsAfterFinished: w.ttlSecondsAfterFinished } : {}),
      replicatedJobs: [{
        name: REPLICATED_JOB,
        replicas: 1,
        template: { metadata: { labels: labels(w) }, spec: { ...jobSpec(w), completionMode: 'Indexed', completions: w.nodes, parallelism: w.nodes } },
      }],
    },
  };
}

/** The Ray head's, the Ray workers' and KubeRay's submitter's containers. */
export const RAY_HEAD = 'ray-head';
export const RAY_WORKER = 'ray-worker';
export const RAY_SUBMITTER = 'ray-job-submitter';
/** The one worker group of a RayJob's cluster. */
export const RAY_GROUP = 'workers';

/** One word for a POSIX shell: single-quoted, a `'` inside written `'\''` (nothing in it is expanded). */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The RayJob's entrypoint: command and args, each single-quoted. KubeRay splits the entrypoint by shell
 * rules (google/shlex) into `ray job submit -- <words>`, and Ray runs it through a shell on the head,
 * so every item reaches the trainer as itself, nothing expanded ($VAR, $(...), globs, `;`).
 */
export function rayEntrypoint(w: Pick<Workload, 'command' | 'args'>): string {
  return [...w.command, ...w.args].map(shellQuote).join(' ');
}

/**
 * The RayJob of engine ray (ray.io/v1, KubeRay v1.2.2); created suspended. Its RayCluster has one head
 * (no GPUs for Ray: `num-gpus: 0`, the driver runs there) and one worker group of `nodes` workers with
 * `gpus` GPUs each; head and workers read the env Secret and, on the cloud route, run on the burst pool.
 * The submitter Job (KubeRay's `ray job submit`, K8sJobMode) runs once (backoffLimit 0) and carries the
 * workload's labels; the cluster is deleted when the job ends (shutdownAfterJobFinishes, after
 * ttlSecondsAfterFinished); activeDeadlineSeconds is the timeout.
 */
export function rayJobManifest(w: Workload, hash: string): KubeObject {
  const env = mlflowEnv(w);
  const container = (name: string, gpus: number): Record<string, unknown> => ({
    name,
    image: w.image,
    ...(env.length ? { env } : {}),
    ...(w.env.length ? { envFrom: [{ secretRef: { name: w.name } }] } : {}),
    resources: resources(w, gpus),
  });
  const template = (name: string, gpus: number): Record<string, unknown> => ({ metadata: { labels: labels(w) }, spec: { ...placement(w), containers: [container(name, gpus)] } });
  return {
    apiVersion: refs.rayjob.apiVersion,
    kind: 'RayJob',
    metadata: { name: w.name, namespace: w.namespace, labels: labels(w), annotations: { [RUN_ANNOTATION]: w.run, [HASH_ANNOTATION]: hash } },
    spec: {
      suspend: true,
      entrypoint: rayEntrypoint(w),
      submissionMode: 'K8sJobMode',
      shutdownAfterJobFinishes: true,
      ttlSecondsAfterFinished: w.ttlSecondsAfterFinished ?? 0,
      activeDeadlineSeconds: w.timeoutSeconds,
      submitterConfig: { backoffLimit: 0 },
      submitterPodTemplate: {
        metadata: { labels: labels(w) },
        spec: {
          restartPolicy: 'Never',
          ...(w.target === 'cloud' ? { tolerations: [GPU_TOLERATION] } : {}),
          containers: [{ name: RAY_SUBMITTER, image: w.image, resources: { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m', memory: '200Mi' } } }],
        },
      },
      rayClusterSpec: {
        headGroupSpec: { rayStartParams: { 'num-gpus': '0' }, template: template(RAY_HEAD, 0) },
        workerGroupSpecs: [{ groupName: RAY_GROUP, replicas: w.nodes, minReplicas: w.nodes, maxReplicas: w.nodes, rayStartParams: {}, template: template(RAY_WORKER, w.gpus) }],
      },
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
