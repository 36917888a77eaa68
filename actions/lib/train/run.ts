/**
 * Submitting a training workload and following it to its end: adopt an existing Job that is this
 * same workload (same spec hash) or refuse one that is not; otherwise create the Job suspended, its
 * env Secret owned by it, then let it run, or with a queue let Kueue admit it: while the Workload
 * waits, the log says which queue and Kueue's pending message, and a workload not admitted within
 * `schedule_timeout` fails with that message. While it runs: the pods' logs stream into the step log,
 * and it ends within a poll of the Job's Complete or Failed condition, of a pod that cannot pull its
 * image, or of a pod unschedulable past `schedule_timeout`.
 */
import { ActionError, describeError } from '../errors.js';
import type { KubeClient, KubeObject } from '../kubernetes/client.js';
import { debug, info, warning } from '../runner.js';
import { sleep } from '../time.js';
import { LogFollower } from './logs.js';
import { CONTAINER, FIELD_MANAGER, HASH_ANNOTATION, JOB_UID_LABEL, MANAGED_BY, NAME_LABEL, RAY_HEAD, RAY_SUBMITTER, refs, RUN_ANNOTATION, secretManifest, specHash, workloadManifest, workloadRef, type Workload } from './spec.js';

export type Outcome = 'succeeded' | 'failed' | 'timed-out' | 'cancelled';

export interface Timeline {
  created?: number;
  /** The first admission: an evicted workload admitted again keeps it. */
  admitted?: number;
  /** Milliseconds spent queued again after Kueue evicted the admitted workload. */
  requeued?: number;
  running?: number;
  finished?: number;
}

/** What Kueue said of the workload: where it was admitted, or why it waits. */
export interface QueueState {
  /** The LocalQueue's ClusterQueue (from the LocalQueue; the admission's once admitted). */
  clusterQueue: string;
  flavors: string[];
  /** Kueue's pending message (QuotaReserved False), empty once admitted. */
  message: string;
}

export interface RunResult {
  outcome: Outcome;
  /** Why, in Kubernetes' words, when not succeeded. */
  reason: string;
  exitCode?: number;
  timeline: Timeline;
  /** The node the (first) pod ran on, and its GPU. */
  node: string;
  gpu: string;
  spot: boolean;
  adopted: boolean;
  tail: string[];
  /** With a queue: what Kueue said. */
  queue?: QueueState;
}

export interface RunOptions {
  /** Longest a pod may stay unschedulable, and a queued workload unadmitted. */
  scheduleTimeoutMs: number;
  /** The queue's ClusterQueue, as the LocalQueue names it (with `queue`). */
  clusterQueue?: string;
  pollMs: number;
  signal: AbortSignal;
  /** Called once the Job exists (before anything else is created): the post step must know it. */
  onCreated: () => void;
}

type Json = Record<string, unknown>;
export const conds = (o: KubeObject | undefined): Json[] => ((o?.status?.conditions as Json[] | undefined) ?? []);
export const isTrue = (o: KubeObject | undefined, type: string): Json | undefined => conds(o).find((c) => c.type === type && c.status === 'True');
const at = (ts: unknown): number | undefined => (typeof ts === 'string' && ts ? Date.parse(ts) : undefined);

export const describeJob = (w: Pick<Workload, 'nodes' | 'namespace' | 'name' | 'engine'>): string => `${workloadRef(w).kind} ${w.namespace}/${w.name}`;

/** An existing Job of this name: the same workload is adopted; anything else is refused before changing anything. */
async function existing(kube: KubeClient, w: Workload, hash: string): Promise<KubeObject | undefined> {
  const job = await kube.get({ ...workloadRef(w), namespace: w.namespace }, w.name);
  if (!job) return undefined;
  const fix = `Give the run another name (input name), or remove the old one first: kubectl delete ${workloadRef(w).kind.toLowerCase()} ${w.name} -n ${w.namespace}`;
  if (job.metadata.labels?.[MANAGED_BY] !== FIELD_MANAGER) {
    throw new ActionError(`${describeJob(w)} already exists and was not created by train-job; nothing was changed.`, { fix });
  }
  const theirs = job.metadata.annotations?.[HASH_ANNOTATION];
  if (theirs !== hash) {
    throw new ActionError(`${describeJob(w)} already exists with a different workload (submitted by ${job.metadata.annotations?.[RUN_ANNOTATION] ?? 'an unknown run'}); nothing was changed.`, { fix });
  }
  return job;
}

/** Create the Job (suspended), its Secret, then start it; a failure midway removes what was made. */
async function create(kube: KubeClient, w: Workload, hash: string, opts: RunOptions): Promise<KubeObject> {
  const job = await kube.apply(workloadManifest(w, hash), { fieldManager: FIELD_MANAGER });
  opts.onCreated();
  try {
    if (w.env.length) await kube.apply(secretManifest(w, job), { fieldManager: FIELD_MANAGER });
    // With a queue, Kueue admits the Job by lifting suspend; without one it starts now.
    if (!w.queue) await kube.mergePatch({ ...workloadRef(w), namespace: w.namespace }, w.name, { spec: { suspend: false } }, { fieldManager: FIELD_MANAGER });
  } catch (err) {
    await removeWorkload(kube, w).catch((e: unknown) => warning(`Could not remove ${describeJob(w)} after the failed submission: ${describeError(e)}`));
    throw new ActionError(`Submitting ${describeJob(w)} failed midway: ${describeError(err)}. The Job was removed again.`, { cause: err });
  }
  info(`Created ${describeJob(w)}${w.env.length ? ` and its Secret (${w.env.map(([k]) => k).join(', ')})` : ''}${w.queue ? `, waiting for admission by LocalQueue ${w.queue}` : ''}.`);
  return job;
}

/**
 * Delete the Job (JobSet, RayJob) with its pods; the env Secret goes with it (owned), and is deleted here
 * too. A RayJob's RayCluster and submitter Job are its own: they go with it.
 */
export async function removeWorkload(kube: KubeClient, w: Pick<Workload, 'namespace' | 'name' | 'nodes' | 'engine'>): Promise<boolean> {
  const gone = await kube.delete({ ...workloadRef(w), namespace: w.namespace }, w.name, { propagationPolicy: 'Background' });
  await kube.delete({ ...refs.secret, namespace: w.namespace }, w.name);
  return gone;
}

function waiting(pod: KubeObject): Json | undefined {
  for (const cs of ((pod.status?.containerStatuses as Json[] | undefined) ?? [])) {
    const wt = (cs.state as Json | undefined)?.waiting as Json | undefined;
    if (wt && ['ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'ErrImageNeverPull'].includes(String(wt.reason))) return { ...wt, image: cs.image };
  }
  return undefined;
}

export function terminated(pod: KubeObject, container = CONTAINER): Json | undefined {
  const cs = ((pod.status?.containerStatuses as Json[] | undefined) ?? []).find((c) => c.name === container);
  return ((cs?.state as Json | undefined)?.terminated as Json | undefined);
}

export function started(pod: KubeObject, container = CONTAINER): boolean {
  const cs = ((pod.status?.containerStatuses as Json[] | undefined) ?? []).find((c) => c.name === container);
  const st = (cs?.state ?? {}) as Json;
  return st.running !== undefined || st.terminated !== undefined;
}

/** The job's Workload as Kueue keeps it (found by the job-uid label Kueue puts on it): admitted, or why it waits. */
async function readQueue(kube: KubeClient, w: Workload, uid: string, clusterQueue: string): Promise<QueueState & { admitted: boolean; evicted?: string }> {
  let found: KubeObject[];
  try {
    found = await kube.list({ ...refs.workload, namespace: w.namespace }, { labelSelector: `${JOB_UID_LABEL}=${uid}` });
  } catch (err) {
    // Reading Workloads may be forbidden: the job's suspend flag still says when it is admitted.
    debug(`Could not read the Workload of ${describeJob(w)}: ${describeError(err)}`);
    return { admitted: false, clusterQueue, flavors: [], message: `its Workload could not be read (${describeError(err)})` };
  }
  const wl = found[0];
  if (!wl) return { admitted: false, clusterQueue, flavors: [], message: 'Kueue has not created its Workload yet' };
  const admission = wl.status?.admission as Json | undefined;
  const admitted = isTrue(wl, 'Admitted') !== undefined;
  const flavors = [...new Set(((admission?.podSetAssignments as Json[] | undefined) ?? []).flatMap((p) => Object.values((p.flavors ?? {}) as Record<string, string>)))];
  const pending = conds(wl).find((c) => c.type === 'QuotaReserved' && c.status === 'False');
  const ev = isTrue(wl, 'Evicted');
  return {
    admitted, clusterQueue: String(admission?.clusterQueue ?? clusterQueue), flavors, message: admitted ? '' : String(pending?.message ?? 'Kueue has not considered it yet'),
    ...(ev ? { evicted: `${String(ev.reason)}: ${String(ev.message ?? '')}` } : {}),
  };
}

/**
 * One look at a queued workload not yet admitted: logs Kueue's pending message when it changes, says
 * when it is admitted (the Workload Admitted, or the job resumed), fails past schedule_timeout.
 */
async function awaitAdmission(kube: KubeClient, w: Workload, uid: string, cur: KubeObject, wait: { since: number; said: string; clusterQueue: string }, opts: RunOptions): Promise<{ queue: QueueState; admitted: boolean; failed?: string }> {
  const q = await readQueue(kube, w, uid, wait.clusterQueue);
  wait.clusterQueue = q.clusterQueue;
  const waited = Math.round((Date.now() - wait.since) / 1000);
  const where = `LocalQueue ${w.queue}${q.clusterQueue ? ` (ClusterQueue ${q.clusterQueue})` : ''}`;
  const queue = { clusterQueue: q.clusterQueue, flavors: q.flavors, message: q.message };
  if (!q.admitted && cur.spec?.suspend !== false) {
    if (q.message !== wait.said) info(`Queued in ${where} for ${waited} s: ${q.message}`);
    wait.said = q.message;
    if (Date.now() - wait.since >= opts.scheduleTimeoutMs) return { queue, admitted: false, failed: `not admitted by ${where} within ${Math.round(opts.scheduleTimeoutMs / 1000)} s (schedule_timeout): ${q.message}` };
    return { queue, admitted: false };
  }
  info(`Admitted by ${where}${q.flavors.length ? `, flavor ${q.flavors.join(', ')}` : ''}, after ${waited} s in the queue.`);
  return { queue, admitted: true };
}

export async function runTraining(kube: KubeClient, w: Workload, opts: RunOptions): Promise<RunResult> {
  const hash = specHash(w);
  const timeline: Timeline = {};
  let job = await existing(kube, w, hash);
  const adopted = job !== undefined;
  if (job) {
    info(`${describeJob(w)} already exists with this same workload (submitted by ${job.metadata.annotations?.[RUN_ANNOTATION] ?? 'an earlier run'}): following it instead of creating another.`);
    opts.onCreated();
    timeline.created = at(job.metadata.creationTimestamp);
  } else {
    job = await create(kube, w, hash, opts);
    timeline.created = Date.now();
  }
  if (w.engine === 'ray') return followRayJob(kube, w, opts, job, timeline, adopted);
  const uid = String(job.metadata.uid);
  const follower = new LogFollower(kube, w.namespace, CONTAINER);
  let queue: QueueState | undefined = w.queue ? { clusterQueue: opts.clusterQueue ?? '', flavors: [], message: '' } : undefined;
  const result = (outcome: Outcome, reason: string, extra: Partial<RunResult> = {}): RunResult => ({ outcome, reason, timeline, node: '', gpu: '', spot: false, adopted, tail: follower.tail(), ...(queue ? { queue } : {}), ...extra });
  const wait = { since: Date.now(), said: '', clusterQueue: opts.clusterQueue ?? '' };
  /** Since when, and why, Kueue holds the evicted workload back. */
  let evicted: { since: number; why: string } | undefined;
  const unschedulableSince = new Map<string, number>();
  const multi = w.nodes > 1;
  let lastPods: KubeObject[] = [];
  try {
    for (;;) {
      if (opts.signal.aborted) return result('cancelled', 'the workflow run was cancelled');
      const cur = await kube.get({ ...workloadRef(w), namespace: w.namespace }, w.name);
      if (!cur || cur.metadata.uid !== uid) return result('failed', `${describeJob(w)} was deleted while it ran`);
      if (queue && timeline.admitted === undefined) {
        const a = await awaitAdmission(kube, w, uid, cur, wait, opts);
        queue = a.queue;
        if (a.failed) return result('failed', a.failed);
        if (!a.admitted) {
          await sleep(opts.pollMs);
          continue;
        }
        timeline.admitted = adopted ? at(cur.status?.startTime) ?? Date.now() : Date.now();
      } else if (queue) {
        // Admitted once: Kueue may evict it (preempted, deactivated...), stop the job and requeue it.
        const q = await readQueue(kube, w, uid, queue.clusterQueue);
        const where = `LocalQueue ${w.queue}${q.clusterQueue ? ` (ClusterQueue ${q.clusterQueue})` : ''}`;
        if (!evicted && (q.evicted !== undefined || cur.spec?.suspend === true)) {
          evicted = { since: Date.now(), why: q.evicted ?? 'the Job was suspended again' };
          info(`Evicted by Kueue from ${where}: ${evicted.why}. Its pods were stopped; waiting up to ${Math.round(opts.scheduleTimeoutMs / 1000)} s (schedule_timeout) for it to be admitted again.`);
        }
        if (evicted) {
          if (q.evicted === undefined && q.admitted && cur.spec?.suspend === false) {
            const waited = Date.now() - evicted.since;
            timeline.requeued = (timeline.requeued ?? 0) + waited;
            queue = { clusterQueue: q.clusterQueue, flavors: q.flavors, message: '' };
            info(`Admitted again by ${where}${q.flavors.length ? `, flavor ${q.flavors.join(', ')}` : ''}, after ${Math.round(waited / 1000)} s re-queued.`);
            evicted = undefined;
          } else {
            if (Date.now() - evicted.since >= opts.scheduleTimeoutMs) {
              return result('failed', `evicted by Kueue (${evicted.why}) and not admitted again by ${where} within ${Math.round(opts.scheduleTimeoutMs / 1000)} s (schedule_timeout)${q.message ? `: ${q.message}` : ''}`);
            }
            await sleep(opts.pollMs);
            continue;
          }
        }
      }
      if (timeline.admitted === undefined && cur.spec?.suspend === false) timeline.admitted = adopted ? at(cur.status?.startTime) ?? Date.now() : Date.now();
      const pods = await kube.list({ ...refs.pod, namespace: w.namespace }, { labelSelector: multi ? `jobset.sigs.k8s.io/jobset-uid=${uid}` : `batch.kubernetes.io/controller-uid=${uid}` });
      lastPods = pods.length ? pods : lastPods;
      for (const p of pods) {
        const name = p.metadata.name;
        if (started(p)) {
          timeline.running ??= Date.now();
          const idx = p.metadata.annotations?.['batch.kubernetes.io/job-completion-index'];
          follower.follow(name, multi && idx !== undefined ? `[rank ${idx}] ` : '');
        }
        if (terminated(p) !== undefined) follower.finished(name);
        const trouble = podTrouble(p, unschedulableSince, opts);
        if (trouble) return result('failed', trouble);
      }
      if (isTrue(cur, multi ? 'Completed' : 'Complete')) {
        timeline.finished = Date.now();
        return await finish(kube, follower, result('succeeded', ''), pods);
      }
      let failed = isTrue(cur, 'Failed');
      if (failed && multi) {
        // The JobSet says FailedJobs; the child Job that failed says why (which rank, which exit code).
        const children = await kube.list({ ...refs.job, namespace: w.namespace }, { labelSelector: `jobset.sigs.k8s.io/jobset-uid=${uid}` });
        failed = children.map((j) => isTrue(j, 'Failed')).find((c) => c !== undefined) ?? failed;
      }
      if (failed) {
        timeline.finished = Date.now();
        const deadline = failed.reason === 'DeadlineExceeded';
        return await finish(kube, follower, result(deadline ? 'timed-out' : 'failed', `${String(failed.reason)}: ${String(failed.message ?? '')}`), pods.length ? pods : lastPods);
      }
      await sleep(opts.pollMs);
    }
  } finally {
    follower.stop();
  }
}

/** Why a pod stops the run: its image cannot be pulled, or it stayed unschedulable past schedule_timeout. */
function podTrouble(p: KubeObject, unschedulableSince: Map<string, number>, opts: RunOptions): string | undefined {
  const name = p.metadata.name;
  const bad = waiting(p);
  if (bad) return `pod ${name} cannot pull image "${String(bad.image)}": ${String(bad.reason)}${bad.message ? ` (${String(bad.message)})` : ''}`;
  const sched = conds(p).find((c) => c.type === 'PodScheduled');
  if (sched?.status === 'False' && sched.reason === 'Unschedulable') {
    const since = unschedulableSince.get(name) ?? Date.now();
    unschedulableSince.set(name, since);
    if (Date.now() - since >= opts.scheduleTimeoutMs) return `pod ${name} stayed unschedulable for ${Math.round(opts.scheduleTimeoutMs / 1000)} s (schedule_timeout): ${String(sched.message ?? '')}`;
  } else unschedulableSince.delete(name);
  return undefined;
}

/** The node's GPU (GKE accelerator, or the NVIDIA product label) and whether it is Spot. */
async function nodeFacts(kube: KubeClient, nodeName: string): Promise<{ gpu: string; spot: boolean }> {
  if (!nodeName) return { gpu: '', spot: false };
  const node = await kube.get({ apiVersion: 'v1', kind: 'Node' }, nodeName).catch(() => undefined);
  const l = node?.metadata.labels ?? {};
  return { gpu: l['cloud.google.com/gke-accelerator'] ?? l['nvidia.com/gpu.product'] ?? '', spot: l['cloud.google.com/gke-spot'] === 'true' };
}

/** The exit code, node and GPU of the finished workload, after its last log lines arrived. */
async function finish(kube: KubeClient, follower: LogFollower, r: RunResult, pods: KubeObject[]): Promise<RunResult> {
  await follower.drain(3000);
  const ended = pods.map((p) => ({ p, t: terminated(p) })).filter((x) => x.t !== undefined);
  const failedOne = ended.find((x) => Number(x.t?.exitCode) !== 0) ?? ended[0];
  const nodeName = String((failedOne?.p ?? pods[0])?.spec?.nodeName ?? '');
  return { ...r, exitCode: failedOne ? Number(failedOne.t?.exitCode) : undefined, node: nodeName, ...(await nodeFacts(kube, nodeName)), tail: follower.tail() };
}

/**
 * Follow a RayJob to its end (KubeRay's status.jobDeploymentStatus Complete or Failed): the submitter
 * pod's log (`ray job submit` follows the driver's output) streams into the step log, the head's with a
 * `[ray-head] ` prefix; any Ray or submitter pod that cannot pull its image or stays unschedulable ends
 * it. The exit code is the submitter's; node and GPU are the first worker's.
 */
async function followRayJob(kube: KubeClient, w: Workload, opts: RunOptions, job: KubeObject, timeline: Timeline, adopted: boolean): Promise<RunResult> {
  const uid = String(job.metadata.uid);
  const follower = new LogFollower(kube, w.namespace, RAY_SUBMITTER);
  const headLog = new LogFollower(kube, w.namespace, RAY_HEAD);
  let queue: QueueState | undefined = w.queue ? { clusterQueue: opts.clusterQueue ?? '', flavors: [], message: '' } : undefined;
  const wait = { since: Date.now(), said: '', clusterQueue: opts.clusterQueue ?? '' };
  const result = (outcome: Outcome, reason: string, extra: Partial<RunResult> = {}): RunResult => ({ outcome, reason, timeline, node: '', gpu: '', spot: false, adopted, tail: follower.tail(), ...(queue ? { queue } : {}), ...extra });
  const unschedulableSince = new Map<string, number>();
  let submitters: KubeObject[] = [];
  let workers: KubeObject[] = [];
  const end = async (r: RunResult): Promise<RunResult> => {
    timeline.finished = Date.now();
    await follower.drain(3000);
    headLog.stop();
    const last = submitters.map((p) => terminated(p, RAY_SUBMITTER)).filter((t) => t !== undefined).pop();
    const nodeName = String(workers[0]?.spec?.nodeName ?? '');
    return { ...r, exitCode: last ? Number(last.exitCode) : undefined, node: nodeName, ...(await nodeFacts(kube, nodeName)), tail: follower.tail() };
  };
  try {
    for (;;) {
      if (opts.signal.aborted) return result('cancelled', 'the workflow run was cancelled');
      const cur = await kube.get({ ...refs.rayjob, namespace: w.namespace }, w.name);
      if (!cur || cur.metadata.uid !== uid) return result('failed', `${describeJob(w)} was deleted while it ran`);
      if (queue && timeline.admitted === undefined) {
        const a = await awaitAdmission(kube, w, uid, cur, wait, opts);
        queue = a.queue;
        if (a.failed) return result('failed', a.failed);
        if (!a.admitted) {
          await sleep(opts.pollMs);
          continue;
        }
        timeline.admitted = adopted ? at(cur.status?.startTime) ?? Date.now() : Date.now();
      }
      if (timeline.admitted === undefined && cur.spec?.suspend === false) timeline.admitted = adopted ? at(cur.status?.startTime) ?? Date.now() : Date.now();
      const st = (cur.status ?? {}) as Json;
      const cluster = String(st.rayClusterName ?? '');
      const rayPods = cluster ? await kube.list({ ...refs.pod, namespace: w.namespace }, { labelSelector: `ray.io/cluster=${cluster}` }) : [];
      const subs = await kube.list({ ...refs.pod, namespace: w.namespace }, { labelSelector: `batch.kubernetes.io/job-name=${w.name},${NAME_LABEL}=${w.name}` });
      submitters = subs.length ? subs : submitters;
      const ws = rayPods.filter((p) => p.metadata.labels?.['ray.io/node-type'] === 'worker');
      workers = ws.length ? ws : workers;
      for (const p of [...rayPods, ...subs]) {
        const trouble = podTrouble(p, unschedulableSince, opts);
        if (trouble) return result('failed', trouble);
      }
      for (const p of rayPods) if (p.metadata.labels?.['ray.io/node-type'] === 'head' && started(p, RAY_HEAD)) headLog.follow(p.metadata.name, '[ray-head] ');
      for (const p of subs) {
        if (started(p, RAY_SUBMITTER)) {
          timeline.running ??= Date.now();
          follower.follow(p.metadata.name);
        }
        if (terminated(p, RAY_SUBMITTER) !== undefined) follower.finished(p.metadata.name);
      }
      const jobStatus = String(st.jobStatus ?? '');
      if (st.jobDeploymentStatus === 'Complete') {
        return await end(jobStatus === 'SUCCEEDED' ? result('succeeded', '') : result('failed', `the Ray job ended ${jobStatus}${st.message ? `: ${String(st.message)}` : ''}`));
      }
      if (st.jobDeploymentStatus === 'Failed') {
        const reason = String(st.reason ?? '');
        return await end(result(reason === 'DeadlineExceeded' ? 'timed-out' : 'failed', `${reason || 'Failed'}: ${String(st.message ?? `the Ray job ended ${jobStatus}`)}`));
      }
      await sleep(opts.pollMs);
    }
  } finally {
    follower.stop();
    headLog.stop();
  }
}

/**
 * Submit without following it (the mlabs command): a workload of this name that runs the same is kept
 * as it is, another of that name is refused; otherwise it is created as runTraining creates it.
 */
export async function submitWorkload(kube: KubeClient, w: Workload): Promise<{ job: KubeObject; adopted: boolean }> {
  const hash = specHash(w);
  const found = await existing(kube, w, hash);
  if (found) return { job: found, adopted: true };
  const job = await create(kube, w, hash, { scheduleTimeoutMs: 0, pollMs: 0, signal: new AbortController().signal, onCreated: () => undefined });
  return { job, adopted: false };
}
