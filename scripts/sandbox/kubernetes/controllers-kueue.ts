// The Kueue controllers (kueue.x-k8s.io/v1beta1, kubernetes-sigs/kueue v0.10.1), when its
// CustomResourceDefinitions are installed (`operators.ts`). The shapes and words follow v0.10.1's
// apis/kueue/v1beta1 and pkg/ (jobframework, scheduler/flavorassigner, controller/core):
// - a batch/v1 Job, a JobSet or a KubeRay RayJob labelled `kueue.x-k8s.io/queue-name` (and not owned by another
//   object Kueue manages: a JobSet's child Jobs are the JobSet's) is held suspended (the webhook's
//   default) and gets a Workload `job-<name>-<hash>` / `jobset-<name>-<hash>` / `rayjob-<name>-<hash>` (SHA-1 of kind, group,
//   name, uid; label `kueue.x-k8s.io/job-uid`; owned by the job, so the garbage collector removes it
//   with the job) whose podSets are the pod templates with their counts (a Job's `main`: parallelism,
//   or completions when fewer; a JobSet's one per replicatedJob: replicas × parallelism; a RayJob's
//   `head` (1) and one per worker group: replicas × numOfHosts; its submitter is not a pod set here);
// - the workload's LocalQueue and ClusterQueue are checked in the workload controller's order
//   (QuotaReserved False, reason Inadmissible: `LocalQueue <lq> doesn't exist`, `ClusterQueue <cq>
//   doesn't exist`, `ClusterQueue <cq> is inactive` when a ResourceFlavor it names is missing);
// - the scheduler admits pending workloads of a ClusterQueue by priority then creation (StrictFIFO
//   stops at the first that does not fit, BestEffortFIFO, the default, tries the next): per pod set
//   and per resource group, the first flavor whose nominalQuota has room for every requested
//   resource (requests, limits where a request is missing) and whose nodeLabels agree with the pod's
//   nodeSelector; admission is status.admission {clusterQueue, podSetAssignments} with QuotaReserved
//   and Admitted True; one that does not fit gets QuotaReserved False, reason Pending, and the flavor
//   assigner's message (`couldn't assign flavors to pod set main: insufficient unused quota for
//   nvidia.com/gpu in flavor default-flavor, 1 more needed`);
// - an admitted workload's job is started as Kueue starts it: the flavor's nodeLabels merged into the
//   pod template's nodeSelector (its tolerations added), then spec.suspend false;
// - a finished job finishes its workload (Finished True, Succeeded or Failed, the job's own message),
//   which releases the quota; the next pending workload is admitted on the next pass;
// - ClusterQueue status (pendingWorkloads, reservingWorkloads, admittedWorkloads, flavorsReservation,
//   flavorsUsage, the Active condition) and LocalQueue status (the same counters, flavorsReservation,
//   flavorUsage, Active) as Kueue fills them.
// - eviction: a workload with Evicted True (a test's `evictWorkload`: reason Preempted, or
//   InactiveWorkload when spec.active is set false) loses its reservation as the job reconciler's
//   StopJob does: the job goes back to suspended (its pods go), status.admission is cleared,
//   QuotaReserved False (Pending, the eviction's message), Admitted False (NoReservation), Requeued
//   (True after a preemption, False while deactivated); an inactive workload is not scheduled; on
//   re-admission Evicted turns False, reason QuotaReserved, message `Previously: <message>`.
// Not simulated: cohorts and borrowing, preemption by the scheduler, admission checks, partial admission,
// the resource-in-use finalizer (the workload goes with its owner at once).
import { createHash } from 'node:crypto';
import type { KubeCluster } from './cluster.js';
import { formatQuantity, parseQuantity } from './quantity.js';
import { meta, type Json } from './store.js';

export const KUEUE_GROUP = 'kueue.x-k8s.io';
export const QUEUE_NAME_LABEL = 'kueue.x-k8s.io/queue-name';
export const JOB_UID_LABEL = 'kueue.x-k8s.io/job-uid';
const MANAGER = 'kueue-manager';
const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
const conditions = (o: Json | undefined): Json[] => (((o?.status as Json | undefined)?.conditions as Json[] | undefined) ?? []);
const isTrue = (o: Json | undefined, type: string): boolean => conditions(o).some((c) => c.type === type && c.status === 'True');

/** The order workloads were first seen in (creation order; creationTimestamp has whole seconds only). */
const firstSeen = new Map<string, number>();
function arrival(w: Json): number {
  const uid = String(meta(w).uid);
  if (!firstSeen.has(uid)) firstSeen.set(uid, firstSeen.size);
  return firstSeen.get(uid) as number;
}

export interface KueueHost {
  c: KubeCluster;
  event(obj: Json, type: 'Normal' | 'Warning', reason: string, message: string, component?: string): void;
}

/** A metav1.Condition set as apimeta.SetStatusCondition does: the transition time moves only when the status does. */
function setCondition(list: Json[], type: string, status: 'True' | 'False', reason: string, message: string, generation: unknown): Json[] {
  const prev = list.find((c) => c.type === type);
  const next: Json = { type, status, reason, message, lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : now(), ...(generation !== undefined ? { observedGeneration: generation } : {}) };
  return prev ? list.map((c) => (c.type === type ? next : c)) : [...list, next];
}

/** Kueue's workload name for an owner: `<kind>-<name>-<first 5 hex of sha1(kind, group, name, uid)>`. */
export function workloadName(kind: string, group: string, name: string, uid: string): string {
  const hash = createHash('sha1').update(`${kind}\n${group}\n${name}\n${uid}`).digest('hex').slice(0, 5);
  return `${`${kind.toLowerCase()}-${name}`.slice(0, 247)}-${hash}`;
}

/** Requests of one pod of a template: each container's requests, its limits where a request is missing (Kueue's UseLimitsAsMissingRequests). */
function podRequests(template: Json): Record<string, number> {
  const out: Record<string, number> = {};
  for (const ct of (((template.spec as Json | undefined)?.containers as Json[] | undefined) ?? [])) {
    const r = (ct.resources ?? {}) as Json;
    const req = { ...((r.limits as Json | undefined) ?? {}), ...((r.requests as Json | undefined) ?? {}) };
    for (const [k, v] of Object.entries(req)) out[k] = (out[k] ?? 0) + parseQuantity(v);
  }
  return out;
}

interface Owner {
  kind: 'Job' | 'JobSet' | 'RayJob';
  obj: Json;
  /** The pod templates the workload's podSets describe, with their counts. */
  podSets: { name: string; count: number; template: Json }[];
  finished?: { success: boolean; message: string };
}

function ownerOf(kind: 'Job' | 'JobSet' | 'RayJob', obj: Json): Owner {
  const spec = (obj.spec ?? {}) as Json;
  if (kind === 'RayJob') {
    // Kueue's rayjob integration: a pod set `head` (1) and one per worker group (replicas × numOfHosts)
    const rc = (spec.rayClusterSpec ?? {}) as Json;
    const head = ((rc.headGroupSpec as Json | undefined)?.template ?? {}) as Json;
    const groups = ((rc.workerGroupSpecs as Json[] | undefined) ?? []).map((g) => ({ name: String(g.groupName), count: Number(g.replicas ?? 1) * Number(g.numOfHosts ?? 1), template: structuredClone((g.template ?? {}) as Json) }));
    const st = (obj.status ?? {}) as Json;
    const done = st.jobDeploymentStatus === 'Complete' || st.jobDeploymentStatus === 'Failed';
    return { kind, obj, podSets: [{ name: 'head', count: 1, template: structuredClone(head) }, ...groups], ...(done ? { finished: { success: st.jobStatus === 'SUCCEEDED', message: String(st.message ?? '') } } : {}) };
  }
  if (kind === 'Job') {
    const parallelism = Number(spec.parallelism ?? 1);
    const count = spec.completions !== undefined ? Math.min(parallelism, Number(spec.completions)) : parallelism;
    const c = conditions(obj).find((x) => (x.type === 'Complete' || x.type === 'Failed') && x.status === 'True');
    return { kind, obj, podSets: [{ name: 'main', count, template: structuredClone((spec.template ?? {}) as Json) }], ...(c ? { finished: { success: c.type === 'Complete', message: String(c.message ?? '') } } : {}) };
  }
  const podSets = ((spec.replicatedJobs as Json[] | undefined) ?? []).map((rj) => {
    const jspec = ((rj.template as Json | undefined)?.spec ?? {}) as Json;
    const parallelism = Number(jspec.parallelism ?? 1);
    const per = jspec.completions !== undefined ? Math.min(parallelism, Number(jspec.completions)) : parallelism;
    return { name: String(rj.name), count: Number(rj.replicas ?? 1) * per, template: structuredClone((jspec.template ?? {}) as Json) };
  });
  const c = conditions(obj).find((x) => (x.type === 'Completed' || x.type === 'Failed') && x.status === 'True');
  return { kind, obj, podSets, ...(c ? { finished: { success: c.type === 'Completed', message: String(c.message ?? '') } } : {}) };
}

/** A pod set's assignment: per resource its flavor and the total it uses. */
interface Assignment {
  name: string;
  count: number;
  flavors: Record<string, string>;
  usage: Record<string, number>;
}

/** usage[flavor][resource] of the workloads holding quota in a ClusterQueue. */
type Usage = Map<string, Map<string, number>>;
const used = (u: Usage, flavor: string, res: string): number => u.get(flavor)?.get(res) ?? 0;
function add(u: Usage, a: Assignment[]): void {
  for (const ps of a) {
    for (const [res, v] of Object.entries(ps.usage)) {
      const f = ps.flavors[res] as string;
      const m = u.get(f) ?? new Map<string, number>();
      m.set(res, (m.get(res) ?? 0) + v);
      u.set(f, m);
    }
  }
}
function assignmentsOf(wl: Json): Assignment[] {
  const adm = ((wl.status as Json | undefined)?.admission ?? {}) as Json;
  return ((adm.podSetAssignments as Json[] | undefined) ?? []).map((p) => ({
    name: String(p.name), count: Number(p.count ?? 0), flavors: (p.flavors ?? {}) as Record<string, string>,
    usage: Object.fromEntries(Object.entries((p.resourceUsage ?? {}) as Json).map(([k, v]) => [k, parseQuantity(v)])),
  }));
}

/** Kueue's quantity for a resource in messages and status: cpu in cores (or m), memory binary, others decimal. */
const q = (res: string, v: number): string => formatQuantity(v, res);

/** The flavor assigner: every pod set's flavors, or the message of why not. */
function assign(cq: Json, flavors: Map<string, Json>, wl: Json, usage: Usage): { ok: true; assignments: Assignment[] } | { ok: false; message: string } {
  const groups = (((cq.spec as Json | undefined)?.resourceGroups as Json[] | undefined) ?? []);
  const out: Assignment[] = [];
  const tentative: Usage = new Map([...usage].map(([k, v]) => [k, new Map(v)]));
  const messages: string[] = [];
  for (const ps of (((wl.spec as Json | undefined)?.podSets as Json[] | undefined) ?? [])) {
    const count = Number(ps.count ?? 1);
    const per = podRequests((ps.template ?? {}) as Json);
    const want = Object.fromEntries(Object.entries(per).filter(([, v]) => v > 0).map(([k, v]) => [k, v * count]));
    const a: Assignment = { name: String(ps.name), count, flavors: {}, usage: want };
    const nodeSelector = ((((ps.template as Json | undefined)?.spec as Json | undefined)?.nodeSelector ?? {}) as Record<string, string>);
    const reasons: string[] = [];
    const uncovered = Object.keys(want).find((res) => !groups.some((g) => ((g.coveredResources as string[] | undefined) ?? []).includes(res)));
    if (uncovered) reasons.push(`resource ${uncovered} unavailable in ClusterQueue`);
    for (const g of uncovered ? [] : groups) {
      const covered = ((g.coveredResources as string[] | undefined) ?? []).filter((r) => want[r] !== undefined);
      if (!covered.length) continue;
      let chosen: string | undefined;
      const groupReasons: string[] = [];
      for (const fq of ((g.flavors as Json[] | undefined) ?? [])) {
        const fname = String(fq.name);
        const rf = flavors.get(fname);
        const labels = (((rf?.spec as Json | undefined)?.nodeLabels ?? {}) as Record<string, string>);
        if (Object.entries(labels).some(([k, v]) => nodeSelector[k] !== undefined && nodeSelector[k] !== v)) {
          groupReasons.push(`flavor ${fname} doesn't match node affinity`);
          continue;
        }
        const quotas = new Map(((fq.resources as Json[] | undefined) ?? []).map((r) => [String(r.name), parseQuantity(r.nominalQuota)]));
        const misses: string[] = [];
        for (const res of covered) {
          const val = want[res] as number;
          const nominal = quotas.get(res) ?? 0;
          const available = nominal - used(tentative, fname, res);
          if (val > nominal) misses.push(`insufficient quota for ${res} in flavor ${fname}, request > maximum capacity (${q(res, val)} > ${q(res, nominal)})`);
          else if (val > available) misses.push(`insufficient unused quota for ${res} in flavor ${fname}, ${q(res, val - Math.max(0, available))} more needed`);
        }
        if (!misses.length) {
          chosen = fname;
          break;
        }
        groupReasons.push(...misses);
      }
      if (!chosen) {
        reasons.push(...groupReasons);
        break;
      }
      for (const res of covered) a.flavors[res] = chosen;
    }
    if (reasons.length) {
      messages.push(`couldn't assign flavors to pod set ${a.name}: ${[...reasons].sort().join(', ')}`);
      continue;
    }
    add(tentative, [a]);
    out.push(a);
  }
  return messages.length ? { ok: false, message: messages.join('; ') } : { ok: true, assignments: out };
}

/** Merge the admitted flavors' nodeLabels (and tolerations) into a pod template, as Kueue's RunWithPodSetsInfo does. */
function injectFlavors(template: Json, a: Assignment | undefined, flavors: Map<string, Json>): Json {
  const tpl = structuredClone(template);
  const spec = ((tpl.spec ??= {}) as Json);
  for (const fname of new Set(Object.values(a?.flavors ?? {}))) {
    const fspec = ((flavors.get(fname)?.spec ?? {}) as Json);
    const labels = (fspec.nodeLabels ?? {}) as Json;
    if (Object.keys(labels).length) spec.nodeSelector = { ...((spec.nodeSelector as Json | undefined) ?? {}), ...labels };
    const tols = (fspec.tolerations as Json[] | undefined) ?? [];
    if (tols.length) spec.tolerations = [...((spec.tolerations as Json[] | undefined) ?? []), ...tols.filter((t) => !((spec.tolerations as Json[] | undefined) ?? []).some((x) => same(x, t)))];
  }
  return tpl;
}

export function reconcileKueue(host: KueueHost): void {
  const c = host.c;
  const find = (resource: string) => c.types.find((x) => x.group === KUEUE_GROUP && x.resource === resource);
  const wlType = find('workloads');
  const lqType = find('localqueues');
  const cqType = find('clusterqueues');
  const rfType = find('resourceflavors');
  if (!wlType || !lqType || !cqType || !rfType) return;
  const jobType = c.type('batch', 'jobs');
  const jsType = c.types.find((x) => x.group === 'jobset.x-k8s.io' && x.resource === 'jobsets');
  const rjType = c.types.find((x) => x.group === 'ray.io' && x.resource === 'rayjobs');
  const typeOf = (kind: unknown) => (kind === 'Job' ? jobType : kind === 'JobSet' ? jsType : kind === 'RayJob' ? rjType : undefined);

  // ---- the job reconciler: a Workload per queued job, held suspended until admitted; finished jobs finish it
  const owners: Owner[] = [];
  for (const j of c.store.list(jobType)) {
    // a Job owned by a JobSet is the JobSet's (Kueue manages the parent)
    if (((meta(j).ownerReferences as Json[] | undefined) ?? []).some((r) => r.kind === 'JobSet' || r.kind === 'RayJob')) continue;
    owners.push(ownerOf('Job', j));
  }
  for (const js of jsType ? c.store.list(jsType) : []) owners.push(ownerOf('JobSet', js));
  for (const rj of rjType ? c.store.list(rjType) : []) owners.push(ownerOf('RayJob', rj));
  const workloads = (): Json[] => c.store.list(wlType).map((w) => {
    arrival(w);
    return w;
  });
  for (const o of owners) {
    const m = meta(o.obj);
    const queue = ((m.labels ?? {}) as Json)[QUEUE_NAME_LABEL];
    if (m.deletionTimestamp || typeof queue !== 'string' || !queue) continue;
    const ns = String(m.namespace);
    const t = typeOf(o.kind);
    if (!t) continue;
    let wl = workloads().find((w) => meta(w).namespace === ns && ((meta(w).ownerReferences as Json[] | undefined) ?? []).some((r) => r.uid === m.uid));
    if (!wl) {
      if (o.finished) continue;
      // not admitted: the job stays (or goes back to) suspended, as Kueue's webhook and StopJob keep it
      if ((o.obj.spec as Json).suspend !== true) {
        const cur = c.store.get(t, ns, String(m.name));
        if (cur) c.updateObject(t, cur, { ...cur, spec: { ...(cur.spec as Json), suspend: true } }, undefined);
      }
      const group = o.kind === 'Job' ? 'batch' : o.kind === 'JobSet' ? 'jobset.x-k8s.io' : 'ray.io';
      try {
        wl = c.createObject(wlType, {
          apiVersion: `${KUEUE_GROUP}/v1beta1`, kind: 'Workload',
          metadata: {
            name: workloadName(o.kind, group, String(m.name), String(m.uid)), namespace: ns,
            labels: { [JOB_UID_LABEL]: String(m.uid) },
            ownerReferences: [{ apiVersion: o.obj.apiVersion, kind: o.kind, name: m.name, uid: m.uid, controller: true, blockOwnerDeletion: true }],
          },
          spec: { active: true, queueName: queue, priority: 0, podSets: o.podSets.map((p) => ({ name: p.name, count: p.count, template: p.template })) },
        }, MANAGER);
        host.event(o.obj, 'Normal', 'CreatedWorkload', `Created Workload: ${ns}/${String(meta(wl).name)}`, MANAGER);
      } catch {
        continue;
      }
    }
    if (o.finished && !isTrue(wl, 'Finished')) {
      const st = structuredClone((wl.status ?? {}) as Json);
      st.conditions = setCondition((st.conditions as Json[] | undefined) ?? [], 'Finished', 'True', o.finished.success ? 'Succeeded' : 'Failed', o.finished.message || (o.finished.success ? 'Job finished successfully' : 'Job failed'), meta(wl).generation);
      c.updateObject(wlType, wl, { ...wl, status: st }, undefined);
      host.event(o.obj, 'Normal', 'FinishedWorkload', `Workload '${ns}/${String(meta(wl).name)}' is declared finished`, MANAGER);
    }
  }

  // ---- queues: which ClusterQueue a workload's LocalQueue points at, whether it is active
  const flavors = new Map(c.store.list(rfType).filter((f) => !meta(f).deletionTimestamp).map((f) => [String(meta(f).name), f]));
  const cqs = new Map(c.store.list(cqType).filter((x) => !meta(x).deletionTimestamp).map((x) => [String(meta(x).name), x]));
  const missingFlavors = (cq: Json): string[] => [...new Set(((((cq.spec as Json | undefined)?.resourceGroups as Json[] | undefined) ?? []).flatMap((g) => ((g.flavors as Json[] | undefined) ?? []).map((f) => String(f.name)))))].filter((n) => !flavors.has(n));
  const lqOf = (w: Json): Json | undefined => c.store.get(lqType, String(meta(w).namespace), String((w.spec as Json).queueName ?? ''));
  const active = (w: Json): boolean => !isTrue(w, 'Finished') && !meta(w).deletionTimestamp;
  const reserved = (w: Json): boolean => isTrue(w, 'QuotaReserved');
  const writeStatus = (w: Json, st: Json): void => {
    if (same(w.status ?? {}, st)) return;
    const cur = c.store.get(wlType, String(meta(w).namespace), String(meta(w).name));
    if (cur) c.updateObject(wlType, cur, { ...cur, status: st }, undefined);
  };

  // ---- eviction: a deactivated workload is evicted; an evicted one that holds quota stops its job and requeues
  for (const w of workloads()) {
    if (!active(w) || !reserved(w)) continue;
    const gen = meta(w).generation;
    let st = structuredClone((w.status ?? {}) as Json);
    const inactive = (w.spec as Json).active === false;
    if (inactive && !isTrue(w, 'Evicted')) {
      st.conditions = setCondition((st.conditions as Json[] | undefined) ?? [], 'Evicted', 'True', 'InactiveWorkload', 'The workload is deactivated', gen);
      host.event(w, 'Normal', 'EvictedDueToInactiveWorkload', 'The workload is deactivated', MANAGER);
    }
    const ev = ((st.conditions as Json[] | undefined) ?? []).find((x) => x.type === 'Evicted' && x.status === 'True');
    if (!ev) continue;
    const ref = ((meta(w).ownerReferences as Json[] | undefined) ?? [])[0];
    const t = typeOf(ref?.kind);
    const job = t && ref ? c.store.get(t, String(meta(w).namespace), String(ref.name)) : undefined;
    if (t && job && meta(job).uid === ref?.uid && (job.spec as Json).suspend !== true) {
      c.updateObject(t, job, { ...job, spec: { ...(job.spec as Json), suspend: true } }, undefined);
      host.event(job, 'Normal', 'Stopped', String(ev.message), MANAGER);
    }
    st = { ...st };
    delete st.admission;
    let list = setCondition((st.conditions as Json[] | undefined) ?? [], 'QuotaReserved', 'False', 'Pending', String(ev.message), gen);
    list = setCondition(list, 'Admitted', 'False', 'NoReservation', 'The workload has no reservation', gen);
    list = setCondition(list, 'Requeued', inactive ? 'False' : 'True', String(ev.reason), String(ev.message), gen);
    st.conditions = list;
    writeStatus(w, st);
  }

  // ---- the scheduler, per ClusterQueue: quota held by admitted workloads, then the pending ones in order
  const byQueue = new Map<string, Json[]>();
  for (const w of workloads()) {
    if (!active(w) || reserved(w) || (w.spec as Json).active === false) continue;
    const lq = lqOf(w);
    const gen = meta(w).generation;
    const st = structuredClone((w.status ?? {}) as Json);
    const pend = (message: string): void => {
      st.conditions = setCondition((st.conditions as Json[] | undefined) ?? [], 'QuotaReserved', 'False', 'Inadmissible', message, gen);
      writeStatus(w, st);
    };
    if (!lq) {
      pend(`LocalQueue ${String((w.spec as Json).queueName)} doesn't exist`);
      continue;
    }
    const cqName = String((lq.spec as Json | undefined)?.clusterQueue ?? '');
    const cq = cqs.get(cqName);
    if (!cq) {
      pend(`ClusterQueue ${cqName} doesn't exist`);
      continue;
    }
    if (missingFlavors(cq).length) {
      pend(`ClusterQueue ${cqName} is inactive`);
      continue;
    }
    byQueue.set(cqName, [...(byQueue.get(cqName) ?? []), w]);
  }
  for (const [cqName, pending] of byQueue) {
    const cq = cqs.get(cqName) as Json;
    const usage: Usage = new Map();
    for (const w of workloads()) if (active(w) && reserved(w) && ((w.status as Json).admission as Json | undefined)?.clusterQueue === cqName) add(usage, assignmentsOf(w));
    const strict = (cq.spec as Json | undefined)?.queueingStrategy === 'StrictFIFO';
    const order = [...pending].sort((a, b) => Number((b.spec as Json).priority ?? 0) - Number((a.spec as Json).priority ?? 0)
      || String(meta(a).creationTimestamp).localeCompare(String(meta(b).creationTimestamp))
      || arrival(a) - arrival(b));
    for (const w of order) {
      const st = structuredClone((w.status ?? {}) as Json);
      const gen = meta(w).generation;
      const r = assign(cq, flavors, w, usage);
      if (!r.ok) {
        const message = r.message;
        const prev = conditions(w).find((x) => x.type === 'QuotaReserved');
        st.conditions = setCondition((st.conditions as Json[] | undefined) ?? [], 'QuotaReserved', 'False', 'Pending', message, gen);
        writeStatus(w, st);
        if (prev?.message !== message) host.event(w, 'Warning', 'Pending', message, MANAGER);
        // StrictFIFO: nothing behind the head is tried while the head waits
        if (strict) break;
        continue;
      }
      add(usage, r.assignments);
      st.admission = {
        clusterQueue: cqName,
        podSetAssignments: r.assignments.map((a) => ({ name: a.name, flavors: a.flavors, resourceUsage: Object.fromEntries(Object.entries(a.usage).map(([k, v]) => [k, q(k, v)])), count: a.count })),
      };
      let list = setCondition((st.conditions as Json[] | undefined) ?? [], 'QuotaReserved', 'True', 'QuotaReserved', `Quota reserved in ClusterQueue ${cqName}`, gen);
      list = setCondition(list, 'Admitted', 'True', 'Admitted', 'The workload is admitted', gen);
      const evicted = list.find((x) => x.type === 'Evicted' && x.status === 'True');
      if (evicted) list = setCondition(list, 'Evicted', 'False', 'QuotaReserved', `Previously: ${String(evicted.message)}`, gen);
      st.conditions = list;
      writeStatus(w, st);
      const waited = Math.round((Date.now() - Date.parse(String(meta(w).creationTimestamp))) / 1000);
      host.event(w, 'Normal', 'QuotaReserved', `Quota reserved in ClusterQueue ${cqName}, wait time since queued was ${waited}s`, MANAGER);
      host.event(w, 'Normal', 'Admitted', `Admitted by ClusterQueue ${cqName}, wait time since reservation was 0s`, MANAGER);
    }
  }

  // ---- start admitted jobs: the flavors' node labels into the pod templates, then unsuspend
  for (const w of workloads()) {
    if (!active(w) || !isTrue(w, 'Admitted')) continue;
    const ref = ((meta(w).ownerReferences as Json[] | undefined) ?? [])[0];
    const t = typeOf(ref?.kind);
    if (!t || !ref) continue;
    const job = c.store.get(t, String(meta(w).namespace), String(ref.name));
    if (!job || meta(job).uid !== ref.uid || (job.spec as Json).suspend !== true) continue;
    const as = assignmentsOf(w);
    const spec = structuredClone(job.spec as Json);
    if (ref.kind === 'Job') spec.template = injectFlavors((spec.template ?? {}) as Json, as.find((a) => a.name === 'main'), flavors);
    else if (ref.kind === 'RayJob') {
      const rc = structuredClone((spec.rayClusterSpec ?? {}) as Json);
      const hg = ((rc.headGroupSpec ??= {}) as Json);
      hg.template = injectFlavors((hg.template ?? {}) as Json, as.find((a) => a.name === 'head'), flavors);
      rc.workerGroupSpecs = ((rc.workerGroupSpecs as Json[] | undefined) ?? []).map((g) => ({ ...g, template: injectFlavors((g.template ?? {}) as Json, as.find((a) => a.name === g.groupName), flavors) }));
      spec.rayClusterSpec = rc;
    } else {
      spec.replicatedJobs = ((spec.replicatedJobs as Json[] | undefined) ?? []).map((rj) => {
        const tpl = structuredClone((rj.template ?? {}) as Json);
        const jspec = ((tpl.spec ??= {}) as Json);
        jspec.template = injectFlavors((jspec.template ?? {}) as Json, as.find((a) => a.name === rj.name), flavors);
        return { ...rj, template: tpl };
      });
    }
    spec.suspend = false;
    c.updateObject(t, job, { ...job, spec }, undefined);
    host.event(job, 'Normal', 'Started', `Admitted by clusterQueue ${String(((w.status as Json).admission as Json).clusterQueue)}`, MANAGER);
  }

  // ---- queue status, as the ClusterQueue and LocalQueue controllers fill it
  const all = workloads().filter(active);
  const cqOfWl = (w: Json): string | undefined => (((w.status as Json | undefined)?.admission as Json | undefined)?.clusterQueue as string | undefined) ?? (lqOf(w)?.spec as Json | undefined)?.clusterQueue as string | undefined;
  const totals = (ws: Json[], cq: Json | undefined, admittedOnly: boolean): Json[] => {
    const u: Usage = new Map();
    for (const w of ws) if (reserved(w) && (!admittedOnly || isTrue(w, 'Admitted'))) add(u, assignmentsOf(w));
    return ((((cq?.spec as Json | undefined)?.resourceGroups as Json[] | undefined) ?? []).flatMap((g) => ((g.flavors as Json[] | undefined) ?? []).map((f) => ({
      name: String(f.name),
      resources: ((f.resources as Json[] | undefined) ?? []).map((r) => ({ name: String(r.name), total: q(String(r.name), used(u, String(f.name), String(r.name))) })),
    }))));
  };
  for (const [name, cq] of cqs) {
    const mine = all.filter((w) => cqOfWl(w) === name);
    const missing = missingFlavors(cq);
    const st = structuredClone((cq.status ?? {}) as Json);
    const withBorrowed = (xs: Json[]): Json[] => xs.map((f) => ({ ...f, resources: (f.resources as Json[]).map((r) => ({ ...r, borrowed: '0' })) }));
    Object.assign(st, {
      flavorsReservation: withBorrowed(totals(mine, cq, false)),
      flavorsUsage: withBorrowed(totals(mine, cq, true)),
      pendingWorkloads: mine.filter((w) => !reserved(w)).length,
      reservingWorkloads: mine.filter(reserved).length,
      admittedWorkloads: mine.filter((w) => isTrue(w, 'Admitted')).length,
      conditions: missing.length
        ? setCondition((st.conditions as Json[] | undefined) ?? [], 'Active', 'False', 'FlavorNotFound', `Can't admit new workloads: references missing ResourceFlavor(s): [${missing.join(' ')}].`, meta(cq).generation)
        : setCondition((st.conditions as Json[] | undefined) ?? [], 'Active', 'True', 'Ready', 'Can admit new workloads', meta(cq).generation),
    });
    if (!same(cq.status ?? {}, st)) c.updateObject(cqType, cq, { ...cq, status: st }, undefined);
  }
  for (const lq of c.store.list(lqType)) {
    if (meta(lq).deletionTimestamp) continue;
    const ns = String(meta(lq).namespace);
    const cqName = String((lq.spec as Json | undefined)?.clusterQueue ?? '');
    const cq = cqs.get(cqName);
    const mine = all.filter((w) => meta(w).namespace === ns && (w.spec as Json).queueName === meta(lq).name);
    const ok = cq !== undefined && !missingFlavors(cq).length;
    const st = structuredClone((lq.status ?? {}) as Json);
    Object.assign(st, {
      pendingWorkloads: mine.filter((w) => !reserved(w)).length,
      reservingWorkloads: mine.filter(reserved).length,
      admittedWorkloads: mine.filter((w) => isTrue(w, 'Admitted')).length,
      flavorsReservation: totals(mine, cq, false),
      flavorUsage: totals(mine, cq, true),
      conditions: ok
        ? setCondition((st.conditions as Json[] | undefined) ?? [], 'Active', 'True', 'Ready', 'Can submit new workloads to clusterQueue', meta(lq).generation)
        : setCondition((st.conditions as Json[] | undefined) ?? [], 'Active', 'False', 'ClusterQueueIsInactive', "Can't submit new workloads to clusterQueue", meta(lq).generation),
    });
    if (!same(lq.status ?? {}, st)) c.updateObject(lqType, lq, { ...lq, status: st }, undefined);
  }
}
