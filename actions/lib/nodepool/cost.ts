/** What a node pool costs per hour, from the price table in actions/lib/gpu.ts. */
import { estimateHourlyCost, findGpuType } from '../gpu.js';
import type { NodePool } from '../google/container.js';

export interface PoolGpus {
  acceleratorType?: string;
  displayName?: string;
  perNode: number;
  nodes: number;
  /** Autoscaling upper bound of nodes (all zones), when autoscaling. */
  maxNodes?: number;
  total: number;
  spot: boolean;
  /** USD per hour for `nodes` nodes (GPU plus its machine share); undefined when the type has no price. */
  hourlyUsd?: number;
  hourlyUsdMax?: number;
}

export function poolGpus(pool: NodePool, nodes?: number): PoolGpus {
  const acc = pool.config?.accelerators?.[0];
  const perNode = Number(acc?.acceleratorCount ?? 0);
  const zones = Math.max(1, pool.locations?.length ?? 1);
  const n = nodes ?? Number(pool.initialNodeCount ?? 0) * zones;
  const spot = pool.config?.spot === true || pool.config?.preemptible === true;
  const type = acc?.acceleratorType ? findGpuType(acc.acceleratorType) : undefined;
  const maxNodes = pool.autoscaling?.enabled ? Number(pool.autoscaling.maxNodeCount ?? 0) * zones : undefined;
  return {
    acceleratorType: acc?.acceleratorType,
    displayName: type?.displayName ?? acc?.acceleratorType,
    perNode,
    nodes: n,
    maxNodes,
    total: perNode * n,
    spot,
    hourlyUsd: type ? estimateHourlyCost(type, perNode * n, spot) : undefined,
    hourlyUsdMax: type && maxNodes !== undefined ? estimateHourlyCost(type, perNode * maxNodes, spot) : undefined,
  };
}

export function costText(g: PoolGpus): string {
  if (g.hourlyUsd === undefined) return g.total ? 'no price for this accelerator' : 'no GPUs';
  const max = g.hourlyUsdMax !== undefined && g.hourlyUsdMax !== g.hourlyUsd ? ` (up to $${g.hourlyUsdMax.toFixed(2)} at ${g.maxNodes} nodes)` : '';
  return `~$${g.hourlyUsd.toFixed(2)}/h${g.spot ? ' Spot' : ''}${max}`;
}

export function gpuText(g: PoolGpus): string {
  if (!g.perNode) return 'none';
  return `${g.total} × ${g.displayName} (${g.perNode}/node × ${g.nodes} nodes${g.spot ? ', Spot' : ''})`;
}
