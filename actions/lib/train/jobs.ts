/**
 * The training workloads train-job and the mlabs command created (label
 * `app.kubernetes.io/managed-by=mlabs-train-job`) as someone at a terminal looks at them: listed with
 * their engine (a batch/v1 Job, a JobSet, a KubeRay RayJob), status, nodes, GPUs and age; one of them
 * in detail (timeline, where it ran, outcome, exit code); its pods' logs, every rank prefixed; and
 * removed with what it owns.
 */
import { ActionError, describeError } from '../errors.js';
import type { KubeClient, KubeObject } from '../kubernetes/client.js';
import { sleep } from '../time.js';
import { OPERATORS } from './inputs.js';
import { LogFollower } from './logs.js';
import { conds, isTrue, removeWorkload, started, terminated } from './run.js';
import { CONTAINER, FIELD_MANAGER, MANAGED_BY, QUEUE_LABEL, refs, RUN_ANNOTATION } from './spec.js';

export type Engine = 'job' | 'jobset' | 'rayjob';

type Json = Record<string, unknown>;

const KINDS: Record<Engine, { apiVersion: string; kind: string }> = {
  job: refs.job,
  jobset: refs.jobset,
  rayjob: { apiVersion: OPERATORS.ray.apiVersion, kind: OPERATORS.ray.kind },
};

export interface TrainingJob {
  engine: Engine;
  obj: KubeObject;
  name: string;
  namespace: string;
  /** Pending, Queued, Suspended, Running, Succeeded, Failed. */
  status: string;
  /** Kubernetes' reason when it failed. */
  reason: string;
  nodes: number;
  /** GPUs per node. */
  gpus: number;
  created?: number;
}

const at = (ts: unknown): number | undefined => (typeof ts === 'string' && ts ? Date.parse(ts) : undefined);
const num = (v: unknown, fallback: number): number => (v === undefined || v === null || v === '' || !Number.isFinite(Number(v)) ? fallback : Number(v));

function gpusOf(podSpec: Json | undefined): number {
  const containers = (podSpec?.containers as Json[] | undefined) ?? [];
  return containers.reduce((n, c) => n + num((((c.resources as Json | undefined)?.limits as Json | undefined) ?? {})['nvidia.com/gpu'], 0), 0);
}

/** A Job another workload owns (a JobSet's child, a RayJob's submitter) is part of that one. */
const owned = (o: KubeObject): boolean => ((o.metadata.ownerReferences as Json[] | undefined) ?? []).some((r) => r.controller === true);

function summarize(engine: Engine, obj: KubeObject): TrainingJob {
  const spec = (obj.spec ?? {}) as Json;
  const st = (obj.status ?? {}) as Json;
  const base = { engine, obj, name: obj.metadata.name, namespace: String(obj.metadata.namespace ?? ''), created: at(obj.metadata.creationTimestamp), reason: '' };
  const queued = Boolean(obj.metadata.labels?.[QUEUE_LABEL]);
  const failedWith = (c: Json | undefined): string => (c ? `${String(c.reason ?? '')}${c.message ? `: ${String(c.message)}` : ''}` : '');
  if (engine === 'rayjob') {
    const cluster = (spec.rayClusterSpec ?? {}) as Json;
    const workers = (cluster.workerGroupSpecs as Json[] | undefined) ?? [];
    const head = ((cluster.headGroupSpec as Json | undefined)?.template as Json | undefined)?.spec as Json | undefined;
    const firstWorker = (workers[0]?.template as Json | undefined)?.spec as Json | undefined;
    const jobStatus = String(st.jobStatus ?? '');
    const deployment = String(st.jobDeploymentStatus ?? '');
    const status = jobStatus === 'SUCCEEDED' ? 'Succeeded' : jobStatus === 'FAILED' || deployment === 'Failed' ? 'Failed' : spec.suspend === true ? (queued ? 'Queued' : 'Suspended') : jobStatus === 'RUNNING' || deployment === 'Running' ? 'Running' : 'Pending';
    return { ...base, status, reason: status === 'Failed' ? String(st.message ?? st.reason ?? '') : '', nodes: 1 + workers.reduce((n, g) => n + num(g.replicas, 1), 0), gpus: gpusOf(firstWorker ?? head) };
  }
  const template = engine === 'jobset' ? (((spec.replicatedJobs as Json[] | undefined)?.[0]?.template as Json | undefined)?.spec as Json | undefined) ?? {} : spec;
  const pod = ((template.template as Json | undefined)?.spec as Json | undefined) ?? {};
  const nodes = engine === 'jobset' ? num(template.parallelism, 1) * num((spec.replicatedJobs as Json[] | undefined)?.[0]?.replicas, 1) : 1;
  const done = isTrue(obj, engine === 'jobset' ? 'Completed' : 'Complete');
  const failed = isTrue(obj, 'Failed');
  const status = done ? 'Succeeded' : failed ? 'Failed' : spec.suspend === true ? (queued ? 'Queued' : 'Suspended') : engine === 'job' && num(st.active, 0) === 0 && num(st.ready, 0) === 0 && !st.startTime ? 'Pending' : 'Running';
  return { ...base, status, reason: failedWith(failed), nodes, gpus: gpusOf(pod) };
}

/** Whether the cluster serves this engine's kind (JobSet and RayJob are operators' CRDs). */
async function served(kube: KubeClient, engine: Engine): Promise<boolean> {
  return engine === 'job' || kube.serves(KINDS[engine].apiVersion, KINDS[engine].kind);
}

/** Every workload train-job or mlabs created in the namespace, oldest first. */
export async function listTrainingJobs(kube: KubeClient, namespace: string): Promise<TrainingJob[]> {
  const out: TrainingJob[] = [];
  for (const engine of Object.keys(KINDS) as Engine[]) {
    if (!(await served(kube, engine))) continue;
    const items = await kube.list({ ...KINDS[engine], namespace }, { labelSelector: `${MANAGED_BY}=${FIELD_MANAGER}` });
    for (const o of items) if (!owned(o)) out.push(summarize(engine, o));
  }
  return out.sort((a, b) => (a.created ?? 0) - (b.created ?? 0) || a.name.localeCompare(b.name));
}

/** The workload of this name; refused, naming the ones there are, when there is none (or it is not train-job's). */
export async function findTrainingJob(kube: KubeClient, namespace: string, name: string): Promise<TrainingJob> {
  for (const engine of Object.keys(KINDS) as Engine[]) {
    if (!(await served(kube, engine))) continue;
    const o = await kube.get({ ...KINDS[engine], namespace }, name);
    if (!o || (engine === 'job' && owned(o))) continue;
    if (o.metadata.labels?.[MANAGED_BY] !== FIELD_MANAGER) {
      throw new ActionError(`${KINDS[engine].kind} ${namespace}/${name} was not created by train-job or mlabs; mlabs leaves it alone.`, { fix: `Look at it with kubectl describe ${KINDS[engine].kind.toLowerCase()} ${name} -n ${namespace}.` });
    }
    return summarize(engine, o);
  }
  const there = (await listTrainingJobs(kube, namespace)).map((j) => j.name);
  throw new ActionError(`No training job ${name} in namespace ${namespace} on ${kube.config.context} (${kube.config.server}). ${there.length ? `Jobs there: ${there.join(', ')}.` : 'There are none.'}`, {
    fix: 'Check the name (mlabs jobs list), the namespace (-n) and the context (--context).',
  });
}

/** The workload's pods, rank order. */
export async function podsOf(kube: KubeClient, j: TrainingJob): Promise<KubeObject[]> {
  const uid = String(j.obj.metadata.uid);
  const cluster = String((j.obj.status as Json | undefined)?.rayClusterName ?? '');
  if (j.engine === 'rayjob' && !cluster) return [];
  const selector = j.engine === 'job' ? `batch.kubernetes.io/controller-uid=${uid}` : j.engine === 'jobset' ? `jobset.sigs.k8s.io/jobset-uid=${uid}` : `ray.io/cluster=${cluster}`;
  const pods = await kube.list({ ...refs.pod, namespace: j.namespace }, { labelSelector: selector });
  const rank = (p: KubeObject): number => num(p.metadata.annotations?.['batch.kubernetes.io/job-completion-index'], 0);
  return pods.sort((a, b) => rank(a) - rank(b) || String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)) || a.metadata.name.localeCompare(b.metadata.name));
}

/** `[rank N] ` before each line of a multi-node workload's pod. */
export function rankPrefix(j: TrainingJob, pod: KubeObject): string {
  const idx = pod.metadata.annotations?.['batch.kubernetes.io/job-completion-index'];
  if (j.nodes <= 1) return '';
  return idx !== undefined ? `[rank ${idx}] ` : `[${pod.metadata.name}] `;
}

/** The container whose log is the trainer's (train-job's `train`; a RayJob's pods have their own). */
const containerOf = (j: TrainingJob): string | undefined => (j.engine === 'rayjob' ? undefined : CONTAINER);

export interface JobDetails {
  job: TrainingJob;
  submittedBy: string;
  image: string;
  timeline: { created?: number; started?: number; running?: number; finished?: number };
  /** node → GPU label, in rank order. */
  nodes: { pod: string; node: string; gpu: string }[];
  exitCode?: number;
}

/** Timeline, where it ran, outcome and exit code. */
export async function describeTrainingJob(kube: KubeClient, j: TrainingJob): Promise<JobDetails> {
  const pods = await podsOf(kube, j);
  const st = (j.obj.status ?? {}) as Json;
  const finishedCond = conds(j.obj).find((c) => (c.type === 'Complete' || c.type === 'Completed' || c.type === 'Failed') && c.status === 'True');
  const running = pods
    .flatMap((p) => ((p.status?.containerStatuses as Json[] | undefined) ?? []).map((cs) => at(((cs.state as Json | undefined)?.running as Json | undefined)?.startedAt ?? ((cs.state as Json | undefined)?.terminated as Json | undefined)?.startedAt)))
    .filter((t): t is number => t !== undefined);
  const nodeNames = [...new Set(pods.map((p) => String(p.spec?.nodeName ?? '')).filter(Boolean))];
  const gpuOf = new Map<string, string>();
  for (const n of nodeNames) {
    const node = await kube.get({ apiVersion: 'v1', kind: 'Node' }, n).catch(() => undefined);
    const l = node?.metadata.labels ?? {};
    gpuOf.set(n, l['cloud.google.com/gke-accelerator'] ?? l['nvidia.com/gpu.product'] ?? '');
  }
  const ended = pods.map((p) => terminated(p)).filter((t): t is Json => t !== undefined);
  const failedOne = ended.find((t) => Number(t.exitCode) !== 0) ?? ended[0];
  const podSpec = pods[0]?.spec ?? {};
  const image = String(((podSpec.containers as Json[] | undefined)?.find((c) => c.name === CONTAINER) ?? (podSpec.containers as Json[] | undefined)?.[0])?.image ?? '');
  return {
    job: j,
    submittedBy: j.obj.metadata.annotations?.[RUN_ANNOTATION] ?? '',
    image,
    timeline: {
      created: j.created,
      started: at(st.startTime),
      running: running.length ? Math.min(...running) : undefined,
      finished: at(st.completionTime) ?? at(finishedCond?.lastTransitionTime) ?? at(st.endTime),
    },
    nodes: pods.filter((p) => p.spec?.nodeName).map((p) => ({ pod: p.metadata.name, node: String(p.spec?.nodeName), gpu: gpuOf.get(String(p.spec?.nodeName)) ?? '' })),
    ...(failedOne ? { exitCode: Number(failedOne.exitCode) } : {}),
  };
}

/** The last `tail` lines (all when undefined) of every pod's trainer log, each prefixed with its rank on a multi-node workload. */
export async function readLogs(kube: KubeClient, j: TrainingJob, tail: number | undefined, print: (line: string) => void): Promise<number> {
  const pods = await podsOf(kube, j);
  let printed = 0;
  for (const p of pods) {
    if (!started(p) && j.engine !== 'rayjob') continue;
    const path = `/api/v1/namespaces/${encodeURIComponent(j.namespace)}/pods/${encodeURIComponent(p.metadata.name)}/log`;
    const res = await kube.request('GET', path, { query: { container: containerOf(j), tailLines: tail } });
    const prefix = rankPrefix(j, p);
    for (const line of res.text.replace(/\n$/, '').split('\n')) {
      if (res.text === '') break;
      print(`${prefix}${line}`);
      printed++;
    }
  }
  return printed;
}

/** Follow every pod's log (reusing train-job's follower) until the workload ends or `signal` aborts. */
export async function followLogs(kube: KubeClient, j: TrainingJob, opts: { pollMs: number; signal: AbortSignal }): Promise<TrainingJob> {
  const follower = new LogFollower(kube, j.namespace, containerOf(j) ?? '');
  let cur = j;
  try {
    for (;;) {
      for (const p of await podsOf(kube, cur)) {
        if (started(p)) follower.follow(p.metadata.name, rankPrefix(cur, p));
        if (terminated(p) !== undefined) follower.finished(p.metadata.name);
      }
      if (cur.status === 'Succeeded' || cur.status === 'Failed' || opts.signal.aborted) break;
      await sleep(opts.pollMs);
      const o = await kube.get({ ...KINDS[cur.engine], namespace: cur.namespace }, cur.name);
      if (!o || o.metadata.uid !== j.obj.metadata.uid) throw new ActionError(`${KINDS[cur.engine].kind} ${cur.namespace}/${cur.name} was deleted while its logs were followed.`);
      cur = summarize(cur.engine, o);
    }
    if (!opts.signal.aborted) await follower.drain(3000);
  } finally {
    follower.stop();
  }
  return cur;
}

/** Delete the workload with its pods, its env Secret and (a JobSet's) headless Service, as train-job cleans up. */
export async function cancelTrainingJob(kube: KubeClient, j: TrainingJob): Promise<string[]> {
  const gone: string[] = [];
  if (j.engine === 'rayjob') {
    if (await kube.delete({ ...KINDS.rayjob, namespace: j.namespace }, j.name, { propagationPolicy: 'Background' })) gone.push(`RayJob ${j.name}`);
    if (await kube.delete({ ...refs.secret, namespace: j.namespace }, j.name)) gone.push(`Secret ${j.name}`);
    return gone;
  }
  const hadSecret = (await kube.get({ ...refs.secret, namespace: j.namespace }, j.name)) !== undefined;
  // A JobSet's headless Service (its controller makes and owns it) goes with it; deleted here so nothing is left at once.
  const service = { apiVersion: 'v1', kind: 'Service', namespace: j.namespace };
  const svc = j.engine === 'jobset' ? await kube.get(service, j.name) : undefined;
  const ownService = ((svc?.metadata.ownerReferences as Json[] | undefined) ?? []).some((r) => r.uid === j.obj.metadata.uid);
  if (await removeWorkload(kube, { namespace: j.namespace, name: j.name, nodes: j.engine === 'jobset' ? Math.max(2, j.nodes) : 1 })) gone.push(`${KINDS[j.engine].kind} ${j.name} and its pods`);
  if (hadSecret) gone.push(`Secret ${j.name}`);
  if (ownService) {
    await kube.delete(service, j.name).catch((err: unknown) => {
      throw new ActionError(`Deleted ${KINDS[j.engine].kind} ${j.name} but not its Service: ${describeError(err)}`, { cause: err, fix: `kubectl delete service ${j.name} -n ${j.namespace}` });
    });
    gone.push(`Service ${j.name}`);
  }
  return gone;
}
