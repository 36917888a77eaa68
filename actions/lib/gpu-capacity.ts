/**
 * Where can `count` GPUs of a type run right now, as far as the project can see:
 * the zones that offer the accelerator (Compute acceleratorTypes), the regional GPU
 * quota headroom (regions.get) and the global GPUS_ALL_REGIONS headroom (projects.get),
 * ranked into an ordered zone list. Used by the gpu-capacity action and by node-pool
 * zone failover (`zones: auto`).
 *
 * Quota headroom is not stock: a zone that fits may still answer GCE_STOCKOUT, which is
 * why callers try the ranked zones in order.
 */
import { aggregatedAcceleratorTypes, findQuota, getProjectQuotas, getRegion, listZones, type ComputeQuota } from './google/compute.js';
import { getQuotaInfo, limitFor } from './google/quotas.js';
import { GLOBAL_GPU_QUOTA, regionOfZone, regionalQuota, type GpuType } from './gpu.js';

export interface Headroom {
  /** -1 = unlimited. */
  limit: number;
  usage: number;
  /** limit - usage, at least 0; Infinity when unlimited. */
  headroom: number;
  /** Where the numbers came from; `cloudquotas` means the limit only (Compute does not list the metric, usage taken as 0). */
  source: 'compute' | 'cloudquotas' | 'unknown';
}

export interface RegionCapacity extends Headroom {
  region: string;
  /** Compute quota metric read (on-demand or preemptible). */
  metric: string;
}

export interface ZoneCandidate {
  zone: string;
  region: string;
  /** Zone status from Compute (UP / DOWN). */
  status: string;
  /** Most cards of this type one VM can carry in this zone. */
  maxGpusPerNode: number;
  /** Regional headroom for the type (same for every zone of a region). */
  regionalHeadroom: number;
  globalHeadroom: number;
  /** min(regional, global). */
  headroom: number;
  /** The zone is up and both quotas have room for `count`. */
  fits: boolean;
  /** 1 = best. */
  rank: number;
}

export interface GpuCapacity {
  acceleratorType: string;
  spot: boolean;
  count: number;
  global: Headroom;
  regions: RegionCapacity[];
  /** Every zone offering the type in the regions asked about, best first. */
  zones: ZoneCandidate[];
  /** The best zone that fits, if any. */
  best?: ZoneCandidate;
}

export interface CapacityQuery {
  project: string;
  type: GpuType;
  /** GPUs wanted (in total); ranking puts zones with room for them first. Default 1. */
  count?: number;
  /** Regions to consider, in order of preference; empty = every region offering the type. */
  regions?: string[];
  spot?: boolean;
}

function headroomOf(q: ComputeQuota | undefined): Headroom {
  if (!q) return { limit: 0, usage: 0, headroom: 0, source: 'unknown' };
  const headroom = q.limit < 0 ? Infinity : Math.max(0, q.limit - q.usage);
  return { limit: q.limit, usage: q.usage, headroom, source: 'compute' };
}

/**
 * Rank zones: zones that are UP before others; then those whose quotas fit `count`;
 * then the caller's region order (when given); then more headroom; then zone name.
 * Pure; exported for node-pool failover and tests.
 */
export function rankZones(zones: Omit<ZoneCandidate, 'rank'>[], regionOrder: string[] = []): ZoneCandidate[] {
  const order = (r: string): number => {
    const i = regionOrder.indexOf(r);
    return i < 0 ? regionOrder.length : i;
  };
  return [...zones]
    .sort(
      (a, b) =>
        Number(b.status === 'UP') - Number(a.status === 'UP') ||
        Number(b.fits) - Number(a.fits) ||
        order(a.region) - order(b.region) ||
        (b.headroom === a.headroom ? 0 : b.headroom > a.headroom ? 1 : -1) ||
        a.zone.localeCompare(b.zone),
    )
    .map((z, i) => ({ ...z, rank: i + 1 }));
}

async function regionalCapacity(project: string, type: GpuType, region: string, spot: boolean): Promise<RegionCapacity> {
  const ref = regionalQuota(type, region, spot);
  const r = await getRegion(project, region);
  const q = findQuota(r.quotas, ref.metric);
  if (q) return { region, metric: ref.metric, ...headroomOf(q) };
  // Newer families may only be visible through Cloud Quotas (limit only; Compute gives usage).
  try {
    const info = await getQuotaInfo(project, ref.service, ref.quotaId);
    const limit = limitFor(info, ref.dimensions);
    if (limit !== undefined) return { region, metric: ref.metric, limit, usage: 0, headroom: limit < 0 ? Infinity : limit, source: 'cloudquotas' };
  } catch {
    /* no such quota visible: unknown */
  }
  return { region, metric: ref.metric, ...headroomOf(undefined) };
}

/** Zones offering the type, regional and global headroom, and the ranked candidate zones. */
export async function findGpuCapacity(query: CapacityQuery): Promise<GpuCapacity> {
  const count = query.count ?? 1;
  const spot = query.spot ?? false;
  const wanted = query.regions ?? [];
  const [offers, zones, projectQuotas] = await Promise.all([
    aggregatedAcceleratorTypes(query.project, query.type.name),
    listZones(query.project),
    getProjectQuotas(query.project),
  ]);
  const zoneInfo = new Map(zones.map((z) => [z.name, z]));
  const offered = offers.filter((a) => wanted.length === 0 || wanted.includes(zoneInfo.get(a.zone)?.region ?? regionOfZone(a.zone)));
  const regionNames = wanted.length ? wanted : [...new Set(offered.map((a) => zoneInfo.get(a.zone)?.region ?? regionOfZone(a.zone)))].sort();
  const regions: RegionCapacity[] = [];
  for (const region of regionNames) regions.push(await regionalCapacity(query.project, query.type, region, spot));
  const global = headroomOf(findQuota(projectQuotas, GLOBAL_GPU_QUOTA.metric));
  const byRegion = new Map(regions.map((r) => [r.region, r]));
  const candidates = offered.map((a) => {
    const region = zoneInfo.get(a.zone)?.region ?? regionOfZone(a.zone);
    const regionalHeadroom = byRegion.get(region)?.headroom ?? 0;
    const status = zoneInfo.get(a.zone)?.status ?? 'UP';
    const headroom = Math.min(regionalHeadroom, global.headroom);
    return {
      zone: a.zone,
      region,
      status,
      maxGpusPerNode: a.maximumCardsPerInstance,
      regionalHeadroom,
      globalHeadroom: global.headroom,
      headroom,
      fits: status === 'UP' && headroom >= count,
    };
  });
  const ranked = rankZones(candidates, wanted);
  const best = ranked.find((z) => z.fits);
  return { acceleratorType: query.type.name, spot, count, global, regions, zones: ranked, ...(best ? { best } : {}) };
}

/** The zones of a capacity answer that fit, in rank order (a failover list). */
export function fittingZones(capacity: GpuCapacity): string[] {
  return capacity.zones.filter((z) => z.fits).map((z) => z.zone);
}
