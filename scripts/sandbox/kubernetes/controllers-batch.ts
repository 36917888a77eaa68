// The Job controller (batch/v1) and the TTL-after-finished controller, as Kubernetes 1.32 runs them:
// pods up to `parallelism` until `completions` succeed (NonIndexed), or one pod per completion index
// (Indexed: `batch.kubernetes.io/job-completion-index` annotation and label, JOB_COMPLETION_INDEX env,
// hostname `<job>-<index>`, `status.completedIndexes`); `backoffLimit` (failed pods, and container
// restarts under `restartPolicy: OnFailure`) and `activeDeadlineSeconds` end the Job Failed
// (BackoffLimitExceeded, DeadlineExceeded); `podFailurePolicy` rules (FailJob, Ignore, Count on exit
// codes and pod conditions; FailJob ends the Job with reason PodFailurePolicy); `suspend` (Suspended
// condition, active pods removed); `ttlSecondsAfterFinished` deletes a finished Job with its pods.
import { randomBytes } from 'node:crypto';
import type { KubeCluster } from './cluster.js';
import { podReady } from './cluster.js';
import { COMPLETION_INDEX } from './kubelet.js';
import { meta, type Json } from './store.js';

export interface BatchHost {
  c: KubeCluster;
  event(obj: Json, type: 'Normal' | 'Warning', reason: string, message: string, component?: string): void;
  ownedBy(owner: Json, group: string, resource: string): Json[];
  createPod(owner: Json, template: Json, name: string, extraLabels?: Record<string, string>, spec?: Json, annotations?: Record<string, string>): void;
}

const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const suffix = (): string => randomBytes(4).toString('hex').replace(/[0-9]/g, (d) => 'bcdfghjklm'[Number(d)] as string).slice(0, 5);
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
const phaseOf = (p: Json): string => String((p.status as Json | undefined)?.phase ?? 'Pending');
const terminal = (p: Json): boolean => ['Succeeded', 'Failed'].includes(phaseOf(p));

/** "0-2,4" from [0,1,2,4]. */
export function indexRanges(xs: number[]): string {
  const s = [...new Set(xs)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && (s[j + 1] as number) === (s[j] as number) + 1) j++;
    out.push(i === j ? String(s[i]) : `${String(s[i])}-${String(s[j])}`);
    i = j + 1;
  }
  return out.join(',');
}

interface PolicyVerdict {
  action: 'FailJob' | 'Ignore' | 'Count' | 'FailIndex';
  message?: string;
}

/** The first podFailurePolicy rule a failed pod matches (Count when none does). */
function policyFor(job: Json, pod: Json): PolicyVerdict {
  const rules = ((((job.spec as Json).podFailurePolicy as Json | undefined)?.rules as Json[] | undefined) ?? []);
  const statuses = (((pod.status as Json | undefined)?.containerStatuses as Json[] | undefined) ?? []);
  const conds = (((pod.status as Json | undefined)?.conditions as Json[] | undefined) ?? []);
  for (const [i, r] of rules.entries()) {
    const action = String(r.action) as PolicyVerdict['action'];
    const onExit = r.onExitCodes as Json | undefined;
    if (onExit) {
      const values = ((onExit.values as number[] | undefined) ?? []).map(Number);
      for (const cs of statuses) {
        if (onExit.containerName !== undefined && onExit.containerName !== cs.name) continue;
        const code = Number((((cs.state as Json | undefined)?.terminated as Json | undefined)?.exitCode) ?? 0);
        if (code === 0) continue;
        const hit = onExit.operator === 'NotIn' ? !values.includes(code) : values.includes(code);
        if (hit) return { action, message: `Container ${String(cs.name)} for pod ${String(meta(pod).namespace)}/${String(meta(pod).name)} failed with exit code ${code} matching ${action} rule at index ${i}` };
      }
      continue;
    }
    for (const pc of (r.onPodConditions as Json[] | undefined) ?? []) {
      if (conds.some((c) => c.type === pc.type && c.status === (pc.status ?? 'True'))) {
        return { action, message: `Pod ${String(meta(pod).namespace)}/${String(meta(pod).name)} has condition ${String(pc.type)} matching ${action} rule at index ${i}` };
      }
    }
  }
  return { action: 'Count' };
}

const cond = (type: string, reason: string, message: string): Json => ({ type, status: 'True', reason, message, lastProbeTime: now(), lastTransitionTime: now() });

export function reconcileJobs(host: BatchHost): void {
  const c = host.c;
  const jobType = c.type('batch', 'jobs');
  const podType = c.type('', 'pods');
  for (const j of c.store.list(jobType)) {
    const m = meta(j);
    if (m.deletionTimestamp) continue;
    const spec = j.spec as Json;
    const st = structuredClone((j.status ?? {}) as Json);
    const conds = ((st.conditions as Json[] | undefined) ?? []).filter((x) => x.type !== 'Suspended' || x.status === 'True' || spec.suspend !== true);
    const finishedCond = conds.find((x) => (x.type === 'Complete' || x.type === 'Failed') && x.status === 'True');
    // ttlSecondsAfterFinished: the finished Job goes, its pods with it (the garbage collector)
    if (finishedCond && spec.ttlSecondsAfterFinished !== undefined) {
      const at = Date.parse(String(finishedCond.lastTransitionTime ?? st.completionTime ?? now()));
      if (Date.now() - at >= Number(spec.ttlSecondsAfterFinished) * 1000) {
        c.purge(jobType, j);
        continue;
      }
    }
    const pods = host.ownedBy(j, '', 'pods').filter((p) => !meta(p).deletionTimestamp);
    const active = pods.filter((p) => !terminal(p));
    const succeededPods = pods.filter((p) => phaseOf(p) === 'Succeeded');
    const failedPods = pods.filter((p) => phaseOf(p) === 'Failed');
    const indexed = spec.completionMode === 'Indexed';
    const completions = Number(spec.completions ?? 1);
    const verdicts = failedPods.map((p) => ({ pod: p, v: policyFor(j, p) }));
    const counted = verdicts.filter((x) => x.v.action !== 'Ignore').length;
    const restarts = spec.template && ((spec.template as Json).spec as Json | undefined)?.restartPolicy === 'OnFailure'
      ? pods.reduce((n, p) => n + (((p.status as Json | undefined)?.containerStatuses as Json[] | undefined) ?? []).reduce((k, cs) => k + Number(cs.restartCount ?? 0), 0), 0)
      : 0;
    const doneIdx = indexed ? [...new Set(succeededPods.map((p) => Number(((meta(p).annotations ?? {}) as Json)[COMPLETION_INDEX])))].filter((x) => x < completions) : [];
    const succeeded = indexed ? doneIdx.length : succeededPods.length;
    const next: Json = { ...st, conditions: conds, active: active.length, ready: active.filter(podReady).length, terminating: 0, uncountedTerminatedPods: {} };
    if (!spec.suspend) next.startTime = st.startTime ?? now();
    if (succeeded) next.succeeded = succeeded;
    else delete next.succeeded;
    if (counted) next.failed = counted;
    else delete next.failed;
    if (indexed) next.completedIndexes = indexRanges(doneIdx);
    if (!active.length) delete next.active;
    if (!conds.length) delete next.conditions;
    const fail = (reason: string, message: string): void => {
      next.conditions = [...conds, cond('FailureTarget', reason, message), cond('Failed', reason, message)];
      for (const p of active) c.purge(podType, p);
      delete next.active;
      next.ready = 0;
      host.event(j, 'Warning', reason, message, 'job-controller');
    };
    if (!finishedCond) {
      const failJob = verdicts.find((x) => x.v.action === 'FailJob');
      if (spec.suspend === true) {
        for (const p of active) c.purge(podType, p);
        delete next.active;
        next.ready = 0;
        if (!conds.some((x) => x.type === 'Suspended' && x.status === 'True')) {
          next.conditions = [...conds.filter((x) => x.type !== 'Suspended'), cond('Suspended', 'JobSuspended', 'Job suspended')];
          host.event(j, 'Normal', 'Suspended', 'Job suspended', 'job-controller');
        }
      } else if (succeeded >= completions) {
        next.completionTime = now();
        next.conditions = [...conds, cond('SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods'), cond('Complete', 'CompletionsReached', 'Reached expected number of succeeded pods')];
        host.event(j, 'Normal', 'Completed', 'Job completed', 'job-controller');
      } else if (failJob) {
        fail('PodFailurePolicy', failJob.v.message ?? 'a pod failure policy rule matched');
      } else if (counted + restarts > Number(spec.backoffLimit ?? 6)) {
        fail('BackoffLimitExceeded', 'Job has reached the specified backoff limit');
      } else if (spec.activeDeadlineSeconds !== undefined && next.startTime && Date.now() - Date.parse(String(next.startTime)) >= Number(spec.activeDeadlineSeconds) * 1000) {
        fail('DeadlineExceeded', 'Job was active longer than specified deadline');
      } else {
        const resumed = conds.find((x) => x.type === 'Suspended' && x.status === 'True');
        if (resumed) {
          next.conditions = [...conds.filter((x) => x.type !== 'Suspended'), { ...cond('Suspended', 'JobResumed', 'Job resumed'), status: 'False' }];
          next.startTime = now();
          host.event(j, 'Normal', 'Resumed', 'Job resumed', 'job-controller');
        }
        const parallel = Number(spec.parallelism ?? 1);
        const tpl = spec.template as Json;
        if (indexed) {
          const busy = new Set(active.map((p) => Number(((meta(p).annotations ?? {}) as Json)[COMPLETION_INDEX])));
          let running = active.length;
          for (let i = 0; i < completions && running < parallel; i++) {
            if (busy.has(i) || doneIdx.includes(i)) continue;
            const name = `${String(m.name)}-${i}-${suffix()}`;
            const podSpec = structuredClone((tpl.spec ?? {}) as Json);
            podSpec.hostname = `${String(m.name)}-${i}`;
            podSpec.containers = ((podSpec.containers as Json[] | undefined) ?? []).map((ct) => ({
              ...ct,
              env: [...((ct.env as Json[] | undefined) ?? []).filter((e) => e.name !== 'JOB_COMPLETION_INDEX'), { name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: `metadata.annotations['${COMPLETION_INDEX}']` } } }],
            }));
            host.createPod(j, tpl, name, { [COMPLETION_INDEX]: String(i) }, podSpec, { [COMPLETION_INDEX]: String(i) });
            host.event(j, 'Normal', 'SuccessfulCreate', `Created pod: ${name}`, 'job-controller');
            running++;
          }
        } else {
          for (let n = active.length; n < parallel && succeeded + n < completions; n++) {
            const name = `${String(m.name)}-${suffix()}`;
            host.createPod(j, tpl, name);
            host.event(j, 'Normal', 'SuccessfulCreate', `Created pod: ${name}`, 'job-controller');
          }
        }
      }
    } else if (active.length) {
      for (const p of active) c.purge(podType, p);
    }
    if (!same(j.status ?? {}, next)) {
      const cur = c.store.get(jobType, String(m.namespace ?? ''), String(m.name));
      if (cur) c.updateObject(jobType, cur, { ...cur, status: next }, undefined);
    }
  }
}
