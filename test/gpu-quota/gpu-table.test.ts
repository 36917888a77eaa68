// The accelerator table (actions/lib/gpu.ts) and the pure parts of the quota logic.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'vitest';
import {
  GPU_TYPES,
  defaultMachineType,
  estimateHourlyCost,
  findGpuType,
  gpuQuotas,
  gpuTypeByMetric,
  regionalQuota,
  regionOfZone,
  REGION_PATTERN,
  ZONE_PATTERN,
  type GpuType,
} from '../../actions/lib/gpu.js';
import { decide, overallState, preferenceIdFor, targetsFor, type QuotaReading, type QuotaResult } from '../../actions/lib/gpu-quota.js';
import type { QuotaPreference } from '../../actions/lib/google/quotas.js';
import { SHAPES_FILE } from '../../scripts/sandbox/apis/compute.js';
import { DEFAULT_SEED_FILE } from '../../scripts/sandbox/index.js';

const type = (name: string): GpuType => {
  const t = findGpuType(name);
  assert.ok(t, name);
  return t;
};

test('every type has one name, one metric pair, machine types and a sane price', () => {
  const names = new Set(GPU_TYPES.map((t) => t.name));
  assert.equal(names.size, GPU_TYPES.length);
  assert.equal(new Set(GPU_TYPES.map((t) => t.metric)).size, GPU_TYPES.length);
  for (const t of GPU_TYPES) {
    assert.match(t.name, /^nvidia-[a-z0-9-]+$/);
    assert.match(t.metric, /^NVIDIA_[A-Z0-9_]+_GPUS$/);
    assert.equal(t.preemptibleMetric, `PREEMPTIBLE_${t.metric}`);
    assert.ok(Object.keys(t.machineTypes).length > 0, t.name);
    assert.ok(t.price.spot > 0 && t.price.spot < t.price.onDemand, t.name);
    if (t.gpuFamily) assert.match(t.gpuFamily, /^NVIDIA_[A-Z0-9_]+$/);
  }
  assert.equal(findGpuType(' NVIDIA-L4 ')?.name, 'nvidia-l4');
  assert.equal(findGpuType('nvidia-rtx-4090'), undefined);
});

test('quota names: per-family ids for older families, GPUS-PER-GPU-FAMILY for newer ones, and the global cap', () => {
  assert.deepEqual(gpuQuotas(type('nvidia-l4'), 'us-central1'), {
    regional: { service: 'compute.googleapis.com', quotaId: 'NVIDIA-L4-GPUS-per-project-region', dimensions: { region: 'us-central1' }, metric: 'NVIDIA_L4_GPUS', region: 'us-central1' },
    global: { service: 'compute.googleapis.com', quotaId: 'GPUS-ALL-REGIONS-per-project', dimensions: {}, metric: 'GPUS_ALL_REGIONS' },
  });
  assert.equal(regionalQuota(type('nvidia-l4'), 'us-east4', true).quotaId, 'PREEMPTIBLE-NVIDIA-L4-GPUS-per-project-region');
  assert.equal(regionalQuota(type('nvidia-a100-80gb'), 'us-east4').quotaId, 'NVIDIA-A100-80GB-GPUS-per-project-region');
  assert.deepEqual(regionalQuota(type('nvidia-h100-80gb'), 'us-east4'), {
    service: 'compute.googleapis.com',
    quotaId: 'GPUS-PER-GPU-FAMILY-per-project-region',
    dimensions: { region: 'us-east4', gpu_family: 'NVIDIA_H100' },
    metric: 'NVIDIA_H100_GPUS',
    region: 'us-east4',
  });
  assert.equal(gpuTypeByMetric('PREEMPTIBLE_NVIDIA_T4_GPUS')?.name, 'nvidia-tesla-t4');
});

test('the table names quotas and accelerators exactly as the sandbox seed does', () => {
  const seed = JSON.parse(readFileSync(DEFAULT_SEED_FILE, 'utf8')) as {
    quotas: { entries: { quotaId: string; metric: string; region?: string; gpuFamily?: string }[] };
  };
  for (const e of seed.quotas.entries.filter((x) => x.metric.endsWith('_GPUS') && x.region)) {
    const t = gpuTypeByMetric(e.metric);
    assert.ok(t, `table knows ${e.metric}`);
    const ref = regionalQuota(t, e.region as string, e.metric.startsWith('PREEMPTIBLE_'));
    assert.equal(ref.quotaId, e.quotaId, e.metric);
    assert.equal(ref.dimensions.gpu_family, e.gpuFamily, e.metric);
  }
  // The sandbox's accelerator catalog (data/compute-shapes.json) is exactly the table.
  const catalog = JSON.parse(readFileSync(SHAPES_FILE, 'utf8')) as { acceleratorTypes: Record<string, { metric: string; preemptibleMetric: string }> };
  assert.deepEqual(Object.keys(catalog.acceleratorTypes).sort(), GPU_TYPES.map((t) => t.name).sort());
  for (const [name, a] of Object.entries(catalog.acceleratorTypes)) {
    assert.equal(findGpuType(name)?.metric, a.metric, name);
    assert.equal(findGpuType(name)?.preemptibleMetric, a.preemptibleMetric, name);
  }
});

test('default machine types and cost estimates', () => {
  assert.equal(defaultMachineType(type('nvidia-l4')), 'g2-standard-4');
  assert.equal(defaultMachineType(type('nvidia-l4'), 3), 'g2-standard-48');
  assert.equal(defaultMachineType(type('nvidia-tesla-t4'), 4), 'n1-standard-16');
  assert.equal(defaultMachineType(type('nvidia-tesla-t4'), 8), undefined);
  assert.equal(defaultMachineType(type('nvidia-h100-mega-80gb'), 1), 'a3-megagpu-8g');
  assert.equal(estimateHourlyCost(type('nvidia-l4'), 4), 2.84);
  assert.equal(estimateHourlyCost(type('nvidia-l4'), 4, true), 1.12);
});

test('region and zone names', () => {
  for (const r of ['us-central1', 'europe-west4', 'me-central2', 'northamerica-northeast1']) assert.match(r, REGION_PATTERN);
  for (const r of ['us-central1-a', 'US-CENTRAL1', 'uscentral1', '']) assert.doesNotMatch(r, REGION_PATTERN);
  assert.match('us-central1-a', ZONE_PATTERN);
  assert.equal(regionOfZone('europe-west4-b'), 'europe-west4');
});

test('preference ids are deterministic, valid and distinct per quota and dimensions', () => {
  const ids = [
    preferenceIdFor(regionalQuota(type('nvidia-l4'), 'us-central1')),
    preferenceIdFor(regionalQuota(type('nvidia-l4'), 'us-central1', true)),
    preferenceIdFor(regionalQuota(type('nvidia-l4'), 'us-east4')),
    preferenceIdFor(regionalQuota(type('nvidia-h100-80gb'), 'us-central1')),
    preferenceIdFor(regionalQuota(type('nvidia-h200-141gb'), 'us-central1')),
    preferenceIdFor(gpuQuotas(type('nvidia-l4'), 'us-central1').global),
  ];
  assert.deepEqual(ids, [
    'mlabs-nvidia-l4-gpus-us-central1',
    'mlabs-preemptible-nvidia-l4-gpus-us-central1',
    'mlabs-nvidia-l4-gpus-us-east4',
    'mlabs-gpus-per-gpu-family-nvidia-h100-us-central1',
    'mlabs-gpus-per-gpu-family-nvidia-h200-us-central1',
    'mlabs-gpus-all-regions',
  ]);
  for (const id of ids) assert.match(id, /^[a-z][a-z0-9-]{0,62}$/);
  const long = preferenceIdFor(regionalQuota(type('nvidia-h100-mega-80gb'), 'northamerica-northeast1', true));
  assert.ok(long.length <= 63 && !long.endsWith('-'), long);
});

const pref = (preferred: number, granted: number | undefined, reconciling = false): QuotaPreference => ({
  name: 'p',
  service: 's',
  quotaId: 'q',
  dimensions: {},
  quotaConfig: { preferredValue: preferred, grantedValue: granted, annotations: {} },
  reconciling,
});

test('decisions: granted, partial, denied, pending, unlimited', () => {
  assert.deepEqual(decide(pref(12, 12), 8), { state: 'granted', granted: 12 });
  assert.deepEqual(decide(pref(12, 10), 8), { state: 'partially_granted', granted: 10 });
  assert.deepEqual(decide(pref(12, 8), 8), { state: 'denied', granted: 8 });
  assert.deepEqual(decide(pref(12, 8, true), 8), { state: 'pending' });
  assert.deepEqual(decide(pref(12, undefined), 8), { state: 'pending' });
  assert.deepEqual(decide(pref(-1, -1), 8), { state: 'granted', granted: -1 });
});

test('targets: the global cap covers the GPUs in use outside the family quota; overall state is the worst', () => {
  const reading = (usage: number): QuotaReading => ({ usage } as QuotaReading);
  assert.deepEqual(targetsFor(8, reading(2), reading(5)), { regional: 8, global: 11 });
  assert.deepEqual(targetsFor(8, reading(0), reading(0)), { regional: 8, global: 8 });
  const r = (state: QuotaResult['state']): QuotaResult => ({ state } as QuotaResult);
  assert.equal(overallState([r('sufficient'), r('granted')]), 'granted');
  assert.equal(overallState([r('pending'), r('granted')]), 'pending');
  assert.equal(overallState([r('partially_granted'), r('denied')]), 'denied');
  assert.equal(overallState([r('sufficient'), r('sufficient')]), 'sufficient');
});
