// The simulated kubelet: a scheduled pod on a Ready node starts after the start delay (or stays
// Pending with ImagePullBackOff when an `imagePull` fault rule or failImagePulls matches its image),
// runs, writes log lines over its run, and its containers exit with a code. How long a container runs,
// what it prints and how it exits come from the sandbox's `podExit` fault rules (tests set them), never
// from the pod's own fields; without a rule a run-to-completion pod prints a few lines and exits 0 after
// the cluster's job run time (or 1 for a Job failJob names). Exited containers of `OnFailure` and
// `Always` pods restart in place (restartCount, lastState, `--previous` logs).
import { createHash, randomBytes } from 'node:crypto';
import type { ImagePullFault, PodExitFault, PodMatch } from '../faults.js';
import type { KubeCluster } from './cluster.js';
import { matchLabelSelector, podReady } from './cluster.js';
import type { LogLine } from './logs.js';
import { meta, type Json } from './store.js';

export interface PodClock {
  scheduledAt?: number;
  startedAt?: number;
  /** This container instance's run: how long, and its exit code. */
  runMs?: number;
  exitCode?: number;
}

export interface KubeletHost {
  c: KubeCluster;
  delays: { startMs: number; jobRunMs: number };
  clock: Map<string, PodClock>;
  event(obj: Json, type: 'Normal' | 'Warning', reason: string, message: string, component?: string): void;
}

const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const terminal = (p: Json): boolean => ['Succeeded', 'Failed'].includes(String((p.status as Json | undefined)?.phase));
export const COMPLETION_INDEX = 'batch.kubernetes.io/job-completion-index';

/** Whether a fault rule's pod match holds for this pod (every given key). */
export function podMatches(m: PodMatch | undefined, cluster: string, pod: Json): boolean {
  if (!m) return true;
  const md = meta(pod);
  if (m.cluster !== undefined && m.cluster !== cluster && !cluster.endsWith(`_${m.cluster}`)) return false;
  if (m.namespace !== undefined && m.namespace !== md.namespace) return false;
  if (m.labelSelector !== undefined && !matchLabelSelector(m.labelSelector, (md.labels ?? {}) as Record<string, string>)) return false;
  if (m.image !== undefined) {
    const re = new RegExp(m.image);
    if (!(((pod.spec as Json).containers as Json[] | undefined) ?? []).some((c) => re.test(String(c.image)))) return false;
  }
  return true;
}

function completionIndex(pod: Json): number | undefined {
  const v = ((meta(pod).annotations ?? {}) as Json)[COMPLETION_INDEX];
  return v === undefined ? undefined : Number(v);
}

/** The podExit rule for a container instance that starts now (spends a counted rule). */
export function podExitRule(c: KubeCluster, pod: Json): PodExitFault | undefined {
  const idx = completionIndex(pod);
  return c.faults.take('podExit', (r) => podMatches(r.match, c.name, pod) && (r.completionIndex === undefined || r.completionIndex === idx));
}

/** The image a fault says cannot be pulled, with the registry's reason. */
function unpullable(c: KubeCluster, pod: Json, containers: Json[]): { container: Json; reason: string } | undefined {
  for (const ct of containers) {
    if (c.clusterFaults.imagePull.some((re) => re.test(String(ct.image)))) return { container: ct, reason: 'not found' };
    const one = { ...pod, spec: { ...(pod.spec as Json), containers: [ct] } };
    const rule: ImagePullFault | undefined = c.faults.take('imagePull', (r) => podMatches(r.match, c.name, one), { peek: true });
    if (rule) return { container: ct, reason: rule.reason ?? 'not found' };
  }
  return undefined;
}

function nodeIp(n: Json): string {
  return String((((n.status as Json | undefined)?.addresses as Json[] | undefined) ?? []).find((a) => a.type === 'InternalIP')?.address ?? '10.128.0.2');
}

function podIp(uid: string): string {
  const h = createHash('sha256').update(uid).digest();
  return `10.8.${h[0] ?? 0}.${((h[1] ?? 0) % 250) + 2}`;
}

function startLines(p: Json, c: Json): string[] {
  const cmd = [...((c.command as string[] | undefined) ?? []), ...((c.args as string[] | undefined) ?? [])];
  const lines = [`Starting ${String(c.name)} (image ${String(c.image)}) on ${String((p.spec as Json).nodeName)}`];
  if (cmd.length) lines.push(`$ ${cmd.join(' ')}`);
  return lines;
}

function runsToEnd(p: Json): boolean {
  const rp = (p.spec as Json).restartPolicy;
  return rp === 'Never' || rp === 'OnFailure';
}

/** Plan one container instance's run and write its log lines at their times. */
function plan(host: KubeletHost, p: Json, containers: Json[], restarted: boolean): PodClock {
  const m = meta(p);
  const rule = podExitRule(host.c, p);
  const owner = ((m.ownerReferences as Json[] | undefined) ?? []).find((r) => r.kind === 'Job');
  const jobKey = owner ? `${String(m.namespace)}/${String(owner.name)}` : undefined;
  const failJob = jobKey !== undefined && [...host.c.clusterFaults.failJobs].some((f) => (typeof f === 'string' ? f === jobKey : f.test(jobKey)));
  const start = Date.now();
  let runMs: number | undefined;
  let exitCode: number | undefined;
  if (rule) {
    runMs = rule.afterMs ?? host.delays.jobRunMs;
    exitCode = rule.exitCode ?? 0;
  } else if (runsToEnd(p)) {
    runMs = host.delays.jobRunMs;
    exitCode = failJob ? 1 : 0;
  }
  for (const c of containers) {
    const lines: LogLine[] = startLines(p, c).map((text) => ({ at: start, text }));
    if (rule) {
      const body = rule.log ?? [];
      body.forEach((text, i) => lines.push({ at: start + Math.floor(((runMs ?? 0) * (i + 1)) / (body.length + 1)), text }));
    } else if (runMs !== undefined) {
      ['step 1/3: loading', 'step 2/3: running', 'step 3/3: writing results'].forEach((text, i) => lines.push({ at: start + Math.floor((runMs * (i + 1)) / 4), text }));
      lines.push({ at: start + runMs, text: failJob ? `Error: ${String(c.name)} exited with code 1` : `${String(c.name)} completed successfully` });
    } else {
      lines.push({ at: start, text: `${String(c.name)} is ready` });
    }
    host.c.logs.start(`${String(m.namespace)}/${String(m.name)}/${String(c.name)}`, lines, restarted);
  }
  return { scheduledAt: host.clock.get(String(m.uid))?.scheduledAt, startedAt: start, runMs, exitCode };
}

const baseConds = (ready: boolean, reason?: string): Json[] => [
  { type: 'PodReadyToStartContainers', status: 'True', lastProbeTime: null, lastTransitionTime: now() },
  { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: now() },
  { type: 'Ready', status: ready ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: now(), ...(reason ? { reason } : {}) },
  { type: 'ContainersReady', status: ready ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: now(), ...(reason ? { reason } : {}) },
  { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now() },
];
const keepTimes = (prev: Json[] | undefined, next: Json[]): Json[] =>
  next.map((c) => {
    const o = (prev ?? []).find((x) => x.type === c.type);
    return o && o.status === c.status ? { ...c, lastTransitionTime: o.lastTransitionTime } : c;
  });
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export function runKubelet(host: KubeletHost): void {
  const c = host.c;
  const podType = c.type('', 'pods');
  const nodes = new Map(c.store.list(c.type('', 'nodes')).map((n) => [String(meta(n).name), n]));
  for (const p of c.store.list(podType)) {
    const spec = p.spec as Json;
    const m = meta(p);
    if (!spec.nodeName || m.deletionTimestamp) continue;
    const uid = String(m.uid);
    const node = nodes.get(String(spec.nodeName));
    const st = structuredClone((p.status ?? {}) as Json);
    const containers = (spec.containers as Json[] | undefined) ?? [];
    const key = (ct: Json): string => `${String(m.namespace)}/${String(m.name)}/${String(ct.name)}`;
    if (!node) {
      // the node went away (pool deleted or resized): the pod goes back to Pending
      if (terminal(p)) continue;
      const next = structuredClone(p);
      delete (next.spec as Json).nodeName;
      next.status = { phase: 'Pending', qosClass: st.qosClass };
      host.clock.delete(uid);
      c.updateObject(podType, p, next, undefined);
      continue;
    }
    const nodeReady = ((((node.status as Json | undefined)?.conditions as Json[] | undefined) ?? []).find((x) => x.type === 'Ready')?.status) === 'True';
    const clk = host.clock.get(uid) ?? { scheduledAt: Date.now() };
    host.clock.set(uid, clk);
    const phase = String(st.phase ?? 'Pending');
    if (phase === 'Pending') {
      if (!nodeReady || Date.now() - (clk.scheduledAt ?? 0) < host.delays.startMs) continue;
      const bad = unpullable(c, p, containers);
      if (bad) {
        const image = String(bad.container.image);
        const waitingFor = (ct: Json): Json => ({ name: ct.name, image: ct.image, imageID: '', ready: false, restartCount: 0, started: false, state: ct === bad.container ? { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}": ErrImagePull: failed to pull and unpack image "${image}": ${bad.reason}` } } : { waiting: { reason: 'PodInitializing' } } });
        const next = structuredClone(p);
        next.status = { ...st, phase: 'Pending', hostIP: nodeIp(node), startTime: st.startTime ?? now(), conditions: keepTimes(st.conditions as Json[] | undefined, baseConds(false, 'ContainersNotReady')), containerStatuses: containers.map(waitingFor) };
        if (!same({ ...st, conditions: undefined }, { ...(next.status as Json), conditions: undefined })) {
          c.updateObject(podType, p, next, undefined);
          host.event(p, 'Normal', 'Pulling', `Pulling image "${image}"`);
          host.event(p, 'Warning', 'Failed', `Failed to pull image "${image}": rpc error: code = NotFound desc = failed to pull and unpack image "${image}": ${bad.reason}`);
          host.event(p, 'Warning', 'Failed', 'Error: ErrImagePull');
          host.event(p, 'Normal', 'BackOff', `Back-off pulling image "${image}"`);
          host.event(p, 'Warning', 'Failed', 'Error: ImagePullBackOff');
        }
        continue;
      }
      Object.assign(clk, plan(host, p, containers, false));
      const next = structuredClone(p);
      next.status = {
        ...st, phase: 'Running', hostIP: nodeIp(node), hostIPs: [{ ip: nodeIp(node) }], podIP: podIp(uid), podIPs: [{ ip: podIp(uid) }], startTime: st.startTime ?? now(),
        conditions: baseConds(true),
        containerStatuses: containers.map((ct) => ({ name: ct.name, image: ct.image, imageID: `${String(ct.image)}@sha256:${createHash('sha256').update(String(ct.image)).digest('hex')}`, containerID: `containerd://${randomBytes(32).toString('hex')}`, ready: true, started: true, restartCount: 0, state: { running: { startedAt: now() } } })),
        qosClass: st.qosClass ?? 'BestEffort',
      };
      for (const ct of containers) {
        host.event(p, 'Normal', 'Pulled', `Container image "${String(ct.image)}" already present on machine`);
        host.event(p, 'Normal', 'Created', `Created container ${String(ct.name)}`);
        host.event(p, 'Normal', 'Started', `Started container ${String(ct.name)}`);
      }
      c.updateObject(podType, p, next, undefined);
      continue;
    }
    if (phase !== 'Running') continue;
    // readiness follows the node
    if (nodeReady !== podReady(p)) {
      const next = structuredClone(p);
      const ns = next.status as Json;
      ns.conditions = keepTimes(st.conditions as Json[] | undefined, baseConds(nodeReady, nodeReady ? undefined : 'ContainersNotReady'));
      for (const cs of (ns.containerStatuses as Json[] | undefined) ?? []) cs.ready = nodeReady;
      c.updateObject(podType, p, next, undefined);
      continue;
    }
    if (clk.runMs === undefined || clk.startedAt === undefined) {
      // a pod this kubelet did not start (e.g. after a restart of the sandbox process): plan it now
      if (clk.startedAt === undefined) Object.assign(clk, plan(host, p, containers, false));
      continue;
    }
    if (Date.now() - clk.startedAt < clk.runMs) continue;
    const exitCode = clk.exitCode ?? 0;
    for (const ct of containers) c.logs.end(key(ct));
    const terminated = (cs: Json): Json => ({ exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: (((cs.state as Json).running ?? {}) as Json).startedAt ?? now(), finishedAt: now(), containerID: cs.containerID });
    const restart = spec.restartPolicy === 'Always' || (spec.restartPolicy === 'OnFailure' && exitCode !== 0);
    const next = structuredClone(p);
    if (restart) {
      Object.assign(clk, plan(host, p, containers, true));
      next.status = {
        ...st,
        containerStatuses: ((st.containerStatuses as Json[] | undefined) ?? []).map((cs) => ({ ...cs, restartCount: Number(cs.restartCount ?? 0) + 1, lastState: { terminated: terminated(cs) }, state: { running: { startedAt: now() } }, containerID: `containerd://${randomBytes(32).toString('hex')}` })),
      };
      for (const ct of containers) host.event(p, 'Normal', 'Started', `Started container ${String(ct.name)}`);
      c.updateObject(podType, p, next, undefined);
      continue;
    }
    next.status = {
      ...st, phase: exitCode === 0 ? 'Succeeded' : 'Failed',
      conditions: keepTimes(st.conditions as Json[] | undefined, baseConds(false, 'PodCompleted')).map((x) => (x.type === 'PodReadyToStartContainers' ? { ...x, status: 'False' } : x)),
      containerStatuses: ((st.containerStatuses as Json[] | undefined) ?? []).map((cs) => ({ ...cs, ready: false, started: false, state: { terminated: terminated(cs) } })),
    };
    c.updateObject(podType, p, next, undefined);
  }
}
