// The sandbox's Compute disks/snapshots and Billing Catalog modules, proven with real gcloud and raw HTTP.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, test } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import { ROOT } from '../harness.js';

let sb: Sandbox;
let config: string;
beforeAll(async () => {
  try {
    execFileSync('gcloud', ['--version'], { stdio: 'ignore' });
  } catch {
    assert.fail('gcloud is not on PATH: install the Google Cloud CLI (google-cloud-cli) to run the sandbox round-trips');
  }
  sb = await startSandbox({
    port: 0,
    operationMs: 50,
    seed: {
      ...(JSON.parse(readFileSync(join(ROOT, 'scripts/sandbox/seed/default.json'), 'utf8')) as Record<string, unknown>),
      computeDisks: {
        disks: [
          { name: 'orphan', zone: 'us-central1-a', sizeGb: 100, ageDays: 40 },
          { name: 'in-use', zone: 'us-central1-b', sizeGb: 10, users: ['https://www.googleapis.com/compute/v1/projects/mlabs-demo/zones/us-central1-b/instances/vm-1'] },
        ],
        snapshots: [],
      },
    },
  });
  config = mkdtempSync(join(tmpdir(), 'gcloud-config-'));
});
afterAll(async () => {
  await sb?.stop();
  if (config) rmSync(config, { recursive: true, force: true });
});

function gcloud(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile('gcloud', args, { env: { ...process.env, ...sb.env, CLOUDSDK_CONFIG: config }, timeout: 60_000 }, (e, out, err) => resolve({ code: e ? 1 : 0, out: String(out), err: String(err) }));
  });
}

type Json = Record<string, unknown>;

test('gcloud compute disks list, disks snapshot, snapshots list, disks delete', async () => {
  const list = await gcloud(['compute', 'disks', 'list', '--format=json']);
  assert.equal(list.code, 0, list.err);
  const disks = JSON.parse(list.out) as Json[];
  assert.deepEqual(disks.map((d) => d.name).sort(), ['in-use', 'orphan']);
  assert.equal((disks.find((d) => d.name === 'orphan') as Json).sizeGb, '100');
  assert.equal((disks.find((d) => d.name === 'orphan') as Json).users, undefined);

  const snap = await gcloud(['compute', 'disks', 'snapshot', 'orphan', '--zone', 'us-central1-a', '--snapshot-names', 'orphan-snap']);
  assert.equal(snap.code, 0, snap.err);
  const snaps = JSON.parse((await gcloud(['compute', 'snapshots', 'list', '--format=json'])).out) as Json[];
  assert.equal(snaps.length, 1);
  assert.equal(snaps[0]?.name, 'orphan-snap');
  assert.equal(snaps[0]?.status, 'READY');
  assert.match(String(snaps[0]?.sourceDisk), /zones\/us-central1-a\/disks\/orphan$/);

  const inUse = await gcloud(['compute', 'disks', 'delete', 'in-use', '--zone', 'us-central1-b', '--quiet']);
  assert.notEqual(inUse.code, 0);
  assert.match(inUse.err, /already being used by/);
  const del = await gcloud(['compute', 'disks', 'delete', 'orphan', '--zone', 'us-central1-a', '--quiet']);
  assert.equal(del.code, 0, del.err);
  const after = JSON.parse((await gcloud(['compute', 'disks', 'list', '--format=json'])).out) as Json[];
  assert.deepEqual(after.map((d) => d.name), ['in-use']);
  const rpcs = sb.requests.filter((r) => r.api === 'compute').map((r) => r.rpc);
  assert.ok(rpcs.includes('CreateSnapshot') && rpcs.includes('Wait'), rpcs.join(','));

  const sdel = await gcloud(['compute', 'snapshots', 'delete', 'orphan-snap', '--quiet']);
  assert.equal(sdel.code, 0, sdel.err);
  assert.match((await gcloud(['compute', 'snapshots', 'list'])).err, /Listed 0 items/);
});

test('Billing Catalog: services and Compute Engine SKUs, paged, int64 as strings; unknown parameters refused', async () => {
  const get = async (path: string) => {
    const res = await fetch(`${sb.url}/cloudbilling/${path}`, { headers: { authorization: `Bearer ${sb.accessToken}` } });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const services = await get('v1/services');
  assert.equal(services.status, 200);
  assert.ok((services.body.services as Json[]).some((s) => s.displayName === 'Compute Engine' && s.serviceId === '6F81-5844-456A'));
  const first = await get('v1/services/6F81-5844-456A/skus?pageSize=2&currencyCode=USD');
  assert.equal((first.body.skus as Json[]).length, 2);
  assert.ok(first.body.nextPageToken);
  const l4 = (first.body.skus as Json[])[0] as { description: string; pricingInfo: { pricingExpression: { usageUnit: string; tieredRates: { unitPrice: { units: string; nanos: number } }[] } }[] };
  assert.equal(l4.description, 'Nvidia L4 GPU running in Americas');
  assert.equal(l4.pricingInfo[0]?.pricingExpression.usageUnit, 'h');
  assert.equal(l4.pricingInfo[0]?.pricingExpression.tieredRates[0]?.unitPrice.units, '0');
  const storage = await get('v1/services/95FF-2EF5-5EA1/skus');
  assert.ok((storage.body.skus as Json[]).some((s) => s.description === 'Standard Storage US Regional'));
  assert.equal((await get('v1/services/6F81-5844-456A/skus?colour=blue')).status, 400);
  assert.equal((await get('v1/services/NOPE-0000-0000/skus')).status, 404);
  const anon = await fetch(`${sb.url}/cloudbilling/v1/services`);
  assert.equal(anon.status, 401);
});
