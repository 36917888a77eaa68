/**
 * The accelerator types the suite knows: the one table every GPU action reads
 * (gpu-quota, gpu-capacity, node-pool-expand/restore, cost estimates).
 *
 * For each type: how Compute Engine names its regional quota metric (regions.get
 * `quotas[].metric`, on-demand and Spot/preemptible), how Cloud Quotas names the
 * same quota (`quotaId` + `dimensions`), which machine type carries it for a given
 * GPU count, and an approximate hourly price.
 *
 * Quota naming (see shared/reference/google-behaviour.md):
 * - older families have their own regional quota ids, e.g. `NVIDIA-L4-GPUS-per-project-region`
 *   and `PREEMPTIBLE-NVIDIA-L4-GPUS-per-project-region`, dimension `region`;
 * - newer families (H100, H200, B200, ...) share `GPUS-PER-GPU-FAMILY-per-project-region`
 *   with dimensions `region` and `gpu_family` (e.g. `NVIDIA_H100`);
 * - every GPU also counts against the global cap `GPUS-ALL-REGIONS-per-project`
 *   (Compute metric `GPUS_ALL_REGIONS`, no dimension).
 *
 * Prices are rough us-central1 list prices in USD per GPU-hour, including the
 * GPU's share of its default machine type. They exist for cost estimates in job
 * summaries, never for billing.
 */
import { InputError } from './errors.js';
import { readString } from './inputs.js';

export const COMPUTE_SERVICE = 'compute.googleapis.com';

/** The global GPU cap every GPU counts against. */
export const GLOBAL_GPU_QUOTA = {
  quotaId: 'GPUS-ALL-REGIONS-per-project',
  metric: 'GPUS_ALL_REGIONS',
} as const;

/** Quota id shared by newer GPU families, told apart by the `gpu_family` dimension. */
export const FAMILY_QUOTA_ID = 'GPUS-PER-GPU-FAMILY-per-project-region';
export const PREEMPTIBLE_FAMILY_QUOTA_ID = 'PREEMPTIBLE-GPUS-PER-GPU-FAMILY-per-project-region';

export interface GpuPrice {
  /** USD per GPU-hour, on-demand. */
  onDemand: number;
  /** USD per GPU-hour, Spot (varies daily; a typical value). */
  spot: number;
}

export interface GpuType {
  /** Compute accelerator type name, e.g. `nvidia-l4` (what GKE's `--accelerator type=` takes). */
  name: string;
  /** Human name for summaries, e.g. `NVIDIA L4`. */
  displayName: string;
  /** Compute regional quota metric for on-demand GPUs, e.g. `NVIDIA_L4_GPUS`. */
  metric: string;
  /** Compute regional quota metric for Spot/preemptible GPUs, e.g. `PREEMPTIBLE_NVIDIA_L4_GPUS`. */
  preemptibleMetric: string;
  /**
   * Cloud Quotas `gpu_family` dimension for families on the shared
   * GPUS-PER-GPU-FAMILY quota (e.g. `NVIDIA_H100`); unset for families with their own quota id.
   */
  gpuFamily?: string;
  /** Machine type for 1, 2, 4, 8 (16) GPUs on one node; the keys are the counts a node may carry. */
  machineTypes: Record<number, string>;
  /** GPU memory per card, GB. */
  memoryGb: number;
  price: GpuPrice;
}

function perFamily(
  name: string,
  displayName: string,
  metric: string,
  machineTypes: Record<number, string>,
  memoryGb: number,
  price: GpuPrice,
  gpuFamily?: string,
): GpuType {
  return { name, displayName, metric, preemptibleMetric: `PREEMPTIBLE_${metric}`, machineTypes, memoryGb, price, ...(gpuFamily ? { gpuFamily } : {}) };
}

/** Every accelerator type the suite accepts, by Compute name. */
export const GPU_TYPES: readonly GpuType[] = [
  perFamily('nvidia-tesla-t4', 'NVIDIA T4', 'NVIDIA_T4_GPUS', { 1: 'n1-standard-4', 2: 'n1-standard-8', 4: 'n1-standard-16' }, 16, { onDemand: 0.54, spot: 0.18 }),
  perFamily('nvidia-l4', 'NVIDIA L4', 'NVIDIA_L4_GPUS', { 1: 'g2-standard-4', 2: 'g2-standard-24', 4: 'g2-standard-48', 8: 'g2-standard-96' }, 24, { onDemand: 0.71, spot: 0.28 }),
  perFamily('nvidia-tesla-v100', 'NVIDIA V100', 'NVIDIA_V100_GPUS', { 1: 'n1-standard-8', 2: 'n1-standard-16', 4: 'n1-standard-32', 8: 'n1-standard-64' }, 16, { onDemand: 2.86, spot: 0.99 }),
  perFamily('nvidia-tesla-p100', 'NVIDIA P100', 'NVIDIA_P100_GPUS', { 1: 'n1-standard-4', 2: 'n1-standard-8', 4: 'n1-standard-16' }, 16, { onDemand: 1.65, spot: 0.6 }),
  perFamily('nvidia-tesla-p4', 'NVIDIA P4', 'NVIDIA_P4_GPUS', { 1: 'n1-standard-4', 2: 'n1-standard-8', 4: 'n1-standard-16' }, 8, { onDemand: 0.79, spot: 0.29 }),
  perFamily('nvidia-tesla-a100', 'NVIDIA A100 40GB', 'NVIDIA_A100_GPUS', { 1: 'a2-highgpu-1g', 2: 'a2-highgpu-2g', 4: 'a2-highgpu-4g', 8: 'a2-highgpu-8g', 16: 'a2-megagpu-16g' }, 40, { onDemand: 3.67, spot: 1.47 }),
  perFamily('nvidia-a100-80gb', 'NVIDIA A100 80GB', 'NVIDIA_A100_80GB_GPUS', { 1: 'a2-ultragpu-1g', 2: 'a2-ultragpu-2g', 4: 'a2-ultragpu-4g', 8: 'a2-ultragpu-8g' }, 80, { onDemand: 5.07, spot: 2.03 }),
  perFamily('nvidia-h100-80gb', 'NVIDIA H100 80GB', 'NVIDIA_H100_GPUS', { 1: 'a3-highgpu-1g', 2: 'a3-highgpu-2g', 4: 'a3-highgpu-4g', 8: 'a3-highgpu-8g' }, 80, { onDemand: 11.06, spot: 3.6 }, 'NVIDIA_H100'),
  perFamily('nvidia-h100-mega-80gb', 'NVIDIA H100 Mega 80GB', 'NVIDIA_H100_MEGA_GPUS', { 8: 'a3-megagpu-8g' }, 80, { onDemand: 12.19, spot: 4.0 }, 'NVIDIA_H100_MEGA'),
  perFamily('nvidia-h200-141gb', 'NVIDIA H200 141GB', 'NVIDIA_H200_GPUS', { 8: 'a3-ultragpu-8g' }, 141, { onDemand: 10.6, spot: 3.7 }, 'NVIDIA_H200'),
  perFamily('nvidia-b200', 'NVIDIA B200', 'NVIDIA_B200_GPUS', { 8: 'a4-highgpu-8g' }, 180, { onDemand: 13.5, spot: 5.0 }, 'NVIDIA_B200'),
];

/** Accepted names, for input validation messages. */
export const GPU_TYPE_NAMES: readonly string[] = GPU_TYPES.map((t) => t.name);

/** The type called `name` (Compute accelerator type name), or undefined. */
export function findGpuType(name: string): GpuType | undefined {
  const n = name.trim().toLowerCase();
  return GPU_TYPES.find((t) => t.name === n);
}

/**
 * An accelerator-type input (accelerator_type, gpu_family, cloud_accelerator): one of the types above,
 * by its Compute name. Empty is refused unless action.yml has a default.
 */
export function readAccelerator(name: string): GpuType {
  const accepted = `one of ${GPU_TYPE_NAMES.join(', ')}`;
  const raw = readString(name, { required: true, accepted });
  const type = findGpuType(raw);
  if (!type) throw new InputError(name, raw, `expected ${accepted}.`);
  return type;
}

/** The type whose on-demand or preemptible Compute metric is `metric` (e.g. from a GKE quota error). */
export function gpuTypeByMetric(metric: string): GpuType | undefined {
  return GPU_TYPES.find((t) => t.metric === metric || t.preemptibleMetric === metric);
}

/** A quota as Cloud Quotas names it (service + quota id + dimensions) and as Compute names it (metric). */
export interface QuotaRef {
  service: string;
  quotaId: string;
  /** `{}` for the global cap; `{ region }` or `{ region, gpu_family }` for regional GPU quotas. */
  dimensions: Record<string, string>;
  /** Compute quota metric (regions.get / projects.get `quotas[].metric`). */
  metric: string;
  /** Region for regional quotas, undefined for the global cap. */
  region?: string;
}

/** The regional GPU quota a node pool of `type` in `region` draws from. */
export function regionalQuota(type: GpuType, region: string, spot = false): QuotaRef {
  const metric = spot ? type.preemptibleMetric : type.metric;
  if (type.gpuFamily) {
    return {
      service: COMPUTE_SERVICE,
      quotaId: spot ? PREEMPTIBLE_FAMILY_QUOTA_ID : FAMILY_QUOTA_ID,
      dimensions: { region, gpu_family: type.gpuFamily },
      metric,
      region,
    };
  }
  return { service: COMPUTE_SERVICE, quotaId: `${metric.replace(/_/g, '-')}-per-project-region`, dimensions: { region }, metric, region };
}

/** The global all-regions GPU cap. */
export function globalGpuQuota(): QuotaRef {
  return { service: COMPUTE_SERVICE, quotaId: GLOBAL_GPU_QUOTA.quotaId, dimensions: {}, metric: GLOBAL_GPU_QUOTA.metric };
}

/** Both quotas a GPU node pool needs: the regional family quota and the global cap. */
export function gpuQuotas(type: GpuType, region: string, spot = false): { regional: QuotaRef; global: QuotaRef } {
  return { regional: regionalQuota(type, region, spot), global: globalGpuQuota() };
}

/**
 * The default machine type for `gpusPerNode` cards of `type`: the exact entry, else the
 * smallest machine carrying more; undefined when no machine carries that many.
 */
export function defaultMachineType(type: GpuType, gpusPerNode = 1): string | undefined {
  const counts = Object.keys(type.machineTypes)
    .map(Number)
    .sort((a, b) => a - b);
  const fit = counts.find((c) => c >= gpusPerNode);
  return fit === undefined ? undefined : type.machineTypes[fit];
}

/**
 * GPU counts one node of `type` can carry (the machine table's keys), per Google's GPU machine
 * docs: T4, P4, P100 1/2/4; L4, V100, A100 80GB, H100 1/2/4/8; A100 40GB 1/2/4/8/16; H100 Mega,
 * H200, B200 8.
 */
export function gpusPerNodeOptions(type: GpuType): number[] {
  return Object.keys(type.machineTypes)
    .map(Number)
    .sort((a, b) => a - b);
}

/** "1, 2, 4 or 8". */
export function orList(items: readonly (string | number)[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

/**
 * Accelerator-optimized machine types carry a fixed number of one GPU type (G2: L4; A2: A100;
 * A3: H100/H200; A4: B200). N1 machines take T4, V100, P4 or P100 in a chosen count; every other
 * family (E2, N2, C3, ...) takes no GPU.
 */
export const FIXED_GPU_MACHINES: Readonly<Record<string, { type: string; count: number }>> = {
  ...Object.fromEntries(
    [
      ['4', 1], ['8', 1], ['12', 1], ['16', 1], ['32', 1], ['24', 2], ['48', 4], ['96', 8],
    ].map(([cpus, count]) => [`g2-standard-${cpus}`, { type: 'nvidia-l4', count: count as number }]),
  ),
  ...Object.fromEntries([1, 2, 4, 8].map((n) => [`a2-highgpu-${n}g`, { type: 'nvidia-tesla-a100', count: n }])),
  'a2-megagpu-16g': { type: 'nvidia-tesla-a100', count: 16 },
  ...Object.fromEntries([1, 2, 4, 8].map((n) => [`a2-ultragpu-${n}g`, { type: 'nvidia-a100-80gb', count: n }])),
  ...Object.fromEntries([1, 2, 4, 8].map((n) => [`a3-highgpu-${n}g`, { type: 'nvidia-h100-80gb', count: n }])),
  'a3-edgegpu-8g': { type: 'nvidia-h100-80gb', count: 8 },
  'a3-megagpu-8g': { type: 'nvidia-h100-mega-80gb', count: 8 },
  'a3-ultragpu-8g': { type: 'nvidia-h200-141gb', count: 8 },
  'a4-highgpu-8g': { type: 'nvidia-b200', count: 8 },
};

/** The GPU types an N1 machine takes (attached in a chosen count). */
export const N1_GPU_TYPES: readonly string[] = ['nvidia-tesla-t4', 'nvidia-tesla-v100', 'nvidia-tesla-p4', 'nvidia-tesla-p100'];

/** Why `machineType` cannot carry `gpusPerNode` cards of `type`; undefined when it can. */
export function machineTypeProblem(type: GpuType, gpusPerNode: number, machineType: string): string | undefined {
  const suggestion = type.machineTypes[gpusPerNode] ? ` (for ${gpusPerNode} use ${type.machineTypes[gpusPerNode]}, or leave machine_type empty)` : '';
  const fixed = FIXED_GPU_MACHINES[machineType];
  if (fixed) {
    if (fixed.type !== type.name) return `${machineType} carries ${fixed.type} GPUs, not ${type.name}${suggestion}.`;
    if (fixed.count !== gpusPerNode) return `${machineType} carries exactly ${fixed.count} ${type.name} GPU${fixed.count === 1 ? '' : 's'}, not accelerator_count ${gpusPerNode}${suggestion}.`;
    return undefined;
  }
  const family = machineType.split('-')[0] ?? '';
  if (family === 'n1') return N1_GPU_TYPES.includes(type.name) ? undefined : `${type.name} does not attach to N1 machines${suggestion}.`;
  if (['g2', 'a2', 'a3', 'a4'].includes(family)) return `${machineType} is not a ${family.toUpperCase()} machine type that carries GPUs${suggestion}.`;
  return `${family.toUpperCase()} machine types take no GPU; ${type.name} runs on ${Object.values(type.machineTypes).join(', ')}${suggestion}.`;
}

/** Approximate USD per hour for `gpus` cards of `type` (with their machines' share). */
export function estimateHourlyCost(type: GpuType, gpus: number, spot = false): number {
  const rate = spot ? type.price.spot : type.price.onDemand;
  return Math.round(rate * gpus * 100) / 100;
}

/** A Compute region name: `us-central1`, `europe-west4`, `me-central2`. */
export const REGION_PATTERN = /^[a-z]+-[a-z]+\d+$/;
/** A Compute zone name: `us-central1-a`. */
export const ZONE_PATTERN = /^[a-z]+-[a-z]+\d+-[a-z]$/;

/** The region of a zone (`us-central1-a` -> `us-central1`). */
export function regionOfZone(zone: string): string {
  return zone.replace(/-[a-z]$/, '');
}
