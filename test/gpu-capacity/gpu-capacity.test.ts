// gpu-capacity through its bundle against the sandbox's Compute (zones, accelerator types,
// regions.get / projects.get quotas). One sandbox for the file; each test starts from the seed.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, beforeEach, describe, test } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import { GPU_TYPES } from '../../actions/lib/gpu.js';
import type { QuotaEntry } from '../../scripts/sandbox/quota.js';
import { rankZones } from '../../actions/lib/gpu-capacity.js';
import { runAction, type ActionRun } from '../harness.js';

let sb: Sandbox;
let seedEntries: QuotaEntry[];
let seedZones: unknown;

type Zone = { name: string; region: string; status?: string };
const zonesState = (): Zone[] => (sb.state.compute as { zones: Zone[] }).zones;

beforeAll(async () => {
  sb = await startSandbox({ operationMs: 50 });
  seedEntries = structuredClone(sb.ctx.quota.entries());
  seedZones = structuredClone(zonesState());
});
afterAll(async () => {
  await sb.stop();
});
beforeEach(() => {
  sb.faults.clear();
  const live = sb.ctx.quota.entries();
  live.splice(0, live.length, ...structuredClone(seedEntries));
  zonesState().splice(0, zonesState().length, ...(structuredClone(seedZones) as Zone[]));
});

type Json = Record<string, unknown>;

function setQuota(metric: string, region: string | undefined, patch: Partial<QuotaEntry>): void {
  const e = sb.ctx.quota.find(metric, region);
  assert.ok(e, `seed has ${metric} ${region ?? 'global'}`);
  Object.assign(e, patch);
}

function run(inputs: Record<string, string | number | boolean>): Promise<ActionRun> {
  return runAction('gpu-capacity', { inputs, env: { ...sb.env, MLABS_RETRY_BASE_MS: '1' } });
}
const zonesOf = (r: ActionRun): Json[] => JSON.parse(r.outputs.zones ?? '[]') as Json[];
const errorOf = (r: ActionRun): string => r.main.annotations.find((a) => a.level === 'error')?.message ?? '';
const ok = (r: ActionRun): void => assert.equal(r.exitCode, 0, `${errorOf(r)}\n${r.main.stdout}\n${r.main.stderr}`);

describe('gpu-capacity', () => {
  test('lists the zones offering the type, ranked: room for count first, then more headroom, then name', async () => {
    const r = await run({ accelerator_type: 'nvidia-l4', count: 4 });
    ok(r);
    const zones = zonesOf(r);
    // us-central1 has 8 free, us-east4 4, europe-west4 and us-west4 2 each (seed); us-central1-f offers no L4.
    assert.deepEqual(
      zones.map((z) => z.zone),
      ['us-central1-a', 'us-central1-b', 'us-central1-c', 'us-east4-a', 'us-east4-c', 'europe-west4-a', 'europe-west4-b', 'europe-west4-c', 'us-west4-a', 'us-west4-c'],
    );
    assert.deepEqual(zones.map((z) => z.rank), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(zones[0], {
      zone: 'us-central1-a',
      region: 'us-central1',
      status: 'UP',
      max_gpus_per_node: 8,
      regional_headroom: 8,
      global_headroom: 12,
      headroom: 8,
      fits: true,
      rank: 1,
    });
    assert.equal(zones.find((z) => z.zone === 'us-west4-a')?.fits, false);
    assert.equal(r.outputs.best_zone, 'us-central1-a');
    assert.equal(r.outputs.zone_list, 'us-central1-a,us-central1-b,us-central1-c,us-east4-a,us-east4-c');
    assert.equal(r.outputs.global_headroom, '12');
    assert.equal(r.outputs.fits, 'true');
    const regions = JSON.parse(r.outputs.regions ?? '[]') as Json[];
    assert.deepEqual(
      regions.map((x) => [x.region, x.metric, x.limit, x.usage, x.headroom]),
      [
        ['europe-west4', 'NVIDIA_L4_GPUS', 2, 0, 2],
        ['us-central1', 'NVIDIA_L4_GPUS', 8, 0, 8],
        ['us-east4', 'NVIDIA_L4_GPUS', 4, 0, 4],
        ['us-west4', 'NVIDIA_L4_GPUS', 2, 0, 2],
      ],
    );
    assert.match(r.summary, /\| Rank \| Zone \| Region \| Status \| Max GPUs\/node \| Regional headroom \| Global headroom \| Fits \|/);
    assert.match(r.summary, /\| 1 \| us-central1-a \| us-central1 \| UP \| 8 \| 8 \| 12 \| yes \|/);
    assert.match(r.summary, /\| GPUS_ALL_REGIONS \| all regions \| 0 \| 12 \| 12 \|/);
    assert.match(r.summary, /Best zone:\*\* us-central1-a/);
    assert.match(r.summary, /about \$2\.84\/hour/);
  });

  test('usage counts against the headroom and reorders regions', async () => {
    setQuota('NVIDIA_L4_GPUS', 'us-central1', { usage: 6 });
    const r = await run({ accelerator_type: 'nvidia-l4', count: 3, regions: 'us-central1,us-east4' });
    ok(r);
    const zones = zonesOf(r);
    assert.deepEqual(zones.map((z) => z.zone), ['us-east4-a', 'us-east4-c', 'us-central1-a', 'us-central1-b', 'us-central1-c']);
    assert.equal(zones[2]?.regional_headroom, 2);
    assert.equal(r.outputs.zone_list, 'us-east4-a,us-east4-c');
  });

  test('the caller\'s region order wins among zones that fit; other regions are left out', async () => {
    const r = await run({ accelerator_type: 'nvidia-l4', count: 2, regions: 'us-west4, us-central1' });
    ok(r);
    assert.deepEqual(zonesOf(r).map((z) => z.zone), ['us-west4-a', 'us-west4-c', 'us-central1-a', 'us-central1-b', 'us-central1-c']);
    assert.equal(r.outputs.best_zone, 'us-west4-a');
  });

  test('the global all-regions cap limits every zone; require_fit turns that into a failure', async () => {
    setQuota('GPUS_ALL_REGIONS', undefined, { usage: 10 });
    const r = await run({ accelerator_type: 'nvidia-l4', count: 4 });
    ok(r);
    assert.equal(r.outputs.fits, 'false');
    assert.equal(r.outputs.best_zone, '');
    assert.equal(r.outputs.zone_list, '');
    assert.equal(r.outputs.global_headroom, '2');
    assert.ok(zonesOf(r).every((z) => z.headroom === 2 && z.fits === false));
    assert.ok(r.main.annotations.some((a) => a.level === 'warning' && /No zone has quota headroom for 4 NVIDIA L4 GPUs/.test(a.message)));
    assert.match(r.summary, /No zone has quota headroom/);

    const strict = await run({ accelerator_type: 'nvidia-l4', count: 4, require_fit: true });
    assert.equal(strict.exitCode, 1);
    assert.match(errorOf(strict), /No zone has quota headroom.*\nFix: Request more quota with the gpu-quota action/s);
  });

  test('a zone that is DOWN ranks last and never fits', async () => {
    const z = zonesState().find((x) => x.name === 'us-central1-a') as Zone;
    z.status = 'DOWN';
    const r = await run({ accelerator_type: 'nvidia-l4', count: 1, regions: 'us-central1' });
    ok(r);
    const zones = zonesOf(r);
    assert.deepEqual(zones.map((x) => [x.zone, x.status, x.fits]), [
      ['us-central1-b', 'UP', true],
      ['us-central1-c', 'UP', true],
      ['us-central1-a', 'DOWN', false],
    ]);
  });

  // Every family of the suite's catalog has a seeded regional quota, on-demand and PREEMPTIBLE_, in
  // each region that offers it: gpu-capacity reads it for each (Spot for every other family).
  GPU_TYPES.forEach((type, i) => {
    const spot = i % 2 === 1;
    test(`every family: ${type.name}${spot ? ' (Spot)' : ''} reads its seeded quota in us-central1`, async () => {
      const metric = spot ? type.preemptibleMetric : type.metric;
      const r = await run({ accelerator_type: type.name, count: 1, spot, regions: 'us-central1' });
      ok(r);
      const regions = JSON.parse(r.outputs.regions ?? '[]') as Json[];
      const seeded = sb.ctx.quota.find(metric, 'us-central1');
      assert.ok(seeded, `seed has ${metric} us-central1`);
      assert.deepEqual(regions.map((x) => [x.region, x.metric, x.headroom]), [['us-central1', metric, seeded.limit]]);
      assert.ok(zonesOf(r).length > 0, 'zones of us-central1 offer it');
      assert.equal(r.outputs.fits, String(seeded.limit >= 1));
    });
  });

  test('spot reads the PREEMPTIBLE_ quota', async () => {
    const r = await run({ accelerator_type: 'nvidia-l4', count: 10, spot: true, regions: 'us-east4,us-central1' });
    ok(r);
    const regions = JSON.parse(r.outputs.regions ?? '[]') as Json[];
    assert.deepEqual(regions.map((x) => [x.region, x.metric, x.headroom]), [
      ['us-east4', 'PREEMPTIBLE_NVIDIA_L4_GPUS', 8],
      ['us-central1', 'PREEMPTIBLE_NVIDIA_L4_GPUS', 16],
    ]);
    assert.equal(r.outputs.zone_list, 'us-central1-a,us-central1-b,us-central1-c');
  });

  test('a type no zone of the regions offers: empty lists and a warning', async () => {
    const r = await run({ accelerator_type: 'nvidia-a100-80gb', regions: 'us-west4' });
    ok(r);
    assert.deepEqual(zonesOf(r), []);
    assert.equal(r.outputs.best_zone, '');
    assert.ok(r.main.annotations.some((a) => a.level === 'warning' && /No zone of us-west4 offers nvidia-a100-80gb/.test(a.message)));
  });

  test('asks Compute for the one type and retries 429/503', async () => {
    sb.faults.add({ kind: 'error', match: { api: 'compute', method: 'AggregatedList' }, status: 503, count: 1 });
    sb.faults.add({ kind: 'error', match: { api: 'compute', method: 'Get' }, status: 429, count: 2 });
    const from = sb.requests.length;
    const r = await run({ accelerator_type: 'nvidia-tesla-t4', count: 2, regions: 'us-central1' });
    ok(r);
    assert.equal(r.outputs.best_zone, 'us-central1-a');
    const seen = sb.requests.slice(from);
    assert.equal(seen.filter((x) => x.status === 503).length, 1);
    assert.equal(seen.filter((x) => x.status === 429).length, 2);
    const agg = seen.find((x) => x.rpc === 'AggregatedList' && x.status === 200);
    assert.match(agg?.query.filter ?? '', /nvidia-tesla-t4/);
  });

  for (const [name, inputs, message] of [
    ['unknown accelerator', { accelerator_type: 'nvidia-gtx-1080' }, /Input "accelerator_type" is "nvidia-gtx-1080"/],
    ['bad region in the list', { accelerator_type: 'nvidia-l4', regions: 'us-central1,US East' }, /Input "regions" .*item "US East"/],
    ['count zero', { accelerator_type: 'nvidia-l4', count: 0 }, /Input "count" is "0"/],
  ] as const) {
    test(`refused before any call: ${name}`, async () => {
      const from = sb.requests.length;
      const r = await run(inputs);
      assert.equal(r.exitCode, 1);
      assert.match(errorOf(r), message);
      assert.equal(sb.requests.length, from);
    });
  }
});

describe('rankZones', () => {
  const z = (zone: string, headroom: number, fits: boolean, status = 'UP') => ({
    zone,
    region: zone.replace(/-[a-z]$/, ''),
    status,
    maxGpusPerNode: 8,
    regionalHeadroom: headroom,
    globalHeadroom: 100,
    headroom,
    fits,
  });
  test('up before down, fitting before not, preferred region order, more headroom, then name', () => {
    const ranked = rankZones(
      [z('b-x1-a', 4, true), z('a-x1-b', 1, false), z('a-x1-a', 8, true, 'DOWN'), z('c-x1-a', 16, true), z('b-x1-b', 4, true)],
      ['b-x1'],
    );
    assert.deepEqual(ranked.map((r) => r.zone), ['b-x1-a', 'b-x1-b', 'c-x1-a', 'a-x1-b', 'a-x1-a']);
    assert.deepEqual(ranked.map((r) => r.rank), [1, 2, 3, 4, 5]);
  });
  test('unlimited headroom ranks above any number', () => {
    const ranked = rankZones([z('a-x1-a', 100, true), z('a-x1-b', Infinity, true)]);
    assert.equal(ranked[0]?.zone, 'a-x1-b');
  });
});
