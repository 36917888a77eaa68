/**
 * The `zones` input of restore and expand: an ordered list, or `auto` (zones of the cluster's
 * region that offer the accelerator, ranked by capacity), or empty (the definition's own zones).
 */
import { ActionError } from '../errors.js';
import { regionOfZone, ZONE_PATTERN } from '../gpu.js';
import { aggregatedAcceleratorTypes } from '../google/compute.js';
import type { Cluster } from '../google/container.js';

export type ZonesInput = { mode: 'auto' } | { mode: 'list'; zones: string[] } | { mode: 'default' };

export function parseZones(items: string[]): ZonesInput {
  if (items.length === 0) return { mode: 'default' };
  if (items.length === 1 && items[0]?.toLowerCase() === 'auto') return { mode: 'auto' };
  for (const z of items) if (!ZONE_PATTERN.test(z)) throw new ActionError(`Zone ${JSON.stringify(z)} is not a zone name such as us-central1-a (or use "auto").`);
  return { mode: 'list', zones: items };
}

/** The region the cluster's node pools can live in. */
export function clusterRegion(cluster: Cluster, location: string): string {
  return ZONE_PATTERN.test(location) ? regionOfZone(location) : location;
}

/**
 * Candidate zone lists, tried in order (`[[]]` = the definition's own zones).
 * `auto`: the zones of the cluster's region offering `acceleratorType`, cluster zones first.
 */
export async function candidateZones(input: ZonesInput, project: string, cluster: Cluster, location: string, acceleratorType?: string): Promise<string[][]> {
  if (input.mode === 'default') return [[]];
  if (input.mode === 'list') return input.zones.map((z) => [z]);
  const region = clusterRegion(cluster, location);
  if (!acceleratorType) return (cluster.locations ?? []).map((z) => [z]);
  const offered = (await aggregatedAcceleratorTypes(project, acceleratorType)).map((a) => a.zone).filter((z) => regionOfZone(z) === region);
  const clusterZones = cluster.locations ?? [];
  const ranked = [...new Set([...clusterZones.filter((z) => offered.includes(z)), ...offered.sort()])];
  if (!ranked.length) {
    throw new ActionError(`No zone of ${region} (the cluster's region) offers ${acceleratorType}.`, { fix: 'Pick another accelerator type, or a cluster in a region that has it (see gpu-capacity).' });
  }
  return ranked.map((z) => [z]);
}
