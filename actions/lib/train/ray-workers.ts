/**
 * Scaling a KubeRay RayCluster's workers: the replicas of one worker group (the first unless named),
 * checked against what exists before anything changes, patched with the object's resourceVersion so a
 * concurrent change is never overwritten: KubeRay writes the RayCluster's status as it works, so a
 * conflict (409) reads the cluster again and tries once more, a few times. A count outside the group's minReplicas /
 * maxReplicas moves that bound too (KubeRay would otherwise hold the group inside them).
 */
import { ActionError } from '../errors.js';
import { isConflict } from '../http.js';
import type { KubeClient, KubeObject } from '../kubernetes/client.js';
import { OPERATORS } from './inputs.js';

export const RAY_CLUSTER = { apiVersion: OPERATORS.ray.apiVersion, kind: 'RayCluster' } as const;

type Json = Record<string, unknown>;

export interface ScaleResult {
  cluster: string;
  group: string;
  from: number;
  to: number;
  /** Bounds that moved with it, e.g. `maxReplicas 4 → 6`. */
  notes: string[];
}

const list = (names: string[]): string => (names.length ? names.join(', ') : 'none');

type Want = { namespace: string; cluster?: string; group?: string; replicas: number };

export async function scaleWorkers(kube: KubeClient, want: Want): Promise<ScaleResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await scaleOnce(kube, want);
    } catch (err) {
      if (!isConflict(err) || attempt >= 5) throw err;
    }
  }
}

async function scaleOnce(kube: KubeClient, want: Want): Promise<ScaleResult> {
  const where = `namespace ${want.namespace} on ${kube.config.context}`;
  if (!(await kube.serves(RAY_CLUSTER.apiVersion, RAY_CLUSTER.kind))) {
    throw new ActionError(`KubeRay is not installed on the cluster at ${kube.config.server} (it does not serve RayCluster in ${RAY_CLUSTER.apiVersion}); nothing was changed.`, { fix: `Install it once: ${OPERATORS.ray.install}` });
  }
  const clusters = await kube.list({ ...RAY_CLUSTER, namespace: want.namespace });
  const names = clusters.map((c) => c.metadata.name).sort();
  let rc: KubeObject | undefined;
  if (want.cluster) {
    rc = clusters.find((c) => c.metadata.name === want.cluster);
    if (!rc) throw new ActionError(`RayCluster ${want.cluster} does not exist in ${where}; RayClusters there: ${list(names)}. Nothing was changed.`, { fix: 'Name one of those with --cluster, or pick the namespace with -n.' });
  } else if (clusters.length === 1) {
    rc = clusters[0];
  } else {
    throw new ActionError(`${clusters.length ? `${clusters.length} RayClusters are` : 'No RayCluster is'} in ${where}${clusters.length ? `: ${list(names)}` : ''}; nothing was changed.`, { fix: clusters.length ? 'Name the one to scale with --cluster NAME.' : 'Pick the namespace with -n, or create the RayCluster first.' });
  }
  const cluster = rc as KubeObject;
  const groups = ((cluster.spec?.workerGroupSpecs as Json[] | undefined) ?? []).map((g) => ({ ...g }));
  const groupNames = groups.map((g) => String(g.groupName ?? ''));
  const i = want.group ? groupNames.indexOf(want.group) : 0;
  const g = groups[i];
  if (!g) {
    throw new ActionError(`RayCluster ${cluster.metadata.name} has ${want.group ? `no worker group ${want.group}` : 'no worker groups'}; its worker groups: ${list(groupNames)}. Nothing was changed.`, { fix: want.group ? 'Name one of those with --group.' : 'Add a workerGroupSpecs entry to the RayCluster first.' });
  }
  const from = Number(g.replicas ?? 0);
  const notes: string[] = [];
  if (g.maxReplicas !== undefined && want.replicas > Number(g.maxReplicas)) {
    notes.push(`maxReplicas ${String(g.maxReplicas)} → ${want.replicas}`);
    g.maxReplicas = want.replicas;
  }
  if (g.minReplicas !== undefined && want.replicas < Number(g.minReplicas)) {
    notes.push(`minReplicas ${String(g.minReplicas)} → ${want.replicas}`);
    g.minReplicas = want.replicas;
  }
  g.replicas = want.replicas;
  // A merge patch replaces the whole list; the resourceVersion makes the API server refuse it (409) if the RayCluster changed since it was read.
  await kube.mergePatch({ ...RAY_CLUSTER, namespace: want.namespace }, cluster.metadata.name, { metadata: { resourceVersion: cluster.metadata.resourceVersion }, spec: { workerGroupSpecs: groups } });
  return { cluster: cluster.metadata.name, group: groupNames[i] ?? '', from, to: want.replicas, notes };
}
