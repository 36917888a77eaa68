/**
 * The `zones` input of restore and expand: an ordered list, or `auto` (zones of the cluster's
 * region that offer the accelerator, ranked by capacity), or empty (the definition's own zones).
 */
import { ActionError, InputError } from '../errors.js';
import { findGpuCapacity } from '../gpu-capacity.js';
import { findGpuType, regionOfZone, ZONE_PATTERN } from '../gpu.js';
import { splitList } from '../inputs.js';
import { getInput, info, warning } from '../runner.js';
import type { Cluster } from '../google/container.js';

export type ZonesInput = { mode: 'auto' } | { mode: 'list'; zones: string[] } | { mode: 'default' };

/**
 * Read the `zones` input: `auto`, empty, or zones of the cluster's region (from `location`), each
 * once. Anything else is an InputError naming `zones`, before any request.
 */
export function readZones(location: string, name = 'zones'): ZonesInput {
  const raw = getInput(name);
  const items = splitList(raw);
  if (items.length === 0) return { mode: 'default' };
  if (items.length === 1 && items[0]?.toLowerCase() === 'auto') return { mode: 'auto' };
  const region = ZONE_PATTERN.test(location) ? regionOfZone(location) : location;
  for (const z of items) {
    if (!ZONE_PATTERN.test(z)) throw new InputError(name, raw, `${JSON.stringify(z)} is not a zone name such as ${region}-a; expected zones (comma- or newline-separated), "auto", or empty.`);
    if (regionOfZone(z) !== region) throw new InputError(name, raw, `zone ${z} is not in the cluster's region ${region} (location ${location}); a node pool's zones are zones of its cluster's region.`);
  }
  const dup = items.find((z, i) => items.indexOf(z) !== i);
  if (dup !== undefined) throw new InputError(name, raw, `zone ${dup} is listed twice.`);
  return { mode: 'list', zones: items };
}

/** The region the cluster's node pools can live in. */
export function clusterRegion(cluster: Cluster, location: string): string {
  return ZONE_PATTERN.test(location) ? regionOfZone(location) : location;
}

export interface AutoZoneQuery {
  acceleratorType?: string;
  /** GPUs the pool needs in one zone (cards per node × nodes). */
  gpus: number;
  spot: boolean;
}

/**
 * Candidate zone lists, tried in order (`[[]]` = the definition's own zones).
 * `auto`: the zones of the cluster's region that offer the accelerator, ranked by gpu-capacity
 * (zones whose regional and global quota fit first); a pool without GPUs uses the cluster's zones.
 */
export async function candidateZones(input: ZonesInput, project: string, cluster: Cluster, location: string, auto: AutoZoneQuery): Promise<string[][]> {
  if (input.mode === 'default') return [[]];
  if (input.mode === 'list') return input.zones.map((z) => [z]);
  const region = clusterRegion(cluster, location);
  const type = auto.acceleratorType ? findGpuType(auto.acceleratorType) : undefined;
  if (!type) return (cluster.locations ?? []).map((z) => [z]);
  const capacity = await findGpuCapacity({ project, type, count: auto.gpus, regions: [region], spot: auto.spot });
  const zones = capacity.zones.filter((z) => z.region === region && z.status === 'UP');
  if (!zones.length) {
    throw new ActionError(`No zone of ${region} (the cluster's region) offers ${type.name}.`, { fix: 'Pick another accelerator type, or a cluster in a region that has it (see gpu-capacity).' });
  }
  if (!zones.some((z) => z.fits)) warning(`No zone of ${region} has quota headroom for ${auto.gpus} ${type.name} GPUs (headroom ${zones[0]?.headroom ?? 0}); trying anyway.`);
  info(`zones: auto -> ${zones.map((z) => `${z.zone}${z.fits ? '' : ' (no quota headroom)'}`).join(', ')}`);
  return zones.map((z) => [z.zone]);
}
