/**
 * The cost-cleanup run: evaluate every rule, then (enforce) act on each candidate with a snapshot
 * confirmed complete before any delete. A failure on one resource is recorded and the run goes on;
 * the caller fails the step at the end when anything remains.
 */
import { deleteVersion } from '../google/artifactregistry.js';
import { deleteObject } from '../google/storage.js';
import type { ClusterRef } from '../google/container.js';
import { describeError } from '../errors.js';
import { destroyNodePool } from '../nodepool/destroy.js';
import { loadSnapshot, snapshotNodePool } from '../nodepool/snapshot.js';
import { info, warning } from '../runner.js';
import { deleteDisk, diskSnapshotName, snapshotDisk } from './disks.js';
import { listNodes, listPods, type KubeAccess } from './kube.js';
import { platformCost, type PlatformCost } from './platform.js';
import { round2, type PriceTable } from './pricing.js';
import { idleGpuPools, imageVersions, oldPoolSnapshots, unattachedDisks, type CleanupConfig, type Finding, type Rule } from './rules.js';

export type Mode = 'report' | 'enforce';

export interface CleanupReport {
  mode: Mode;
  project: string;
  cluster: string;
  location: string;
  generatedAt: string;
  findings: Finding[];
  notes: string[];
  ruleErrors: { rule: Rule; error: string }[];
  prices: Pick<PriceTable, 'source' | 'date' | 'region' | 'currency' | 'fallbackItems' | 'catalogError'>;
  /** Monthly cost of what was removed (enforce) or would be (report), less the snapshots kept. */
  savedPerMonth: number;
  /** Candidates still in place after enforce (failures), and rules that could not run. */
  remaining: string[];
  /** What the cluster cost when the run started (undefined when it could not be read). */
  platform?: PlatformCost;
}

export interface RunOptions {
  mode: Mode;
  /** How to reach the cluster's Kubernetes API (called once, when the idle rule runs). */
  kube: () => Promise<KubeAccess>;
  deadline: number;
  prices: PriceTable;
}

async function stillIdle(kube: KubeAccess, pool: string): Promise<string | undefined> {
  const [nodes, pods] = await Promise.all([listNodes(kube), listPods(kube)]);
  const names = new Set(nodes.filter((n) => n.labels['cloud.google.com/gke-nodepool'] === pool).map((n) => n.name));
  const busy = pods.find((p) => p.gpus > 0 && p.nodeName && names.has(p.nodeName) && p.phase !== 'Succeeded' && p.phase !== 'Failed');
  return busy ? `${busy.namespace}/${busy.name}` : undefined;
}

async function act(f: Finding, cfg: CleanupConfig, ref: ClusterRef, opts: RunOptions, kube: KubeAccess | undefined): Promise<void> {
  const t = f.target;
  if (t.kind === 'pool') {
    if (kube) {
      const busy = await stillIdle(kube, t.pool);
      if (busy) {
        f.action = 'protected';
        f.protectedBy = `became busy before the delete (${busy})`;
        return;
      }
    }
    const snap = await snapshotNodePool(ref, t.pool, cfg.bucket);
    // Confirm the snapshot is complete: read back, format and checksum verified.
    const confirmed = await loadSnapshot(cfg.bucket, ref.cluster, t.pool, snap.uri);
    f.snapshotUri = confirmed.uri;
    const result = await destroyNodePool(ref, t.pool, { force: false, deadline: opts.deadline });
    f.action = result.outcome === 'deleted' ? 'deleted' : 'already gone';
    return;
  }
  if (t.kind === 'disk') {
    const name = diskSnapshotName(t.disk.name);
    const snap = await snapshotDisk(cfg.ref.project, t.disk, name, { 'mlabs-cleanup': 'true', 'mlabs-keep': 'false' }, { deadline: opts.deadline });
    if (snap.status !== 'READY') throw new Error(`snapshot ${name} is ${snap.status}, not READY; the disk was left in place`);
    f.snapshotUri = snap.selfLink || `projects/${cfg.ref.project}/global/snapshots/${name}`;
    await deleteDisk(cfg.ref.project, t.disk, { deadline: opts.deadline });
    f.action = 'deleted';
    return;
  }
  if (t.kind === 'version') {
    f.action = (await deleteVersion(t.name, { force: true })) ? 'deleted' : 'already gone';
    return;
  }
  f.action = (await deleteObject(t.bucket, t.name, { ifGenerationMatch: t.generation })) ? 'deleted' : 'already gone';
}

export async function runCleanup(cfg: CleanupConfig, opts: RunOptions): Promise<CleanupReport> {
  const findings: Finding[] = [];
  const notes: string[] = [];
  const ruleErrors: CleanupReport['ruleErrors'] = [];
  let kube: KubeAccess | undefined;
  const rules: [Rule, () => Promise<{ findings: Finding[]; notes: string[] }>][] = [
    ['idle-gpu-pool', async () => idleGpuPools(cfg, (kube = await opts.kube()), opts.prices)],
    ['unattached-disk', () => unattachedDisks(cfg, opts.prices)],
    ['image-retention', () => imageVersions(cfg, opts.prices)],
    ['old-pool-snapshot', () => oldPoolSnapshots(cfg, opts.prices)],
  ];
  for (const [rule, fn] of rules) {
    if (rule === 'image-retention' && cfg.images.length === 0) {
      notes.push('image-retention: no images given (images input), rule skipped.');
      continue;
    }
    try {
      const r = await fn();
      findings.push(...r.findings);
      notes.push(...r.notes);
      info(`${rule}: ${r.findings.length} finding(s)`);
    } catch (err) {
      const text = describeError(err);
      warning(`${rule}: could not be evaluated: ${text}`);
      ruleErrors.push({ rule, error: text });
    }
  }

  // What the cluster costs before anything is removed: informational, never fails the run.
  let platform: PlatformCost | undefined;
  try {
    platform = await platformCost(cfg.ref, (kube ??= await opts.kube()), opts.prices);
  } catch (err) {
    notes.push(`The cluster's current cost could not be read: ${describeError(err)}`);
  }

  if (opts.mode === 'enforce') {
    for (const f of findings) {
      if (f.action !== 'would delete') continue;
      try {
        info(`${f.rule}: removing ${f.resource}`);
        await act(f, cfg, cfg.ref, opts, kube);
      } catch (err) {
        f.action = 'failed';
        f.error = describeError(err);
        warning(`${f.resource}: ${f.error}`);
      }
    }
  }

  const counted = findings.filter((f) => (opts.mode === 'enforce' ? f.action === 'deleted' : f.action === 'would delete'));
  const saved = counted.reduce((a, f) => a + f.monthlyUsd - (f.snapshotMonthlyUsd ?? 0), 0);
  const remaining = [
    ...findings.filter((f) => f.action === 'failed').map((f) => `${f.resource}: ${f.error ?? 'failed'}`),
    ...ruleErrors.map((e) => `rule ${e.rule} not evaluated: ${e.error}`),
  ];
  const { source, date, region, currency, fallbackItems, catalogError } = opts.prices;
  return {
    mode: opts.mode,
    project: cfg.ref.project,
    cluster: cfg.ref.cluster,
    location: cfg.ref.location,
    generatedAt: cfg.now.toISOString(),
    findings,
    notes,
    ruleErrors,
    prices: { source, date, region, currency, fallbackItems, ...(catalogError ? { catalogError } : {}) },
    savedPerMonth: round2(Math.max(0, saved)),
    remaining,
    ...(platform ? { platform } : {}),
  };
}

/** The report as the `report` output: one entry per finding (resource, rule, age, cost per month, action, snapshot URI). */
export function reportJson(r: CleanupReport): string {
  return JSON.stringify({
    mode: r.mode,
    project: r.project,
    cluster: r.cluster,
    location: r.location,
    generatedAt: r.generatedAt,
    savedPerMonth: r.savedPerMonth,
    prices: r.prices,
    findings: r.findings.map((f) => ({
      resource: f.resource,
      id: f.id,
      rule: f.rule,
      age: f.age,
      ageHours: Math.round(f.ageHours * 100) / 100,
      hourlyUsd: f.hourlyUsd,
      costPerMonth: f.monthlyUsd,
      action: f.action,
      ...(f.protectedBy ? { protectedBy: f.protectedBy } : {}),
      ...(f.snapshotUri ? { snapshotUri: f.snapshotUri } : {}),
      ...(f.error ? { error: f.error } : {}),
      detail: f.detail,
    })),
    ruleErrors: r.ruleErrors,
    remaining: r.remaining,
    ...(r.platform ? { platform: r.platform } : {}),
  });
}
