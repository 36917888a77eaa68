// The JobSet controller (jobset.x-k8s.io/v1alpha2, kubernetes-sigs/jobset), when its
// CustomResourceDefinition is installed (`operators.ts`): per replicatedJob `replicas` child Jobs
// named `<jobset>-<replicatedJob>-<index>` with the JobSet's labels and annotations
// (jobset-name, replicatedjob-name, job-index, job-global-index, replicatedjob-replicas,
// global-replicas, job-key) and the pods' `subdomain` set to the headless Service `<jobset>`
// (network.enableDNSHostnames, default true; `publishNotReadyAddresses`), so pod
// `<jobset>-<rjob>-<job>-<index>.<jobset>` resolves; `suspend` passed to the child Jobs (on resume
// with the template's nodeSelector and tolerations, so Kueue's flavor reaches the pods); status:
// replicatedJobsStatus, `Completed` (AllJobsCompleted) when every child Job completed, `Failed`
// (FailedJobs) when one failed (failurePolicy.maxRestarts 0), terminalState; ttlSecondsAfterFinished.
import { createHash } from 'node:crypto';
import type { KubeCluster } from './cluster.js';
import { meta, type Json } from './store.js';

export const JOBSET_GROUP = 'jobset.x-k8s.io';
const K = 'jobset.sigs.k8s.io';
const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export interface JobSetHost {
  c: KubeCluster;
  ownedBy(owner: Json, group: string, resource: string): Json[];
  event(obj: Json, type: 'Normal' | 'Warning', reason: string, message: string, component?: string): void;
}

const jobTrue = (j: Json, type: string): boolean => (((j.status as Json | undefined)?.conditions as Json[] | undefined) ?? []).some((c) => c.type === type && c.status === 'True');

export function reconcileJobSets(host: JobSetHost): void {
  const c = host.c;
  const t = c.types.find((x) => x.group === JOBSET_GROUP && x.resource === 'jobsets');
  if (!t) return;
  const jobType = c.type('batch', 'jobs');
  const svcType = c.type('', 'services');
  for (const js of c.store.list(t)) {
    const m = meta(js);
    if (m.deletionTimestamp) continue;
    const ns = String(m.namespace);
    const name = String(m.name);
    const spec = (js.spec ?? {}) as Json;
    const st = structuredClone((js.status ?? {}) as Json);
    const conds = (st.conditions as Json[] | undefined) ?? [];
    const terminal = conds.find((x) => (x.type === 'Completed' || x.type === 'Failed') && x.status === 'True');
    if (terminal && spec.ttlSecondsAfterFinished !== undefined && Date.now() - Date.parse(String(terminal.lastTransitionTime)) >= Number(spec.ttlSecondsAfterFinished) * 1000) {
      c.purge(t, js);
      continue;
    }
    const owner = { apiVersion: js.apiVersion, kind: 'JobSet', name, uid: m.uid, controller: true, blockOwnerDeletion: true };
    const network = (spec.network ?? {}) as Json;
    const subdomain = String(network.subdomain ?? name);
    const rjobs = (spec.replicatedJobs as Json[] | undefined) ?? [];
    const globalReplicas = rjobs.reduce((n, r) => n + Number(r.replicas ?? 1), 0);
    if (network.enableDNSHostnames !== false && !c.store.get(svcType, ns, subdomain)) {
      try {
        c.createObject(svcType, {
          apiVersion: 'v1', kind: 'Service',
          metadata: { name: subdomain, namespace: ns, labels: { [`${K}/jobset-name`]: name }, ownerReferences: [owner] },
          spec: { clusterIP: 'None', selector: { [`${K}/jobset-name`]: name }, publishNotReadyAddresses: true },
        }, 'jobset-controller');
      } catch {
        /* the namespace is going */
      }
    }
    const children = host.ownedBy(js, 'batch', 'jobs');
    let global = 0;
    const statuses: Json[] = [];
    for (const rj of rjobs) {
      const rname = String(rj.name);
      const replicas = Number(rj.replicas ?? 1);
      const mine = children.filter((j) => ((meta(j).labels ?? {}) as Json)[`${K}/replicatedjob-name`] === rname);
      for (let i = 0; i < replicas; i++, global++) {
        const jobName = `${name}-${rname}-${i}`;
        const existing = mine.find((j) => meta(j).name === jobName);
        const tpl = structuredClone((rj.template ?? {}) as Json);
        const jl: Record<string, string> = {
          [`${K}/jobset-name`]: name, [`${K}/jobset-uid`]: String(m.uid), [`${K}/replicatedjob-name`]: rname, [`${K}/replicatedjob-replicas`]: String(replicas),
          [`${K}/global-replicas`]: String(globalReplicas), [`${K}/job-index`]: String(i), [`${K}/job-global-index`]: String(global),
          // JobSet's job-key is the SHA-1 of namespace/name (40 hex characters: a label value may hold at most 63).
          [`${K}/job-key`]: createHash('sha1').update(`${ns}/${jobName}`).digest('hex'),
        };
        if (existing) {
          const want = spec.suspend === true;
          if (Boolean((existing.spec as Json).suspend) !== want && !jobTrue(existing, 'Complete') && !jobTrue(existing, 'Failed')) {
            const espec = structuredClone(existing.spec as Json);
            espec.suspend = want;
            if (!want) {
              // resuming: the pod template takes the replicatedJob's nodeSelector and tolerations (what Kueue's admission set)
              const from = ((((tpl.spec ?? {}) as Json).template ?? {}) as Json).spec as Json | undefined;
              const into = ((((espec.template ??= {}) as Json).spec ??= {}) as Json);
              for (const k of ['nodeSelector', 'tolerations']) if (from?.[k] !== undefined) into[k] = structuredClone(from[k]);
            }
            c.updateObject(jobType, existing, { ...existing, spec: espec }, 'jobset-controller');
          }
          continue;
        }
        if (terminal) continue;
        const jm = (tpl.metadata ?? {}) as Json;
        const jspec = (tpl.spec ?? {}) as Json;
        const ptpl = (jspec.template ?? {}) as Json;
        const pm = (ptpl.metadata ?? {}) as Json;
        const job: Json = {
          apiVersion: 'batch/v1', kind: 'Job',
          metadata: { name: jobName, namespace: ns, labels: { ...((jm.labels as Json) ?? {}), ...((m.labels as Json) ?? {}), ...jl }, annotations: { ...((jm.annotations as Json) ?? {}), ...jl }, ownerReferences: [owner] },
          spec: {
            ...jspec,
            suspend: spec.suspend === true,
            template: {
              ...ptpl,
              metadata: { ...pm, labels: { ...((pm.labels as Json) ?? {}), ...jl }, annotations: { ...((pm.annotations as Json) ?? {}), ...jl } },
              spec: { ...((ptpl.spec as Json) ?? {}), ...(network.enableDNSHostnames !== false ? { subdomain } : {}) },
            },
          },
        };
        try {
          c.createObject(jobType, job, 'jobset-controller');
        } catch (err) {
          host.event(js, 'Warning', 'JobCreationFailed', (err as Error).message, 'jobset-controller');
        }
      }
      const live = host.ownedBy(js, 'batch', 'jobs').filter((j) => ((meta(j).labels ?? {}) as Json)[`${K}/replicatedjob-name`] === rname);
      statuses.push({
        name: rname,
        ready: live.filter((j) => Number((j.status as Json | undefined)?.ready ?? 0) + Number((j.status as Json | undefined)?.succeeded ?? 0) >= Math.min(Number((j.spec as Json).parallelism ?? 1), Number((j.spec as Json).completions ?? 1))).length,
        succeeded: live.filter((j) => jobTrue(j, 'Complete')).length,
        failed: live.filter((j) => jobTrue(j, 'Failed')).length,
        active: live.filter((j) => !jobTrue(j, 'Complete') && !jobTrue(j, 'Failed') && Number((j.status as Json | undefined)?.active ?? 0) > 0).length,
        suspended: live.filter((j) => (j.spec as Json).suspend === true).length,
      });
    }
    const next: Json = { ...st, restarts: Number(st.restarts ?? 0), replicatedJobsStatus: statuses };
    const cond = (type: string, reason: string, message: string): Json => ({ type, status: 'True', reason, message, lastTransitionTime: now(), observedGeneration: m.generation });
    if (!terminal) {
      const failed = statuses.reduce((n, s) => n + Number(s.failed), 0);
      const succeeded = statuses.reduce((n, s) => n + Number(s.succeeded), 0);
      const suspended = conds.find((x) => x.type === 'Suspended');
      let list = conds;
      if (spec.suspend === true && suspended?.status !== 'True') list = [...conds.filter((x) => x.type !== 'Suspended'), cond('Suspended', 'SuspendedJobs', 'jobset is suspended')];
      if (spec.suspend !== true && suspended?.status === 'True') list = [...conds.filter((x) => x.type !== 'Suspended'), { ...cond('Suspended', 'ResumeJobs', 'jobset is resumed'), status: 'False' }];
      if (failed > 0) {
        list = [...list, cond('Failed', 'FailedJobs', 'jobset failed due to one or more job failures')];
        next.terminalState = 'Failed';
        host.event(js, 'Warning', 'FailedJobs', 'jobset failed due to one or more job failures', 'jobset-controller');
        // the other ranks stop: their Jobs go (the pods with them)
        for (const j of host.ownedBy(js, 'batch', 'jobs')) if (!jobTrue(j, 'Complete') && !jobTrue(j, 'Failed')) c.purge(jobType, j);
      } else if (globalReplicas > 0 && succeeded === globalReplicas) {
        list = [...list, cond('Completed', 'AllJobsCompleted', 'jobset completed successfully')];
        next.terminalState = 'Completed';
        host.event(js, 'Normal', 'AllJobsCompleted', 'jobset completed successfully', 'jobset-controller');
      }
      next.conditions = list;
      if (!list.length) delete next.conditions;
    }
    if (!same(js.status ?? {}, next)) c.updateObject(t, js, { ...js, status: next }, undefined);
  }
}
