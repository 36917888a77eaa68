/**
 * What the cluster costs right now: every node pool (nodes counted from the cluster's own Node
 * objects, so a pool at zero costs nothing) and GKE's cluster fee. Read-only; the clean-up report
 * shows it beside what it finds, and platform-destroy quotes it as what the platform cost before.
 */
import { listNodePools, type ClusterRef } from '../google/container.js';
import { listNodes, type KubeAccess } from './kube.js';
import { GKE_CLUSTER_FEE_HOURLY, HOURS_PER_MONTH, poolNodeHourly, round2, type PriceTable } from './pricing.js';

export interface PoolCost {
  pool: string;
  nodes: number;
  machineType: string;
  gpus: string;
  hourlyUsd: number;
  monthlyUsd: number;
}

export interface PlatformCost {
  pools: PoolCost[];
  clusterFeeMonthlyUsd: number;
  /** Pools and the cluster fee, per month. */
  monthlyUsd: number;
}

export async function platformCost(ref: ClusterRef, kube: KubeAccess, prices: PriceTable): Promise<PlatformCost> {
  const [pools, nodes] = await Promise.all([listNodePools(ref), listNodes(kube)]);
  const rows = pools.map((pool): PoolCost => {
    const count = nodes.filter((n) => n.labels['cloud.google.com/gke-nodepool'] === pool.name).length;
    const hourly = count * poolNodeHourly(prices, pool);
    const acc = pool.config?.accelerators?.[0];
    return {
      pool: pool.name,
      nodes: count,
      machineType: pool.config?.machineType ?? 'e2-medium',
      gpus: acc?.acceleratorType ? `${acc.acceleratorCount ?? 1} × ${acc.acceleratorType} per node` : 'none',
      hourlyUsd: Math.round(hourly * 10_000) / 10_000,
      monthlyUsd: round2(hourly * HOURS_PER_MONTH),
    };
  });
  const clusterFeeMonthlyUsd = round2(GKE_CLUSTER_FEE_HOURLY * HOURS_PER_MONTH);
  return { pools: rows, clusterFeeMonthlyUsd, monthlyUsd: round2(rows.reduce((a, r) => a + r.monthlyUsd, 0) + clusterFeeMonthlyUsd) };
}
