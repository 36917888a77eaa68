/**
 * Prices for cost-cleanup's findings: GPUs (on-demand and Spot) by accelerator type, machine
 * cores and RAM by family, persistent disk and snapshot storage, Cloud Storage and Artifact Registry
 * storage. Read from the Cloud Billing Catalog API (`v1/services/SERVICE/skus`, us-central1 / Americas
 * list prices in USD); anything the catalog does not answer comes from FALLBACK_PRICES, a dated table
 * shipped here. The table says which prices it used and of what date.
 */
import { describeError } from '../errors.js';
import { apiUrl } from '../endpoints.js';
import { listAll } from '../http.js';
import { getAccessToken } from '../google/auth.js';
import { warning } from '../runner.js';
import type { NodePool } from '../google/container.js';

export const HOURS_PER_MONTH = 730;

export const BILLING_SERVICES = {
  computeEngine: '6F81-5844-456A',
  cloudStorage: '95FF-2EF5-5EA1',
  artifactRegistry: '149C-F9EC-3994',
} as const;

export interface PriceTable {
  /** Where the prices came from: the catalog (maybe partly completed from the fallback) or only the fallback. */
  source: 'billing-catalog' | 'billing-catalog+fallback' | 'fallback';
  /** The date of the prices: the catalog's newest effectiveTime, or the fallback table's date. */
  date: string;
  region: string;
  currency: 'USD';
  /** USD per GPU-hour by Compute accelerator type. */
  gpu: Record<string, { onDemand: number; spot: number }>;
  /** USD per vCPU-hour and per GiB-hour by machine family (g2, n1, e2, ...). */
  core: Record<string, number>;
  ram: Record<string, number>;
  /** USD per GiB-month by disk type. */
  disk: Record<string, number>;
  diskSnapshot: number;
  gcsStandard: number;
  artifactRegistry: number;
  /** Items taken from the fallback although the catalog answered. */
  fallbackItems: string[];
  /** Why the catalog was not used, when it was not. */
  catalogError?: string;
}

/** us-central1 list prices, USD, as of FALLBACK_DATE (public price pages). Used when the catalog is unreachable. */
export const FALLBACK_DATE = '2025-06-01';
export const FALLBACK_PRICES: Omit<PriceTable, 'source' | 'date' | 'region' | 'currency' | 'fallbackItems' | 'catalogError'> = {
  gpu: {
    'nvidia-l4': { onDemand: 0.5600, spot: 0.2240 },
    'nvidia-tesla-t4': { onDemand: 0.35, spot: 0.14 },
    'nvidia-tesla-v100': { onDemand: 2.48, spot: 0.992 },
    'nvidia-tesla-p100': { onDemand: 1.46, spot: 0.584 },
    'nvidia-tesla-p4': { onDemand: 0.6, spot: 0.24 },
    'nvidia-tesla-a100': { onDemand: 2.934, spot: 1.174 },
    'nvidia-a100-80gb': { onDemand: 3.928, spot: 1.571 },
    'nvidia-h100-80gb': { onDemand: 9.796, spot: 3.918 },
    'nvidia-h100-mega-80gb': { onDemand: 10.8, spot: 4.32 },
    'nvidia-h200-141gb': { onDemand: 10.6, spot: 3.7 },
    'nvidia-b200': { onDemand: 13.5, spot: 5.0 },
  },
  core: { e2: 0.021811, n1: 0.031611, n2: 0.031611, g2: 0.02436, a2: 0.031611, a3: 0.0295, a4: 0.0295 },
  ram: { e2: 0.002923, n1: 0.004237, n2: 0.004237, g2: 0.00285, a2: 0.004237, a3: 0.00258, a4: 0.00258 },
  disk: { 'pd-standard': 0.04, 'pd-balanced': 0.1, 'pd-ssd': 0.17, 'pd-extreme': 0.125, 'hyperdisk-balanced': 0.08 },
  diskSnapshot: 0.05,
  gcsStandard: 0.02,
  artifactRegistry: 0.1,
};

/** The words the catalog's SKU descriptions use for each accelerator type. */
const GPU_SKU_NAMES: Record<string, string> = {
  'nvidia-l4': 'L4',
  'nvidia-tesla-t4': 'Tesla T4',
  'nvidia-tesla-v100': 'Tesla V100',
  'nvidia-tesla-p100': 'Tesla P100',
  'nvidia-tesla-p4': 'Tesla P4',
  'nvidia-tesla-a100': 'Tesla A100',
  'nvidia-a100-80gb': 'A100 80GB',
  'nvidia-h100-80gb': 'H100 80GB',
  'nvidia-h100-mega-80gb': 'H100 80GB Mega',
  'nvidia-h200-141gb': 'H200 141GB',
  'nvidia-b200': 'B200',
};
const FAMILY_SKU_NAMES: Record<string, string> = { e2: 'E2', n1: 'N1 Predefined', n2: 'N2', g2: 'G2', a2: 'A2', a3: 'A3', a4: 'A4' };
const DISK_SKU_NAMES: Record<string, string> = { 'pd-standard': 'Storage PD Capacity', 'pd-balanced': 'Balanced PD Capacity', 'pd-ssd': 'SSD backed PD Capacity' };

export interface Sku {
  description?: string;
  serviceRegions?: string[];
  pricingInfo?: Array<{ effectiveTime?: string; pricingExpression?: { usageUnit?: string; tieredRates?: Array<{ startUsageAmount?: number; unitPrice?: { units?: string; nanos?: number } }> } }>;
}

/** The unit price of a SKU: the first non-free tier of its newest pricing. */
export function unitPrice(sku: Sku): number | undefined {
  const info = sku.pricingInfo?.[sku.pricingInfo.length - 1];
  const rates = info?.pricingExpression?.tieredRates ?? [];
  for (const r of rates) {
    const v = Number(r.unitPrice?.units ?? 0) + Number(r.unitPrice?.nanos ?? 0) / 1e9;
    if (v > 0) return v;
  }
  return undefined;
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function regionMatches(sku: Sku, region: string): boolean {
  const regions = sku.serviceRegions ?? [];
  const multi = region.startsWith('us-') ? 'us' : region.startsWith('europe-') ? 'europe' : region.startsWith('asia-') ? 'asia' : '';
  return regions.length === 0 || regions.includes(region) || regions.includes('global') || (!!multi && regions.includes(multi));
}

/** Build the table from catalog SKUs (Compute Engine, Cloud Storage, Artifact Registry); missing items from the fallback. */
export function tableFromSkus(skus: { compute: Sku[]; storage: Sku[]; registry: Sku[] }, region: string): PriceTable {
  const fallbackItems: string[] = [];
  let newest = '';
  const find = (list: Sku[], re: RegExp, item: string, fallback: number): number => {
    const sku = list.find((s) => re.test(s.description ?? '') && regionMatches(s, region));
    const price = sku ? unitPrice(sku) : undefined;
    if (price === undefined) {
      fallbackItems.push(item);
      return fallback;
    }
    const eff = sku?.pricingInfo?.[sku.pricingInfo.length - 1]?.effectiveTime ?? '';
    if (eff > newest) newest = eff;
    return price;
  };
  const gpu: PriceTable['gpu'] = {};
  for (const [type, words] of Object.entries(GPU_SKU_NAMES)) {
    const fb = FALLBACK_PRICES.gpu[type] ?? { onDemand: 0, spot: 0 };
    gpu[type] = {
      onDemand: find(skus.compute, new RegExp(`^Nvidia ${esc(words)} GPU running in`, 'i'), `${type} GPU`, fb.onDemand),
      spot: find(skus.compute, new RegExp(`^Nvidia ${esc(words)} GPU attached to Spot Preemptible VMs`, 'i'), `${type} Spot GPU`, fb.spot),
    };
  }
  const core: Record<string, number> = {};
  const ram: Record<string, number> = {};
  for (const [family, words] of Object.entries(FAMILY_SKU_NAMES)) {
    core[family] = find(skus.compute, new RegExp(`^${esc(words)} Instance Core running in`, 'i'), `${family} core`, FALLBACK_PRICES.core[family] ?? 0);
    ram[family] = find(skus.compute, new RegExp(`^${esc(words)} Instance Ram running in`, 'i'), `${family} RAM`, FALLBACK_PRICES.ram[family] ?? 0);
  }
  const disk: Record<string, number> = { ...FALLBACK_PRICES.disk };
  for (const [type, words] of Object.entries(DISK_SKU_NAMES)) disk[type] = find(skus.compute, new RegExp(`^${esc(words)}`, 'i'), `${type} capacity`, FALLBACK_PRICES.disk[type] ?? 0);
  const table: PriceTable = {
    source: 'billing-catalog',
    date: newest ? newest.slice(0, 10) : new Date().toISOString().slice(0, 10),
    region,
    currency: 'USD',
    gpu,
    core,
    ram,
    disk,
    diskSnapshot: find(skus.compute, /^Storage PD Snapshot/i, 'PD snapshot storage', FALLBACK_PRICES.diskSnapshot),
    gcsStandard: find(skus.storage, /^Standard Storage US/i, 'Cloud Storage Standard', FALLBACK_PRICES.gcsStandard),
    artifactRegistry: find(skus.registry, /^Artifact Registry Storage/i, 'Artifact Registry storage', FALLBACK_PRICES.artifactRegistry),
    fallbackItems,
  };
  if (fallbackItems.length) table.source = 'billing-catalog+fallback';
  return table;
}

export function fallbackTable(region: string, why?: string): PriceTable {
  return { ...structuredClone(FALLBACK_PRICES), source: 'fallback', date: FALLBACK_DATE, region, currency: 'USD', fallbackItems: [], ...(why ? { catalogError: why } : {}) };
}

async function skusOf(service: string, token: string): Promise<Sku[]> {
  return listAll<Sku>(apiUrl('cloudbilling', `v1/services/${service}/skus`), 'skus', { token, query: { currencyCode: 'USD', pageSize: 5000 } });
}

/** The price table: the Billing Catalog when it answers, else the shipped fallback (with a warning). */
export async function loadPrices(region: string): Promise<PriceTable> {
  try {
    const token = await getAccessToken();
    const [compute, storage] = await Promise.all([skusOf(BILLING_SERVICES.computeEngine, token), skusOf(BILLING_SERVICES.cloudStorage, token)]);
    let registry: Sku[] = [];
    try {
      registry = await skusOf(BILLING_SERVICES.artifactRegistry, token);
    } catch {
      /* optional: falls back per item */
    }
    return tableFromSkus({ compute, storage, registry }, region);
  } catch (err) {
    const why = describeError(err);
    warning(`Cloud Billing Catalog unreachable (${why}); using the price table shipped with the action (${FALLBACK_DATE}).`);
    return fallbackTable(region, why);
  }
}

/** vCPUs and memory (GiB) of a machine type, from its name. */
export function machineShape(machineType: string): { family: string; cpu: number; memoryGb: number } {
  const m = /^([a-z]\d+[a-z]?)-(standard|highmem|highcpu|highgpu|ultragpu|megagpu|medium|small|micro)-?(\d+)?(g)?$/.exec(machineType);
  const family = m?.[1] ?? machineType.split('-')[0] ?? 'e2';
  const kind = m?.[2] ?? 'standard';
  const n = Number(m?.[3] ?? 2);
  if (kind === 'medium') return { family, cpu: 2, memoryGb: 4 };
  if (kind === 'small') return { family, cpu: 2, memoryGb: 2 };
  if (kind === 'micro') return { family, cpu: 2, memoryGb: 1 };
  if (family === 'a2' && kind === 'highgpu') return { family, cpu: 12 * n, memoryGb: 85 * n };
  if (family === 'a2' && kind === 'ultragpu') return { family, cpu: 12 * n, memoryGb: 170 * n };
  if (family === 'a2' && kind === 'megagpu') return { family, cpu: 96, memoryGb: 1360 };
  if (family === 'a3') return { family, cpu: 26 * n, memoryGb: 234 * n };
  if (family === 'g2') return { family, cpu: n, memoryGb: 4 * n };
  const per = kind === 'highmem' ? 8 : kind === 'highcpu' ? 1 : family === 'n1' ? 3.75 : 4;
  return { family, cpu: n, memoryGb: per * n };
}

export interface NodeCostInput {
  machineType: string;
  acceleratorType?: string;
  gpusPerNode: number;
  spot: boolean;
  bootDiskGb: number;
  bootDiskType: string;
}

/** USD per hour of one node: cores, RAM, GPUs and boot disk. */
export function nodeHourly(p: PriceTable, n: NodeCostInput): number {
  const shape = machineShape(n.machineType);
  const spotFactor = n.spot ? 0.4 : 1;
  const machine = (shape.cpu * (p.core[shape.family] ?? p.core.n1 ?? 0) + shape.memoryGb * (p.ram[shape.family] ?? p.ram.n1 ?? 0)) * spotFactor;
  const g = n.acceleratorType ? p.gpu[n.acceleratorType] : undefined;
  const gpus = g ? n.gpusPerNode * (n.spot ? g.spot : g.onDemand) : 0;
  const disk = (n.bootDiskGb * (p.disk[n.bootDiskType] ?? p.disk['pd-balanced'] ?? 0)) / HOURS_PER_MONTH;
  return machine + gpus + disk;
}

/** GKE Standard's cluster management fee, per cluster-hour (list price; the free-tier credit is not counted). */
export const GKE_CLUSTER_FEE_HOURLY = 0.1;

/** USD per hour of one node of a GKE node pool, from the pool's node config. */
export function poolNodeHourly(p: PriceTable, pool: NodePool): number {
  const c = pool.config ?? {};
  const acc = c.accelerators?.[0];
  return nodeHourly(p, {
    machineType: c.machineType ?? 'e2-medium',
    acceleratorType: acc?.acceleratorType,
    gpusPerNode: Number(acc?.acceleratorCount ?? 0),
    spot: c.spot === true || c.preemptible === true,
    bootDiskGb: Number(c.diskSizeGb ?? 100),
    bootDiskType: c.diskType ?? 'pd-balanced',
  });
}

export const money = (usd: number): string => `$${usd.toFixed(2)}`;
export const round2 = (usd: number): number => Math.round(usd * 100) / 100;

/** One line for the summary: where the prices came from and their date. */
export function priceSourceText(p: PriceTable): string {
  if (p.source === 'fallback') return `Prices: the table shipped with the action, dated ${p.date} (Cloud Billing Catalog unreachable${p.catalogError ? `: ${p.catalogError}` : ''}), ${p.region}, USD list prices.`;
  const partly = p.fallbackItems.length ? `; from the shipped table (${FALLBACK_DATE}) for ${p.fallbackItems.length} item(s) the catalog did not list` : '';
  return `Prices: Cloud Billing Catalog API, effective ${p.date}, ${p.region}, USD list prices${partly}.`;
}
