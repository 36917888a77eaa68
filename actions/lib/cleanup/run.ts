/**
 * The cost-cleanup run: evaluate every rule, then (enforce) act on each candidate with a snapshot
 * confirmed complete before any delete. A failure on one resource is recorded and the run goes on;
 * the caller fails the step at the end when anything remains.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteVersion } from '../google/artifactregistry.js';
import { deleteObject, upload } from '../google/storage.js';
import type { ClusterRef } from '../google/container.js';
import { ActionError, describeError } from '../errors.js';
import { destroyNodePool } from '../nodepool/destroy.js';
import { loadSnapshot, snapshotNodePool } from '../nodepool/snapshot.js';
import { info, warning } from '../runner.js';
import { deleteDisk, snapshotDisk } from '../google/compute-disks.js';
import { cleanupSnapshot } from './disks.js';
import { listNodes, listPods, type KubeAccess } from './kube.js';
import { platformCost, type PlatformCost } from './platform.js';
import { round2, type PriceTable } from './pricing.js';
import { idleGpuPools, imageVersions, oldPoolSnapshots, RULES, unattachedDisks, type CleanupConfig, type Finding, type Rule } from './rules.js';

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
    const spec = cleanupSnapshot(t.disk);
    const name = spec.name;
    const snap = await snapshotDisk(cfg.ref.project, t.disk, spec, { deadline: opts.deadline });
    if (snap.status !== 'READY') throw new ActionError(`snapshot ${name} is ${snap.status}, not READY; the disk was left in place`, { fix: 'Re-run cost-cleanup once the snapshot is READY (the run is idempotent), or delete the disk by hand.' });
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

/**
 * How many findings (and remaining items, notes) the `report` output and the job summary list: the
 * costliest. GitHub keeps 1 MB of outputs per job and 1 MiB of summary per step; the report file has
 * every finding.
 */
export const LISTED = 50;

export interface RuleTotals {
  findings: number;
  /** Deleted (enforce) or would delete (report). */
  acted: number;
  protected: number;
  failed: number;
  /** Monthly cost of the findings that are not protected. */
  monthlyUsd: number;
}

export interface ReportTotals {
  findings: number;
  notProtected: number;
  remaining: number;
  byRule: Record<Rule, RuleTotals>;
}

/** Where the full report went: a file (always) and an object in the snapshot bucket (enforce). */
export interface SavedReport {
  file: string;
  uri?: string;
}

export function totals(r: CleanupReport): ReportTotals {
  const acted = r.mode === 'enforce' ? 'deleted' : 'would delete';
  const byRule = Object.fromEntries(RULES.map((rule) => [rule, { findings: 0, acted: 0, protected: 0, failed: 0, monthlyUsd: 0 }])) as Record<Rule, RuleTotals>;
  for (const f of r.findings) {
    const t = byRule[f.rule];
    t.findings += 1;
    if (f.action === acted) t.acted += 1;
    if (f.action === 'protected') t.protected += 1;
    else t.monthlyUsd += f.monthlyUsd;
    if (f.action === 'failed') t.failed += 1;
  }
  for (const t of Object.values(byRule)) t.monthlyUsd = round2(t.monthlyUsd);
  return {
    findings: r.findings.length,
    notProtected: r.findings.filter((f) => f.action !== 'protected').length,
    remaining: r.remaining.length,
    byRule,
  };
}

/** The `n` costliest findings, costliest first (ties keep the rules' order). */
export function costliest(findings: Finding[], n = LISTED): Finding[] {
  return findings
    .map((f, i) => ({ f, i }))
    .sort((a, b) => b.f.monthlyUsd - a.f.monthlyUsd || a.i - b.i)
    .slice(0, n)
    .map((x) => x.f);
}

function findingJson(f: Finding): Record<string, unknown> {
  return {
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
  };
}

function header(r: CleanupReport): Record<string, unknown> {
  return { mode: r.mode, project: r.project, cluster: r.cluster, location: r.location, generatedAt: r.generatedAt, savedPerMonth: r.savedPerMonth, prices: r.prices };
}

/** The full report (the report file): every finding, rule error, remaining item and note. */
export function reportJson(r: CleanupReport): string {
  return JSON.stringify({
    ...header(r),
    totals: totals(r),
    findings: r.findings.map(findingJson),
    ruleErrors: r.ruleErrors,
    remaining: r.remaining,
    notes: r.notes,
    ...(r.platform ? { platform: r.platform } : {}),
  });
}

/**
 * The `report` output, bounded at any size: the totals, the LISTED costliest findings and the first
 * LISTED remaining items, and where the full report is.
 */
export function reportOutput(r: CleanupReport, saved: SavedReport): string {
  return JSON.stringify({
    ...header(r),
    totals: totals(r),
    findings: costliest(r.findings).map(findingJson),
    findingsListed: Math.min(LISTED, r.findings.length),
    ruleErrors: r.ruleErrors,
    remaining: r.remaining.slice(0, LISTED),
    reportFile: saved.file,
    ...(saved.uri ? { reportUri: saved.uri } : {}),
    ...(r.platform ? { platform: r.platform } : {}),
  });
}

/** `2026-12-01T21:30:00.123Z` → `20261201T213000123Z`, as the snapshots are named. */
const stamp = (iso: string): string => iso.replace(/[-:.]/g, '');

/** Where the full report of an enforce run is kept in the snapshot bucket. */
export const reportObject = (r: CleanupReport): string => `cost-cleanup/${r.cluster}/${stamp(r.generatedAt)}.json`;

/**
 * Write the full report under `dir` (RUNNER_TEMP) and, when enforcing, upload it to the snapshot
 * bucket (outside node-pools/, so the snapshot rule never sees it). A failed upload is a remaining item.
 */
export async function saveReport(r: CleanupReport, bucket: string, dir = process.env.RUNNER_TEMP || tmpdir()): Promise<SavedReport> {
  const file = join(dir, `cost-cleanup-${r.cluster}-${stamp(r.generatedAt)}.json`);
  if (r.mode !== 'enforce') {
    writeFileSync(file, reportJson(r));
    return { file };
  }
  const name = reportObject(r);
  let uri: string | undefined;
  try {
    await upload(bucket, name, reportJson(r), { contentType: 'application/json', ifGenerationMatch: 0 });
    uri = `gs://${bucket}/${name}`;
  } catch (err) {
    const text = `the full report could not be uploaded to gs://${bucket}/${name}: ${describeError(err)}`;
    warning(text);
    r.remaining.push(text);
  }
  writeFileSync(file, reportJson(r));
  return { file, ...(uri ? { uri } : {}) };
}
