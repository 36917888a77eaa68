// Simulated controllers: Deployment → ReplicaSet → Pods, StatefulSet, DaemonSet, Job, JobSet and
// Kueue (once their CRDs are installed), the scheduler (GPU resources, taints, node selectors), a
// kubelet (start, readiness, image-pull faults, job runs and their logs), ResourceQuota status,
// namespace deletion and the garbage collector.
// Level-triggered: a reconcile pass runs after every write and on a short ticker.
import { createHash, randomBytes } from 'node:crypto';
import type { KubeCluster } from './cluster.js';
import { podReady, podResources } from './cluster.js';
import { formatQuantity, parseQuantity } from './quantity.js';
import { meta, type Json } from './store.js';
import { reconcileJobs } from './controllers-batch.js';
import { reconcileJobSets } from './controllers-jobset.js';
import { reconcileRay } from './controllers-ray.js';
import { reconcileKueue } from './controllers-kueue.js';
import { runKubelet, type PodClock } from './kubelet.js';

export interface Delays {
  /** Scheduled pod → containers running and Ready. */
  startMs: number;
  /** How long a run-to-completion pod runs when no podExit fault rule says otherwise. */
  jobRunMs: number;
  /** Reconcile ticker. */
  tickMs: number;
}

const DEFAULT_DELAYS: Delays = { startMs: 150, jobRunMs: 300, tickMs: 50 };
const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const suffix = (): string => randomBytes(4).toString('hex').replace(/[0-9]/g, (d) => 'bcdfghjklm'[Number(d)] as string).slice(0, 5);
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
const terminal = (p: Json): boolean => ['Succeeded', 'Failed'].includes(String((p.status as Json | undefined)?.phase));

export class Controllers {
  readonly delays: Delays;
  private timer?: NodeJS.Timeout;
  private pending = false;
  readonly clock = new Map<string, PodClock>();
  private readonly eventCounts = new Map<string, Json>();

  constructor(
    readonly c: KubeCluster,
    delays: Partial<Delays> = {},
  ) {
    this.delays = { ...DEFAULT_DELAYS, ...delays };
  }

  start(): void {
    this.timer = setInterval(() => this.reconcile(), this.delays.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Run a pass soon (after the current request). */
  kick(): void {
    if (this.pending) return;
    this.pending = true;
    setImmediate(() => {
      this.pending = false;
      this.reconcile();
    });
  }

  private running = false;
  reconcile(): void {
    if (this.running) return;
    this.running = true;
    try {
      this.namespaces();
      this.garbage();
      this.deployments();
      this.replicaSets();
      this.statefulSets();
      this.daemonSets();
      this.ray();
      this.kueue();
      this.jobSets();
      this.jobs();
      this.scheduler();
      this.kubelet();
      this.quotas();
    } catch (err) {
      console.error(`[sandbox kubernetes ${this.c.name}] controller error:`, err);
    } finally {
      this.running = false;
    }
  }

  private t(group: string, resource: string): ReturnType<KubeCluster['type']> {
    return this.c.type(group, resource);
  }

  private write(group: string, resource: string, before: Json, after: Json): void {
    if (same(before, after)) return;
    const cur = this.c.store.get(this.t(group, resource), String(meta(after).namespace ?? ''), String(meta(after).name));
    if (!cur) return;
    this.c.updateObject(this.t(group, resource), cur, after, undefined);
  }

  /** Record an Event (deduplicated by object+reason+message: the count goes up). */
  event(obj: Json, type: 'Normal' | 'Warning', reason: string, message: string, component = 'kubelet'): void {
    const m = meta(obj);
    const ns = String(m.namespace ?? 'default');
    const key = `${String(m.uid)}|${reason}|${message}`;
    const evType = this.t('', 'events');
    const known = this.eventCounts.get(key);
    if (known) {
      const cur = this.c.store.get(evType, ns, String(meta(known).name));
      if (cur) {
        cur.count = Number(cur.count ?? 1) + 1;
        cur.lastTimestamp = now();
        this.c.store.put(evType, cur);
        return;
      }
    }
    const ev: Json = {
      apiVersion: 'v1', kind: 'Event',
      metadata: { name: `${String(m.name)}.${randomBytes(8).toString('hex')}`, namespace: ns, uid: randomBytes(16).toString('hex'), creationTimestamp: now() },
      involvedObject: { kind: obj.kind, namespace: m.namespace, name: m.name, uid: m.uid, apiVersion: obj.apiVersion, resourceVersion: m.resourceVersion },
      reason, message, type, count: 1, firstTimestamp: now(), lastTimestamp: now(),
      source: { component }, reportingComponent: component, reportingInstance: '',
    };
    if (!this.c.store.get(this.t('', 'namespaces'), '', ns)) return;
    this.c.store.put(evType, ev);
    this.eventCounts.set(key, ev);
  }

  ownedBy(owner: Json, group: string, resource: string): Json[] {
    const uid = meta(owner).uid;
    return this.c.store.list(this.t(group, resource), String(meta(owner).namespace ?? '')).filter((o) => ((meta(o).ownerReferences as Json[] | undefined) ?? []).some((r) => r.uid === uid));
  }

  private ownerRef(owner: Json): Json {
    return { apiVersion: owner.apiVersion, kind: owner.kind, name: meta(owner).name, uid: meta(owner).uid, controller: true, blockOwnerDeletion: true };
  }

  createPod(owner: Json, template: Json, name: string, extraLabels: Record<string, string> = {}, spec: Json = {}, annotations: Record<string, string> = {}): void {
    const tm = (template.metadata ?? {}) as Json;
    const ann = { ...((tm.annotations as Json | undefined) ?? {}), ...annotations };
    const pod: Json = {
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        name, namespace: meta(owner).namespace,
        labels: { ...((tm.labels as Json) ?? {}), ...extraLabels },
        ...(Object.keys(ann).length ? { annotations: ann } : {}),
        ownerReferences: [this.ownerRef(owner)],
      },
      spec: { ...structuredClone((template.spec ?? {}) as Json), ...spec },
    };
    try {
      this.c.createObject(this.t('', 'pods'), pod, `${String(owner.kind).toLowerCase()}-controller`);
    } catch (err) {
      const e = err as { message?: string; code?: number };
      this.event(owner, 'Warning', 'FailedCreate', `Error creating: ${e.message ?? String(err)}`, `${String(owner.kind).toLowerCase()}-controller`);
    }
  }

  // ---- namespaces and garbage collection --------------------------------------------------------

  private namespaces(): void {
    for (const ns of this.c.store.list(this.t('', 'namespaces'))) {
      if (!meta(ns).deletionTimestamp) continue;
      const name = String(meta(ns).name);
      for (const o of this.c.store.inNamespace(name)) this.c.store.remove({ group: o.group, resource: o.resource }, name, String(meta(o.object).name));
      this.c.purge(this.t('', 'namespaces'), ns);
    }
  }

  private garbage(): void {
    const uids = new Set(this.c.store.all().map((o) => String(meta(o.object).uid)));
    for (const o of this.c.store.all()) {
      const refs = (meta(o.object).ownerReferences as Json[] | undefined) ?? [];
      if (refs.length && refs.every((r) => !uids.has(String(r.uid)))) {
        const t = this.c.types.find((x) => x.group === o.group && x.resource === o.resource);
        if (t) this.c.purge(t, structuredClone(o.object));
      }
    }
  }

  // ---- workloads ----------------------------------------------------------------------------------

  private deployments(): void {
    for (const d of this.c.store.list(this.t('apps', 'deployments'))) {
      if (meta(d).deletionTimestamp) continue;
      const spec = d.spec as Json;
      const template = structuredClone(spec.template as Json);
      const hash = createHash('sha256').update(JSON.stringify(template)).digest('hex').slice(0, 10).replace(/[0-9]/g, (x) => 'bcdfghjklm'[Number(x)] as string);
      const rsName = `${String(meta(d).name)}-${hash}`;
      const owned = this.ownedBy(d, 'apps', 'replicasets');
      const replicas = Number(spec.replicas ?? 1);
      let rs = owned.find((r) => meta(r).name === rsName);
      const revision = String(Math.max(0, ...owned.map((r) => Number(((meta(r).annotations ?? {}) as Json)['deployment.kubernetes.io/revision'] ?? 0))) + (rs ? 0 : 1));
      if (!rs) {
        const tm = ((template.metadata ??= {}) as Json);
        tm.labels = { ...((tm.labels as Json) ?? {}), 'pod-template-hash': hash };
        const selector = structuredClone((spec.selector ?? {}) as Json);
        selector.matchLabels = { ...((selector.matchLabels as Json) ?? {}), 'pod-template-hash': hash };
        try {
          this.c.createObject(this.t('apps', 'replicasets'), {
            apiVersion: 'apps/v1', kind: 'ReplicaSet',
            metadata: { name: rsName, namespace: meta(d).namespace, labels: tm.labels, annotations: { 'deployment.kubernetes.io/revision': revision, 'deployment.kubernetes.io/desired-replicas': String(replicas) }, ownerReferences: [this.ownerRef(d)] },
            spec: { replicas, selector, template },
          }, 'deployment-controller');
          this.event(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${rsName} from 0 to ${replicas}`, 'deployment-controller');
        } catch {
          continue;
        }
        rs = this.c.store.get(this.t('apps', 'replicasets'), String(meta(d).namespace), rsName) as Json;
      }
      for (const r of owned) {
        const want = meta(r).name === rsName ? replicas : 0;
        if (Number((r.spec as Json).replicas) !== want) {
          const next = structuredClone(r);
          (next.spec as Json).replicas = want;
          this.c.updateObject(this.t('apps', 'replicasets'), r, next, undefined);
        }
      }
      const pods = owned.flatMap((r) => this.ownedBy(r, '', 'pods')).filter((p) => !terminal(p));
      const newPods = this.ownedBy(rs, '', 'pods').filter((p) => !terminal(p));
      const ready = pods.filter(podReady).length;
      const available = ready;
      const complete = newPods.length === replicas && newPods.filter(podReady).length === replicas && pods.length === replicas;
      const prevConds = ((d.status as Json | undefined)?.conditions as Json[] | undefined) ?? [];
      const cond = (type: string, status: string, reason: string, message: string): Json => {
        const prev = prevConds.find((c) => c.type === type);
        const changed = !prev || prev.status !== status;
        return { type, status, lastUpdateTime: prev && !changed && prev.reason === reason ? prev.lastUpdateTime : now(), lastTransitionTime: changed ? now() : prev.lastTransitionTime, reason, message };
      };
      const status: Json = {
        observedGeneration: meta(d).generation,
        replicas: pods.length,
        updatedReplicas: newPods.length,
        readyReplicas: ready,
        availableReplicas: available,
        ...(pods.length - available > 0 ? { unavailableReplicas: pods.length - available } : {}),
        conditions: [
          available >= replicas ? cond('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.') : cond('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.'),
          complete ? cond('Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${rsName}" has successfully progressed.`) : cond('Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${rsName}" is progressing.`),
        ],
      };
      for (const k of ['readyReplicas', 'availableReplicas', 'updatedReplicas', 'replicas']) if (status[k] === 0) delete status[k];
      const next = structuredClone(d);
      next.status = status;
      const cmp = (o: Json): unknown => ({ ...(o.status as Json), conditions: ((o.status as Json | undefined)?.conditions as Json[] | undefined)?.map((c) => [c.type, c.status, c.reason]) });
      if (!same(cmp(d), cmp(next))) this.write('apps', 'deployments', d, next);
    }
  }

  private replicaSets(): void {
    for (const rs of this.c.store.list(this.t('apps', 'replicasets'))) {
      if (meta(rs).deletionTimestamp) continue;
      const spec = rs.spec as Json;
      const want = Number(spec.replicas ?? 1);
      const pods = this.ownedBy(rs, '', 'pods').filter((p) => !terminal(p) && !meta(p).deletionTimestamp);
      for (let i = pods.length; i < want; i++) this.createPod(rs, spec.template as Json, `${String(meta(rs).name)}-${suffix()}`);
      if (pods.length > want) {
        const extra = [...pods].sort((a, b) => Number(!!(a.spec as Json).nodeName) - Number(!!(b.spec as Json).nodeName)).slice(0, pods.length - want);
        for (const p of extra) this.c.purge(this.t('', 'pods'), p);
      }
      const live = this.ownedBy(rs, '', 'pods').filter((p) => !terminal(p));
      const ready = live.filter(podReady).length;
      const status: Json = { replicas: live.length, fullyLabeledReplicas: live.length, readyReplicas: ready, availableReplicas: ready, observedGeneration: meta(rs).generation };
      if (!same(rs.status, status)) this.write('apps', 'replicasets', rs, { ...rs, status });
    }
  }

  private statefulSets(): void {
    for (const s of this.c.store.list(this.t('apps', 'statefulsets'))) {
      if (meta(s).deletionTimestamp) continue;
      const spec = s.spec as Json;
      const want = Number(spec.replicas ?? 1);
      const rev = `${String(meta(s).name)}-${createHash('sha256').update(JSON.stringify(spec.template)).digest('hex').slice(0, 10)}`;
      const pods = this.ownedBy(s, '', 'pods');
      const byName = new Map(pods.map((p) => [String(meta(p).name), p]));
      for (const p of pods) {
        const ord = Number(String(meta(p).name).split('-').pop());
        const outdated = ((meta(p).labels ?? {}) as Json)['controller-revision-hash'] !== rev;
        if (ord >= want || outdated) {
          this.c.purge(this.t('', 'pods'), p);
          byName.delete(String(meta(p).name));
          if (outdated) break;
        }
      }
      for (let i = 0; i < want; i++) {
        const name = `${String(meta(s).name)}-${i}`;
        if (byName.has(name)) {
          if (!podReady(byName.get(name) as Json) && spec.podManagementPolicy !== 'Parallel') break;
          continue;
        }
        this.createPod(s, spec.template as Json, name, { 'statefulset.kubernetes.io/pod-name': name, 'apps.kubernetes.io/pod-index': String(i), 'controller-revision-hash': rev }, { hostname: name, ...(spec.serviceName ? { subdomain: spec.serviceName } : {}) });
        if (spec.podManagementPolicy !== 'Parallel') break;
      }
      const live = this.ownedBy(s, '', 'pods');
      const updated = live.filter((p) => ((meta(p).labels ?? {}) as Json)['controller-revision-hash'] === rev);
      const ready = live.filter(podReady).length;
      const status: Json = {
        observedGeneration: meta(s).generation, replicas: live.length, readyReplicas: ready, currentReplicas: updated.length, updatedReplicas: updated.length,
        availableReplicas: ready, currentRevision: rev, updateRevision: rev, collisionCount: 0,
      };
      if (!same(s.status, status)) this.write('apps', 'statefulsets', s, { ...s, status });
    }
  }

  private daemonSets(): void {
    const nodes = this.c.store.list(this.t('', 'nodes'));
    for (const ds of this.c.store.list(this.t('apps', 'daemonsets'))) {
      if (meta(ds).deletionTimestamp) continue;
      const spec = ds.spec as Json;
      const tpl = (spec.template ?? {}) as Json;
      const eligible = nodes.filter((n) => fits(tpl.spec as Json, n, [], true).ok);
      const pods = this.ownedBy(ds, '', 'pods');
      for (const n of eligible) {
        if (pods.some((p) => (p.spec as Json).nodeName === meta(n).name)) continue;
        this.createPod(ds, tpl, `${String(meta(ds).name)}-${suffix()}`, {}, { nodeName: meta(n).name });
      }
      for (const p of pods) if (!eligible.some((n) => meta(n).name === (p.spec as Json).nodeName)) this.c.purge(this.t('', 'pods'), p);
      const live = this.ownedBy(ds, '', 'pods');
      const ready = live.filter(podReady).length;
      const status: Json = { observedGeneration: meta(ds).generation, desiredNumberScheduled: eligible.length, currentNumberScheduled: live.length, updatedNumberScheduled: live.length, numberReady: ready, numberAvailable: ready, numberMisscheduled: 0, ...(live.length - ready > 0 ? { numberUnavailable: live.length - ready } : {}) };
      if (!same(ds.status, status)) this.write('apps', 'daemonsets', ds, { ...ds, status });
    }
  }

  private jobs(): void {
    reconcileJobs(this);
  }

  private jobSets(): void {
    reconcileJobSets(this);
  }

  private ray(): void {
    reconcileRay(this);
  }

  private kueue(): void {
    reconcileKueue(this);
  }

  // ---- scheduler and kubelet ----------------------------------------------------------------------

  private scheduler(): void {
    const nodes = this.c.store.list(this.t('', 'nodes'));
    const pods = this.c.store.list(this.t('', 'pods'));
    for (const p of pods) {
      const spec = p.spec as Json;
      if (spec.nodeName || terminal(p) || meta(p).deletionTimestamp) continue;
      const reasons = new Map<string, number>();
      let chosen: Json | undefined;
      for (const n of nodes) {
        const r = fits(spec, n, pods.filter((x) => (x.spec as Json).nodeName === meta(n).name && !terminal(x)), false);
        if (r.ok) {
          chosen = n;
          break;
        }
        reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + 1);
      }
      const st = structuredClone((p.status ?? {}) as Json);
      if (chosen) {
        const next = structuredClone(p);
        (next.spec as Json).nodeName = meta(chosen).name;
        next.status = { ...st, phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now() }] };
        this.clock.set(String(meta(p).uid), { scheduledAt: Date.now() });
        this.c.updateObject(this.t('', 'pods'), p, next, undefined);
        // later pods of this same pass see this one on its node (no two get the node's last GPU)
        pods.push(next);
        this.event(p, 'Normal', 'Scheduled', `Successfully assigned ${String(meta(p).namespace)}/${String(meta(p).name)} to ${String(meta(chosen).name)}`, 'default-scheduler');
        continue;
      }
      const detail = [...reasons].sort((a, b) => a[0].localeCompare(b[0])).map(([r, n]) => `${n} ${r}`).join(', ');
      const message = nodes.length === 0 ? 'no nodes available to schedule pods' : `0/${nodes.length} nodes are available: ${detail}. preemption: 0/${nodes.length} nodes are available: ${nodes.length} Preemption is not helpful for scheduling.`;
      const cond = { type: 'PodScheduled', status: 'False', lastProbeTime: null, lastTransitionTime: now(), reason: 'Unschedulable', message };
      const prev = ((st.conditions as Json[] | undefined) ?? []).find((c) => c.type === 'PodScheduled');
      if (prev?.message === message && prev.status === 'False') continue;
      const next = structuredClone(p);
      next.status = { ...st, phase: 'Pending', conditions: [cond] };
      this.c.updateObject(this.t('', 'pods'), p, next, undefined);
      this.event(p, 'Warning', 'FailedScheduling', message, 'default-scheduler');
    }
  }

  private kubelet(): void {
    runKubelet(this);
  }

  private quotas(): void {
    for (const q of this.c.store.list(this.t('', 'resourcequotas'))) {
      const hard = (((q.spec as Json | undefined)?.hard ?? {}) as Json);
      const pods = this.c.store.list(this.t('', 'pods'), String(meta(q).namespace)).filter((p) => !terminal(p));
      const totals: Record<string, number> = { pods: pods.length };
      for (const p of pods) for (const [k, v] of Object.entries(podResources(p))) totals[k] = (totals[k] ?? 0) + v;
      const used: Json = {};
      for (const k of Object.keys(hard)) used[k] = formatQuantity(totals[k === 'cpu' || k === 'memory' ? `requests.${k}` : k] ?? 0, k);
      const status = { hard, used };
      if (!same(q.status, status)) this.write('', 'resourcequotas', q, { ...q, status });
    }
  }
}

/** Whether a pod fits a node (node selector, taints, GPU/cpu/memory). */
export function fits(spec: Json | undefined, node: Json, podsOnNode: Json[], ignoreResources: boolean): { ok: true } | { ok: false; reason: string } {
  const labels = (meta(node).labels ?? {}) as Json;
  const nspec = (node.spec ?? {}) as Json;
  const ready = ((((node.status as Json | undefined)?.conditions as Json[] | undefined) ?? []).find((c) => c.type === 'Ready')?.status) === 'True';
  const tolerations = ((spec?.tolerations as Json[] | undefined) ?? []);
  const taints = [...(((nspec.taints as Json[] | undefined) ?? [])), ...(ready ? [] : [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }])];
  if (nspec.unschedulable && !ignoreResources) return { ok: false, reason: 'node(s) were unschedulable' };
  const sel = (spec?.nodeSelector ?? {}) as Json;
  if (!Object.entries(sel).every(([k, v]) => labels[k] === v)) return { ok: false, reason: "node(s) didn't match Pod's node affinity/selector" };
  for (const taint of taints) {
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    const tolerated = tolerations.some((t) => (t.key === undefined && t.operator === 'Exists') || (t.key === taint.key && (t.operator === 'Exists' || t.value === taint.value) && (!t.effect || t.effect === taint.effect)));
    if (!tolerated) {
      return { ok: false, reason: `node(s) had untolerated taint {${String(taint.key)}: ${taint.value === undefined ? '' : String(taint.value)}}`.replace(': }', '}') };
    }
  }
  if (ignoreResources) return { ok: true };
  const alloc = (((node.status as Json | undefined)?.allocatable ?? {}) as Json);
  const want = podResources({ spec });
  const used: Record<string, number> = {};
  for (const p of podsOnNode) for (const [k, v] of Object.entries(podResources(p))) used[k] = (used[k] ?? 0) + v;
  for (const [k, v] of Object.entries(want)) {
    if (!k.startsWith('requests.') || v <= 0) continue;
    const res = k.slice('requests.'.length);
    const have = parseQuantity(alloc[res] ?? 0);
    if ((used[k] ?? 0) + v > have) return { ok: false, reason: `Insufficient ${res}` };
  }
  return { ok: true };
}
