/**
 * cost-cleanup's rules: what costs money and does no work. Each rule returns findings with their
 * age and cost; protected ones are findings too (reported, never touched).
 *
 * - idle-gpu-pool: a GPU node pool whose nodes (Kubernetes Node objects labelled with the pool)
 *   run no pod requesting nvidia.com/gpu, for longer than idle_minutes. A pool at zero nodes costs
 *   nothing and is not idle. The system pool is never a candidate.
 * - unattached-disk: a persistent disk with no users, older than disk_days (since its last detach).
 * - image-retention: Artifact Registry versions beyond image-prune's retention rule (oci/retention.ts).
 * - old-pool-snapshot: node-pool snapshots in GCS older than snapshot_days, always keeping the newest
 *   per pool and whatever latest.json points at.
 * Protection: label `mlabs-keep: "true"`, or a name matching a `protect` pattern (`*` wildcard).
 */
import { listNodePools, type ClusterRef, type NodePool } from '../google/container.js';
import { listVersions, packageOfImage } from '../google/artifactregistry.js';
import { downloadText, listObjects, type GcsObject } from '../google/storage.js';
import { isNotFound } from '../http.js';
import { mapLimit } from '../pool.js';
import { decide, type RetentionRule } from '../oci/retention.js';
import { readObject } from '../nodepool/store.js';
import { latestObject, SNAPSHOT_PREFIX, type LatestPointer } from '../nodepool/snapshot.js';
import { isManaged, MANAGED_LABEL } from '../nodepool/spec.js';
import { listAllDisks, type Disk } from '../google/compute-disks.js';
import { listNodes, listPods, type KubeAccess } from './kube.js';
import { HOURS_PER_MONTH, poolNodeHourly, round2, type PriceTable } from './pricing.js';

export const KEEP_LABEL = 'mlabs-keep';
export const RULES = ['idle-gpu-pool', 'unattached-disk', 'image-retention', 'old-pool-snapshot'] as const;
export type Rule = (typeof RULES)[number];

export type Action = 'would delete' | 'deleted' | 'protected' | 'failed' | 'already gone';

export interface Finding {
  rule: Rule;
  /** What it is, e.g. `node pool gpu-idle (mlabs, us-central1)`, `disk old-data (us-central1-a)`. */
  resource: string;
  /** The resource's own name/URI. */
  id: string;
  /** Age in hours (idle time for pools). */
  ageHours: number;
  age: string;
  hourlyUsd: number;
  monthlyUsd: number;
  detail: string;
  action: Action;
  /** Why it is protected (action: protected). */
  protectedBy?: string;
  /** Where its snapshot went (enforce): gs:// for pools, the Compute snapshot for disks. */
  snapshotUri?: string;
  /** Storage cost of that snapshot per month (it is kept). */
  snapshotMonthlyUsd?: number;
  error?: string;
  /** For enforce: the target in API terms. */
  target: { kind: 'pool'; pool: string; nodes: number } | { kind: 'disk'; disk: Disk } | { kind: 'version'; name: string } | { kind: 'object'; bucket: string; name: string; generation: string };
}

export interface CleanupConfig {
  ref: ClusterRef;
  bucket: string;
  idleMinutes: number;
  diskDays: number;
  snapshotDays: number;
  images: string[];
  retention: Omit<RetentionRule, 'now'>;
  protect: string[];
  systemPools: string[];
  now: Date;
}

export function globToRegExp(glob: string): RegExp {
  return new RegExp('^' + glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*') + '$');
}

/** Why a resource is protected, or undefined. */
export function protection(names: string[], labels: Record<string, string> | undefined, patterns: string[]): string | undefined {
  if (labels?.[KEEP_LABEL] === 'true') return `label ${KEEP_LABEL}=true`;
  for (const p of patterns) {
    const re = globToRegExp(p);
    const hit = names.find((n) => re.test(n));
    if (hit !== undefined) return `protect pattern ${p}`;
  }
  return undefined;
}

export function ageText(hours: number): string {
  if (hours < 1) return `${Math.max(0, Math.round(hours * 60))} min`;
  if (hours < 48) return `${Math.round(hours * 10) / 10} h`;
  return `${Math.floor(hours / 24)} days`;
}

const hoursSince = (iso: string | undefined, now: Date): number => (iso && !Number.isNaN(Date.parse(iso)) ? (now.getTime() - Date.parse(iso)) / 3_600_000 : 0);

function costs(hourly: number): { hourlyUsd: number; monthlyUsd: number } {
  return { hourlyUsd: Math.round(hourly * 10_000) / 10_000, monthlyUsd: round2(hourly * HOURS_PER_MONTH) };
}

export function isSystemPool(pool: NodePool, systemPools: string[]): boolean {
  return systemPools.includes(pool.name) || pool.config?.labels?.['mlabs-role'] === 'system';
}

/** Pool: idle GPU pools (nodes and pods from the cluster's Kubernetes API). */
export async function idleGpuPools(cfg: CleanupConfig, kube: KubeAccess, prices: PriceTable): Promise<{ findings: Finding[]; notes: string[] }> {
  const pools = await listNodePools(cfg.ref);
  const [nodes, pods] = await Promise.all([listNodes(kube), listPods(kube)]);
  const findings: Finding[] = [];
  const notes: string[] = [];
  for (const pool of pools) {
    const acc = pool.config?.accelerators?.[0];
    if (!acc?.acceleratorType || Number(acc.acceleratorCount ?? 0) <= 0) continue;
    if (isSystemPool(pool, cfg.systemPools)) continue;
    if (pool.status === 'PROVISIONING' || pool.status === 'STOPPING') {
      notes.push(`Node pool ${pool.name}: ${pool.status}, not judged.`);
      continue;
    }
    const poolNodes = nodes.filter((n) => n.labels['cloud.google.com/gke-nodepool'] === pool.name);
    if (poolNodes.length === 0) {
      notes.push(`Node pool ${pool.name}: scaled to zero, costs nothing.`);
      continue;
    }
    const names = new Set(poolNodes.map((n) => n.name));
    const gpuPods = pods.filter((p) => p.gpus > 0 && p.nodeName !== undefined && names.has(p.nodeName));
    const busy = gpuPods.filter((p) => p.phase !== 'Succeeded' && p.phase !== 'Failed');
    if (busy.length) {
      notes.push(`Node pool ${pool.name}: busy (${busy.map((p) => `${p.namespace}/${p.name}`).join(', ')} requesting nvidia.com/gpu).`);
      continue;
    }
    const lastActivity = [...poolNodes.map((n) => n.creationTimestamp), ...gpuPods.map((p) => p.finishedAt ?? '')].filter(Boolean).sort().pop();
    const idleHours = hoursSince(lastActivity, cfg.now);
    if (idleHours * 60 < cfg.idleMinutes) {
      notes.push(`Node pool ${pool.name}: no GPU pod for ${ageText(idleHours)}, under idle_minutes (${cfg.idleMinutes}).`);
      continue;
    }
    const cfgN = pool.config ?? {};
    const hourly = poolNodes.length * poolNodeHourly(prices, pool);
    const labels = { ...(cfgN.resourceLabels ?? {}), ...(cfgN.labels ?? {}) };
    let protectedBy = protection([pool.name], labels, cfg.protect);
    if (!protectedBy && !isManaged(pool)) protectedBy = `no ${MANAGED_LABEL}=true label (not created by the suite)`;
    findings.push({
      rule: 'idle-gpu-pool',
      resource: `node pool ${pool.name} (${cfg.ref.cluster}, ${cfg.ref.location})`,
      id: `projects/${cfg.ref.project}/locations/${cfg.ref.location}/clusters/${cfg.ref.cluster}/nodePools/${pool.name}`,
      ageHours: idleHours,
      age: `idle ${ageText(idleHours)}`,
      ...costs(hourly),
      detail: `${poolNodes.length} node(s) × ${acc.acceleratorCount} ${acc.acceleratorType} on ${cfgN.machineType ?? '?'}, no pod requesting nvidia.com/gpu`,
      action: protectedBy ? 'protected' : 'would delete',
      ...(protectedBy ? { protectedBy } : {}),
      target: { kind: 'pool', pool: pool.name, nodes: poolNodes.length },
    });
  }
  return { findings, notes };
}

/** Disks: unattached and older than disk_days. */
export async function unattachedDisks(cfg: CleanupConfig, prices: PriceTable): Promise<{ findings: Finding[]; notes: string[] }> {
  const disks = await listAllDisks(cfg.ref.project);
  const findings: Finding[] = [];
  const notes: string[] = [];
  for (const d of disks) {
    if (d.users.length) continue;
    const ageHours = hoursSince(d.lastDetachTimestamp ?? d.creationTimestamp, cfg.now);
    if (ageHours < cfg.diskDays * 24) {
      notes.push(`Disk ${d.name} (${d.zone}): unattached for ${ageText(ageHours)}, under disk_days (${cfg.diskDays}).`);
      continue;
    }
    const monthly = d.sizeGb * (prices.disk[d.type] ?? prices.disk['pd-standard'] ?? 0);
    const protectedBy = protection([d.name], d.labels, cfg.protect);
    findings.push({
      rule: 'unattached-disk',
      resource: `disk ${d.name} (${d.zone})`,
      id: `projects/${cfg.ref.project}/zones/${d.zone}/disks/${d.name}`,
      ageHours,
      age: ageText(ageHours),
      ...costs(monthly / HOURS_PER_MONTH),
      detail: `${d.sizeGb} GB ${d.type}, no users`,
      action: protectedBy ? 'protected' : 'would delete',
      ...(protectedBy ? { protectedBy } : {}),
      snapshotMonthlyUsd: protectedBy ? undefined : round2(d.sizeGb * prices.diskSnapshot),
      target: { kind: 'disk', disk: d },
    });
  }
  return { findings, notes };
}

/** Images: versions beyond image-prune's retention rule (untagged platform images are kept: references are not read here). */
export async function imageVersions(cfg: CleanupConfig, prices: PriceTable): Promise<{ findings: Finding[]; notes: string[] }> {
  const findings: Finding[] = [];
  const notes: string[] = [];
  for (const image of cfg.images) {
    const versions = await listVersions(packageOfImage(image));
    const decisions = await decide(versions, { ...cfg.retention, now: cfg.now });
    for (const d of decisions) {
      if (d.action !== 'delete') continue;
      const v = d.version;
      const gib = (v.sizeBytes ?? 0) / 1024 ** 3;
      const protectedBy = protection([`${image}@${v.digest}`, ...v.tags.map((t) => `${image}:${t}`)], undefined, cfg.protect);
      findings.push({
        rule: 'image-retention',
        resource: `${image}@${v.digest.slice(0, 19)}${v.tags.length ? ` (${v.tags.join(', ')})` : ''}`,
        id: v.name,
        ageHours: d.ageDays * 24,
        age: `${d.ageDays} days`,
        ...costs((gib * prices.artifactRegistry) / HOURS_PER_MONTH),
        detail: d.reason,
        action: protectedBy ? 'protected' : 'would delete',
        ...(protectedBy ? { protectedBy } : {}),
        target: { kind: 'version', name: v.name },
      });
    }
    notes.push(`${image}: ${versions.length} version(s), ${decisions.filter((d) => d.action === 'delete').length} beyond retention.`);
  }
  return { findings, notes };
}

/** How many latest.json pointers are read at once. */
export const POINTER_READS = 8;

/**
 * The text of a pool's latest.json, listed with `generation`: one read of that generation (the listing
 * already says it exists), or of the live object when it was replaced since the listing.
 */
async function readPointer(bucket: string, listed: GcsObject): Promise<string | undefined> {
  try {
    return await downloadText(bucket, listed.name, { generation: listed.generation });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    return (await readObject(bucket, listed.name))?.text;
  }
}

/** Node-pool snapshots in GCS: older than snapshot_days, never the newest per pool nor latest.json's. */
export async function oldPoolSnapshots(cfg: CleanupConfig, prices: PriceTable): Promise<{ findings: Finding[]; notes: string[] }> {
  const listing = await listObjects(cfg.bucket, { prefix: `${SNAPSHOT_PREFIX}/` });
  const byPool = new Map<string, GcsObject[]>();
  const pointers = new Map<string, GcsObject>();
  for (const o of listing.objects) {
    const m = /^node-pools\/([^/]+)\/([^/]+)\/([^/]+\.json)$/.exec(o.name);
    if (!m) continue;
    const key = `${m[1]}/${m[2]}`;
    if (m[3] === 'latest.json') {
      pointers.set(key, o);
      continue;
    }
    const group = byPool.get(key);
    if (group) group.push(o);
    else byPool.set(key, [o]);
  }
  // Only pools with snapshots need their pointer, and only those whose latest.json is listed have one.
  const toRead = [...byPool.keys()].filter((key) => pointers.has(key));
  const texts = new Map<string, string | undefined>();
  await mapLimit(toRead, POINTER_READS, async (key) => {
    texts.set(key, await readPointer(cfg.bucket, pointers.get(key) as GcsObject));
  });
  const findings: Finding[] = [];
  const notes: string[] = [];
  for (const [key, objects] of byPool) {
    const [cluster, pool] = key.split('/') as [string, string];
    const sorted = [...objects].sort((a, b) => (a.name < b.name ? 1 : -1));
    const keep = new Set<string>([sorted[0]?.name ?? '']);
    const text = texts.get(key);
    if (text !== undefined) {
      try {
        const p = JSON.parse(text) as Partial<LatestPointer>;
        if (p.object) keep.add(p.object);
      } catch {
        notes.push(`gs://${cfg.bucket}/${latestObject(cluster, pool)} is not valid JSON: every snapshot of ${key} kept.`);
        continue;
      }
    }
    for (const o of sorted) {
      if (keep.has(o.name)) continue;
      const ageHours = hoursSince(o.timeCreated, cfg.now);
      if (ageHours < cfg.snapshotDays * 24) continue;
      const protectedBy = protection([pool, `${cluster}/${pool}`, o.name], o.metadata, cfg.protect);
      findings.push({
        rule: 'old-pool-snapshot',
        resource: `gs://${cfg.bucket}/${o.name}`,
        id: `gs://${cfg.bucket}/${o.name}`,
        ageHours,
        age: ageText(ageHours),
        ...costs(((o.size / 1024 ** 3) * prices.gcsStandard) / HOURS_PER_MONTH),
        detail: `snapshot of ${key}; newer ones kept (${[...keep].map((k) => k.split('/').pop()).join(', ')})`,
        action: protectedBy ? 'protected' : 'would delete',
        ...(protectedBy ? { protectedBy } : {}),
        target: { kind: 'object', bucket: cfg.bucket, name: o.name, generation: o.generation },
      });
    }
  }
  return { findings, notes };
}
