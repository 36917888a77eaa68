// The KubeRay operator (ray.io/v1, ray-project/kuberay v1.2.2, ray-operator/controllers/ray), when its
// CustomResourceDefinitions are installed (`operators.ts`).
// RayCluster: the head Service `<cluster>-head-svc` (ports client 10001, redis 6379, dashboard 8265,
// metrics 8080, serve 8000), one head pod `<cluster>-head-xxxxx` and per workerGroupSpecs[] entry
// `replicas` worker pods `<cluster>-<group>-worker-xxxxx` (clamped to minReplicas..maxReplicas; pods
// added or removed when replicas change; scaleStrategy.workersToDelete honoured and cleared); the Ray
// container's command becomes `/bin/bash -lc -- ulimit -n 65536; ray start ...` from rayStartParams
// (num-gpus from the container's nvidia.com/gpu limit); labels ray.io/cluster, node-type, group,
// identifier, is-ray-node; status: state `ready` once every pod runs and is Ready, ready/available/
// desired/min/maxWorkerReplicas, desiredGPU, head (podName, podIP, serviceName, serviceIP), endpoints.
// RayJob (submissionMode K8sJobMode, the default): finalizer ray.io/rayjob-stop-job; status.jobId
// `<rayjob>-xxxxx` and rayClusterName `<rayjob>-raycluster-xxxxx`, jobDeploymentStatus Initializing;
// the RayCluster from spec.rayClusterSpec (owned by the RayJob); once it is ready, dashboardURL and the
// submitter batch Job `<rayjob>` (backoffLimit submitterConfig.backoffLimit, default 2) whose container
// `ray-job-submitter` runs `ray job submit --address http://<dashboard> --submission-id <id> --
// <entrypoint split by shell rules>`; Running. The Ray job's status (what the dashboard would answer)
// follows the submitter pod: PENDING, RUNNING, SUCCEEDED, FAILED (message `Job entrypoint command failed
// with exit code N`); Complete or Failed (reason AppFailed, SubmissionFailed when the submitter Job
// failed first, DeadlineExceeded past activeDeadlineSeconds) once the submitter Job finished, with
// endTime; shutdownAfterJobFinishes deletes the RayCluster ttlSecondsAfterFinished after endTime (the
// submitter Job and the RayJob stay). `suspend`: Initializing or Running → its cluster and submitter
// deleted, Suspended; resumed → submitted anew. Not simulated: HTTPMode and InteractiveMode
// (UserMode) submission, clusterSelector, the autoscaler, GCS fault tolerance, backoffLimit retries.
import { randomBytes } from 'node:crypto';
import type { KubeCluster } from './cluster.js';
import type { ResourceType } from './resources.js';
import { podReady } from './cluster.js';
import { parseQuantity } from './quantity.js';
import { meta, type Json } from './store.js';

export const RAY_GROUP = 'ray.io';
const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
// k8s.io/apimachinery's rand.String alphabet (no vowels, no 0, 1, 3)
const rand5 = (): string => [...randomBytes(5)].map((b) => 'bcdfghjklmnpqrstvwxz2456789'[b % 27]).join('');
const phaseOf = (p: Json): string => String((p.status as Json | undefined)?.phase ?? 'Pending');
const terminal = (p: Json): boolean => ['Succeeded', 'Failed'].includes(phaseOf(p));
const labelsOf = (o: Json): Record<string, string> => (meta(o).labels ?? {}) as Record<string, string>;
const jobTrue = (j: Json, type: string): Json | undefined => (((j.status as Json | undefined)?.conditions as Json[] | undefined) ?? []).find((c) => c.type === type && c.status === 'True');

export const STOP_JOB_FINALIZER = 'ray.io/rayjob-stop-job';
export const DEFAULT_PORTS: Record<string, number> = { client: 10001, redis: 6379, dashboard: 8265, metrics: 8080, serve: 8000 };
const MAX_REPLICAS = 2147483647;

export interface RayHost {
  c: KubeCluster;
  ownedBy(owner: Json, group: string, resource: string): Json[];
  event(obj: Json, type: 'Normal' | 'Warning', reason: string, message: string, component?: string): void;
  createPod(owner: Json, template: Json, name: string, extraLabels?: Record<string, string>, spec?: Json, annotations?: Record<string, string>): void;
}

/** Split a command line as google/shlex does (KubeRay's GetK8sJobCommand): blanks separate words; '...' is literal; "..." and \ escape. */
export function shlexSplit(s: string): string[] {
  const out: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i] as string;
    if (/\s/.test(ch)) {
      if (word !== undefined) out.push(word);
      word = undefined;
    } else if (ch === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) throw new Error('EOF found when expecting closing quote');
      word = (word ?? '') + s.slice(i + 1, end);
      i = end;
    } else if (ch === '"') {
      word ??= '';
      for (i++; ; i++) {
        if (i >= s.length) throw new Error('EOF found when expecting closing quote');
        const d = s[i] as string;
        if (d === '"') break;
        if (d === '\\' && i + 1 < s.length && '"\\$`\n'.includes(s[i + 1] as string)) word += s[++i] as string;
        else word += d;
      }
    } else if (ch === '\\') {
      if (i + 1 >= s.length) throw new Error('EOF found after escape character');
      word = (word ?? '') + (s[++i] as string);
    } else if (ch === '#' && word === undefined) {
      break;
    } else word = (word ?? '') + ch;
  }
  if (word !== undefined) out.push(word);
  return out;
}

const gpuLimit = (ct: Json | undefined): number => parseQuantity(((((ct?.resources as Json | undefined)?.limits ?? {}) as Json)['nvidia.com/gpu'] as string | undefined) ?? 0);

/** `ray start` for a head or worker container: rayStartParams as `--key=value`, num-gpus from the GPU limit, --block. */
function rayStart(params: Json, ct: Json | undefined, head: boolean, gcs: string): string {
  const p: Record<string, string> = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)]));
  if (p['num-gpus'] === undefined && gpuLimit(ct) > 0) p['num-gpus'] = String(gpuLimit(ct));
  if (head) {
    p['dashboard-host'] ??= '0.0.0.0';
    p['metrics-export-port'] ??= '8080';
  } else p.address ??= gcs;
  p.block = 'true';
  const args = Object.entries(p).map(([k, v]) => (k === 'block' ? '--block' : `--${k}=${v}`));
  return `ulimit -n 65536; ray start${head ? ' --head' : ''} ${args.join(' ')}`;
}

function rayClusters(host: RayHost, t: ResourceType): void {
  const c = host.c;
  const podType = c.type('', 'pods');
  const svcType = c.type('', 'services');
  for (const rc of c.store.list(t)) {
    const m = meta(rc);
    if (m.deletionTimestamp) continue;
    const ns = String(m.namespace);
    const name = String(m.name);
    const spec = (rc.spec ?? {}) as Json;
    const headSpec = (spec.headGroupSpec ?? {}) as Json;
    const owner = { apiVersion: rc.apiVersion, kind: 'RayCluster', name, uid: m.uid, controller: true, blockOwnerDeletion: true };
    const svcName = String(((headSpec.headService as Json | undefined)?.metadata as Json | undefined)?.name ?? `${name}-head-svc`);
    const base = { 'ray.io/cluster': name, 'app.kubernetes.io/name': 'kuberay', 'app.kubernetes.io/created-by': 'kuberay-operator' };
    const headLabels = { ...base, 'ray.io/node-type': 'head', 'ray.io/group': 'headgroup', 'ray.io/identifier': `${name}-head`, 'ray.io/is-ray-node': 'yes' };
    const gcs = `${svcName}.${ns}.svc.cluster.local:${DEFAULT_PORTS.redis}`;
    if (!c.store.get(svcType, ns, svcName)) {
      try {
        c.createObject(svcType, {
          apiVersion: 'v1', kind: 'Service',
          metadata: { name: svcName, namespace: ns, labels: { ...base, 'ray.io/node-type': 'head', 'ray.io/identifier': `${name}-head` }, ownerReferences: [owner] },
          spec: { type: String(headSpec.serviceType ?? 'ClusterIP'), selector: { 'ray.io/cluster': name, 'ray.io/node-type': 'head', 'ray.io/identifier': `${name}-head` }, ports: Object.entries(DEFAULT_PORTS).map(([n, port]) => ({ name: n, port, protocol: 'TCP', appProtocol: 'tcp', targetPort: port })) },
        }, 'ray-operator');
      } catch {
        /* the namespace is going */
      }
    }
    const pods = host.ownedBy(rc, '', 'pods').filter((p) => !meta(p).deletionTimestamp);
    const withEnv = (ct: Json, env: Json[]): Json[] => [...env.filter((e) => !((ct.env as Json[] | undefined) ?? []).some((x) => x.name === e.name)), ...((ct.env as Json[] | undefined) ?? [])];
    const make = (tpl: Json, podName: string, labels: Record<string, string>, head: boolean, params: Json): void => {
      const ps = structuredClone(((tpl.spec ?? {}) as Json));
      const cts = (ps.containers as Json[] | undefined) ?? [];
      const ct = cts[0];
      if (ct) {
        const cmd = rayStart(params, ct, head, gcs);
        ct.command = ['/bin/bash', '-lc', '--'];
        ct.args = [cmd];
        ct.env = withEnv(ct, [
          { name: 'RAY_CLUSTER_NAME', valueFrom: { fieldRef: { fieldPath: "metadata.labels['ray.io/cluster']" } } },
          { name: 'KUBERAY_GEN_RAY_START_CMD', value: cmd.replace(/^ulimit -n 65536; /, '') },
          ...(head ? [] : [{ name: 'RAY_ADDRESS', value: gcs }, { name: 'FQ_RAY_IP', value: `${svcName}.${ns}.svc.cluster.local` }]),
        ]);
      }
      host.createPod(rc, { ...tpl, metadata: { ...((tpl.metadata as Json | undefined) ?? {}), labels: { ...((((tpl.metadata as Json | undefined)?.labels) as Json | undefined) ?? {}), ...labels } } }, podName, {}, ps);
      host.event(rc, 'Normal', head ? 'CreatedHeadPod' : 'CreatedWorkerPod', `Created ${head ? 'head' : 'worker'} Pod ${ns}/${podName}`, 'raycluster-controller');
    };
    // head: one pod; a head pod that ended is deleted and created again
    const heads = pods.filter((p) => labelsOf(p)['ray.io/node-type'] === 'head');
    for (const p of heads.filter(terminal)) c.purge(podType, p);
    const headTpl = (headSpec.template ?? {}) as Json;
    if (!heads.some((p) => !terminal(p))) make(headTpl, `${name}-head-${rand5()}`, headLabels, true, (headSpec.rayStartParams ?? {}) as Json);
    // workers per group
    let ready = 0;
    let desired = 0;
    let minSum = 0;
    let maxSum = 0;
    let gpus = gpuLimit(((headTpl.spec as Json | undefined)?.containers as Json[] | undefined)?.[0]);
    let specChanged = false;
    const groups = structuredClone((spec.workerGroupSpecs as Json[] | undefined) ?? []);
    for (const g of groups) {
      const group = String(g.groupName);
      const min = Number(g.minReplicas ?? 0);
      const max = Number(g.maxReplicas ?? MAX_REPLICAS);
      const replicas = g.replicas === undefined ? min : Number(g.replicas);
      const want = spec.suspend === true ? 0 : min > max ? max : Math.min(Math.max(replicas, min), max);
      desired += want;
      minSum += min;
      maxSum = Math.min(MAX_REPLICAS, maxSum + max);
      const tpl = (g.template ?? {}) as Json;
      gpus += want * gpuLimit(((tpl.spec as Json | undefined)?.containers as Json[] | undefined)?.[0]);
      let mine = pods.filter((p) => labelsOf(p)['ray.io/node-type'] === 'worker' && labelsOf(p)['ray.io/group'] === group);
      const strategy = (g.scaleStrategy ?? {}) as Json;
      const toDelete = (strategy.workersToDelete as string[] | undefined) ?? [];
      if (toDelete.length) {
        for (const p of mine.filter((x) => toDelete.includes(String(meta(x).name)))) c.purge(podType, p);
        mine = mine.filter((x) => !toDelete.includes(String(meta(x).name)));
        strategy.workersToDelete = [];
        g.scaleStrategy = strategy;
        specChanged = true;
      }
      for (const p of mine.filter(terminal)) c.purge(podType, p);
      mine = mine.filter((p) => !terminal(p));
      const labels = { ...base, 'ray.io/node-type': 'worker', 'ray.io/group': group, 'ray.io/identifier': `${name}-worker`, 'ray.io/is-ray-node': 'yes' };
      for (let i = mine.length; i < want; i++) make(tpl, `${name}-${group}-worker-${rand5()}`, labels, false, (g.rayStartParams ?? {}) as Json);
      if (mine.length > want) {
        // the newest go first
        const extra = [...mine].sort((a, b) => String(meta(b).creationTimestamp).localeCompare(String(meta(a).creationTimestamp))).slice(0, mine.length - want);
        for (const p of extra) {
          c.purge(podType, p);
          host.event(rc, 'Normal', 'DeletedWorkerPod', `Deleted worker Pod ${ns}/${String(meta(p).name)}`, 'raycluster-controller');
        }
        mine = mine.filter((p) => !extra.includes(p));
      }
      ready += mine.filter((p) => phaseOf(p) === 'Running' && podReady(p)).length;
    }
    if (specChanged) {
      const cur = c.store.get(t, ns, name);
      if (cur) c.updateObject(t, cur, { ...cur, spec: { ...((cur.spec as Json) ?? {}), workerGroupSpecs: groups } }, 'ray-operator');
      continue;
    }
    const live = host.ownedBy(rc, '', 'pods').filter((p) => !meta(p).deletionTimestamp);
    const head = live.find((p) => labelsOf(p)['ray.io/node-type'] === 'head');
    const svc = c.store.get(svcType, ns, svcName);
    const st = structuredClone((rc.status ?? {}) as Json);
    const allRunning = live.length > 0 && live.every((p) => phaseOf(p) === 'Running' && podReady(p));
    const next: Json = {
      ...st,
      ...(allRunning ? { state: 'ready' } : {}),
      readyWorkerReplicas: ready,
      availableWorkerReplicas: ready,
      desiredWorkerReplicas: desired,
      minWorkerReplicas: minSum,
      maxWorkerReplicas: maxSum,
      desiredGPU: String(gpus),
      endpoints: Object.fromEntries(Object.entries(DEFAULT_PORTS).map(([k, v]) => [k, String(v)])),
      head: {
        ...(head ? { podName: meta(head).name, ...((head.status as Json | undefined)?.podIP ? { podIP: (head.status as Json).podIP } : {}) } : {}),
        serviceName: svcName,
        ...(svc ? { serviceIP: (svc.spec as Json).clusterIP } : {}),
      },
      observedGeneration: m.generation,
    };
    if (!same(st, { ...next, lastUpdateTime: st.lastUpdateTime })) {
      next.lastUpdateTime = now();
      c.updateObject(t, rc, { ...rc, status: next }, undefined);
    }
  }
}

function rayJobs(host: RayHost, t: ResourceType, rcType: ResourceType): void {
  const c = host.c;
  const jobType = c.type('batch', 'jobs');
  for (const rj of c.store.list(t)) {
    const m = meta(rj);
    const ns = String(m.namespace);
    const name = String(m.name);
    const finalizers = (m.finalizers as string[] | undefined) ?? [];
    if (m.deletionTimestamp) {
      // the finalizer stops the Ray job (the dashboard's stop call), then lets the RayJob go; its children follow it
      if (finalizers.includes(STOP_JOB_FINALIZER)) c.updateObject(t, rj, { ...rj, metadata: { ...m, finalizers: finalizers.filter((f) => f !== STOP_JOB_FINALIZER) } }, undefined);
      continue;
    }
    const spec = (rj.spec ?? {}) as Json;
    const st = structuredClone((rj.status ?? {}) as Json);
    const next: Json = { ...st };
    const dep = String(st.jobDeploymentStatus ?? '');
    const clusterName = String(st.rayClusterName ?? '');
    const rc = clusterName ? c.store.get(rcType, ns, clusterName) : undefined;
    const submitter = c.store.get(jobType, ns, name);
    const ownedSubmitter = submitter && ((meta(submitter).ownerReferences as Json[] | undefined) ?? []).some((r) => r.uid === m.uid) ? submitter : undefined;
    const owner = { apiVersion: rj.apiVersion, kind: 'RayJob', name, uid: m.uid, controller: true, blockOwnerDeletion: true };
    const deadline = (): boolean => {
      if (spec.activeDeadlineSeconds === undefined || !st.startTime || Date.now() < Date.parse(String(st.startTime)) + Number(spec.activeDeadlineSeconds) * 1000) return false;
      next.jobDeploymentStatus = 'Failed';
      next.reason = 'DeadlineExceeded';
      next.message = `The RayJob has passed the activeDeadlineSeconds. StartTime: ${String(st.startTime)}. ActiveDeadlineSeconds: ${String(spec.activeDeadlineSeconds)}`;
      return true;
    };
    const suspendIfAsked = (): boolean => {
      if (spec.suspend !== true) return false;
      if (rc) c.purge(rcType, rc);
      if (ownedSubmitter) c.purge(jobType, ownedSubmitter);
      next.jobDeploymentStatus = 'Suspended';
      next.jobStatus = '';
      return true;
    };
    if (dep === '') {
      if (!finalizers.includes(STOP_JOB_FINALIZER)) {
        c.updateObject(t, rj, { ...rj, metadata: { ...m, finalizers: [...finalizers, STOP_JOB_FINALIZER] } }, 'ray-operator');
        continue;
      }
      next.jobId = st.jobId || spec.jobId || `${name}-${rand5()}`;
      next.rayClusterName = st.rayClusterName || `${name}-raycluster-${rand5()}`;
      next.jobStatus = st.jobStatus ?? '';
      next.jobDeploymentStatus = 'Initializing';
      next.startTime = now();
    } else if (dep === 'Initializing') {
      if (!suspendIfAsked() && !deadline()) {
        let cluster = rc;
        if (!cluster) {
          const rcs = (spec.rayClusterSpec ?? {}) as Json;
          try {
            cluster = c.createObject(rcType, {
              apiVersion: 'ray.io/v1', kind: 'RayCluster',
              metadata: { name: clusterName, namespace: ns, labels: { ...((m.labels as Json | undefined) ?? {}), 'ray.io/originated-from-cr-name': name, 'ray.io/originated-from-crd': 'RayJob' }, ...(m.annotations ? { annotations: m.annotations } : {}), ownerReferences: [owner] },
              spec: structuredClone(rcs),
            }, 'ray-operator');
            host.event(rj, 'Normal', 'CreatedRayCluster', `Created RayCluster ${ns}/${clusterName}`, 'rayjob-controller');
          } catch (err) {
            host.event(rj, 'Warning', 'FailedToCreateRayCluster', `Failed to create RayCluster ${ns}/${clusterName}: ${(err as Error).message}`, 'rayjob-controller');
            continue;
          }
        }
        if ((cluster.status as Json | undefined)?.state !== 'ready') continue;
        const svcName = String(((cluster.status as Json).head as Json | undefined)?.serviceName ?? `${clusterName}-head-svc`);
        next.dashboardURL = `${svcName}.${ns}.svc.cluster.local:${DEFAULT_PORTS.dashboard}`;
        if (!ownedSubmitter) {
          if (submitter) {
            host.event(rj, 'Warning', 'FailedToCreateRayJobSubmitter', `Failed to create new Kubernetes Job ${ns}/${name}: jobs.batch "${name}" already exists`, 'rayjob-controller');
            continue;
          }
          let entry: string[];
          try {
            entry = shlexSplit(String(spec.entrypoint ?? ''));
          } catch (err) {
            host.event(rj, 'Warning', 'FailedToCreateRayJobSubmitter', `failed to split the entrypoint: ${(err as Error).message}`, 'rayjob-controller');
            continue;
          }
          const headImage = String(((((((cluster.spec as Json).headGroupSpec as Json | undefined)?.template as Json | undefined)?.spec as Json | undefined)?.containers as Json[] | undefined)?.[0]?.image) ?? '');
          const tpl: Json = structuredClone((spec.submitterPodTemplate as Json | undefined) ?? {
            spec: {
              containers: [{ name: 'ray-job-submitter', image: headImage, resources: { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m', memory: '200Mi' } } }],
              restartPolicy: 'Never',
            },
          });
          const ct = (((tpl.spec as Json).containers as Json[])[0] ?? {}) as Json;
          if (!((ct.command as string[] | undefined) ?? []).length) ct.command = ['ray', 'job', 'submit', '--address', `http://${String(next.dashboardURL)}`, '--submission-id', String(st.jobId), '--', ...entry];
          ct.env = [...((ct.env as Json[] | undefined) ?? []), { name: 'PYTHONUNBUFFERED', value: '1' }, { name: 'RAY_DASHBOARD_ADDRESS', value: next.dashboardURL }, { name: 'RAY_JOB_SUBMISSION_ID', value: st.jobId }];
          try {
            c.createObject(jobType, {
              apiVersion: 'batch/v1', kind: 'Job',
              metadata: { name, namespace: ns, labels: { 'ray.io/originated-from-cr-name': name, 'ray.io/originated-from-crd': 'RayJob', 'app.kubernetes.io/created-by': 'kuberay-operator' }, ownerReferences: [owner] },
              spec: { backoffLimit: Number(((spec.submitterConfig as Json | undefined)?.backoffLimit) ?? 2), template: tpl },
            }, 'ray-operator');
            host.event(rj, 'Normal', 'CreatedRayJobSubmitter', `Created Kubernetes Job ${ns}/${name}`, 'rayjob-controller');
          } catch (err) {
            host.event(rj, 'Warning', 'FailedToCreateRayJobSubmitter', `Failed to create new Kubernetes Job ${ns}/${name}: ${(err as Error).message}`, 'rayjob-controller');
            continue;
          }
        }
        next.jobDeploymentStatus = 'Running';
      }
    } else if (dep === 'Running') {
      if (!suspendIfAsked() && !deadline()) {
        if (!ownedSubmitter) continue;
        // what the dashboard says about the Ray job: the submitter follows it to its end
        const pods = host.ownedBy(ownedSubmitter, '', 'pods').sort((a, b) => String(meta(a).creationTimestamp).localeCompare(String(meta(b).creationTimestamp)));
        const pod = pods[pods.length - 1];
        let jobStatus = String(st.jobStatus ?? '');
        let message = st.message;
        if (pod) {
          const cs = ((((pod.status as Json | undefined)?.containerStatuses as Json[] | undefined) ?? [])[0] ?? {}) as Json;
          const done = ((cs.state as Json | undefined)?.terminated as Json | undefined);
          if (phaseOf(pod) === 'Succeeded') {
            jobStatus = 'SUCCEEDED';
            message = 'Job finished successfully.';
          } else if (phaseOf(pod) === 'Failed') {
            jobStatus = 'FAILED';
            message = `Job entrypoint command failed with exit code ${String(done?.exitCode ?? 1)}`;
          } else if (phaseOf(pod) === 'Running') {
            jobStatus = 'RUNNING';
            message = 'Job is currently running.';
          } else if (!jobStatus) {
            jobStatus = 'PENDING';
            message = 'Job has not started yet. It may be waiting for resources (CPUs, GPUs, memory, custom resources) to become available.';
          }
        }
        next.jobStatus = jobStatus;
        if (message !== undefined) next.message = message;
        if (rc) next.rayClusterStatus = rc.status ?? {};
        const failedCond = jobTrue(ownedSubmitter, 'Failed');
        const finished = failedCond !== undefined || jobTrue(ownedSubmitter, 'Complete') !== undefined;
        if (failedCond) {
          next.jobDeploymentStatus = 'Failed';
          if (jobStatus === 'FAILED') next.reason = 'AppFailed';
          else {
            next.reason = 'SubmissionFailed';
            next.message = `Job submission has failed. Reason: ${String(failedCond.reason)}. Message: ${String(failedCond.message)}`;
          }
        } else if (finished && ['SUCCEEDED', 'FAILED', 'STOPPED'].includes(jobStatus)) {
          next.jobDeploymentStatus = jobStatus === 'FAILED' ? 'Failed' : 'Complete';
          if (jobStatus === 'FAILED') next.reason = 'AppFailed';
        }
      }
    } else if (dep === 'Suspended') {
      if (spec.suspend !== true) {
        next.jobDeploymentStatus = '';
        next.jobStatus = '';
        delete next.dashboardURL;
        delete next.startTime;
      }
    } else if (dep === 'Complete' || dep === 'Failed') {
      if (spec.shutdownAfterJobFinishes === true && !spec.clusterSelector && rc && st.endTime && Date.now() >= Date.parse(String(st.endTime)) + Number(spec.ttlSecondsAfterFinished ?? 0) * 1000) {
        c.purge(rcType, rc);
        host.event(rj, 'Normal', 'DeletedRayCluster', `Deleted cluster ${ns}/${clusterName}`, 'rayjob-controller');
      }
      continue;
    }
    if ((next.jobDeploymentStatus === 'Complete' || next.jobDeploymentStatus === 'Failed') && next.jobDeploymentStatus !== dep) next.endTime = now();
    if (next.jobDeploymentStatus === '') delete next.jobDeploymentStatus;
    if (next.jobStatus === '') delete next.jobStatus;
    next.observedGeneration = m.generation;
    if (!same(st, next)) {
      const cur = c.store.get(t, ns, name);
      if (cur) c.updateObject(t, cur, { ...cur, status: next }, undefined);
    }
  }
}

export function reconcileRay(host: RayHost): void {
  const c = host.c;
  const rcType = c.types.find((x) => x.group === RAY_GROUP && x.resource === 'rayclusters');
  const rjType = c.types.find((x) => x.group === RAY_GROUP && x.resource === 'rayjobs');
  if (rcType && rjType) rayJobs(host, rjType, rcType);
  if (rcType) rayClusters(host, rcType);
}
