/**
 * A restore keeps a pool's zones: a pool snapshotted in three zones comes back in the same three with
 * the same nodes per zone; `zones: auto` moves it only when those zones lack capacity, and says so;
 * `unchanged` means the same zones too. Through the bundles, against the sandbox, with gcloud.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'vitest';
import type { Sandbox } from '../../scripts/sandbox/index.js';
import type { NodePool } from '../../actions/lib/google/container.js';
import { BUCKET, describe, errorText, gke, run, sandbox } from './helpers.js';

let sb: Sandbox;
let env: Record<string, string>;
beforeEach(async () => ({ sb, env } = await sandbox()));
afterEach(async () => sb.stop());

const THREE = ['us-central1-a', 'us-central1-b', 'us-central1-c'];

/** An L4 pool of two nodes per zone in the cluster's three zones, snapshotted and destroyed. */
async function threeZonePoolDestroyed(): Promise<void> {
  const made = await run('node-pool-expand', env, { pool: 'gpu-3z', accelerator_type: 'nvidia-l4', accelerator_count: 1, node_count: 2, zones: ' ' });
  assert.equal(made.exitCode, 0, errorText(made));
  const pool = (await describe(env, 'gpu-3z')) as NodePool;
  assert.deepEqual([...(pool.locations ?? [])].sort(), THREE, 'the pool starts in the cluster\'s three zones');
  const gone = await run('node-pool-destroy', env, { pool: 'gpu-3z', bucket: BUCKET });
  assert.equal(gone.exitCode, 0, errorText(gone));
  assert.equal(await describe(env, 'gpu-3z'), undefined);
}

test('without zones, a pool snapshotted in three zones comes back in those three with the same nodes per zone; a re-run is unchanged', async () => {
  await threeZonePoolDestroyed();
  const r = await run('node-pool-restore', env, { pool: 'gpu-3z', bucket: BUCKET });
  assert.equal(r.exitCode, 0, errorText(r));
  assert.equal(r.outputs.outcome, 'created');
  assert.deepEqual((r.outputs.zones ?? '').split(',').sort(), THREE);
  const back = (await describe(env, 'gpu-3z')) as NodePool;
  assert.deepEqual([...(back.locations ?? [])].sort(), THREE);
  assert.equal(back.initialNodeCount, 2);
  assert.match(r.summary, /Zones recorded \| us-central1-a, us-central1-b, us-central1-c \(kept\)/);
  const creates = sb.requests.filter((q) => q.rpc === 'CreateNodePool');
  assert.equal(creates.length, 2, 'one create by expand, one by restore: no zone-by-zone attempts');

  const again = await run('node-pool-restore', env, { pool: 'gpu-3z', bucket: BUCKET });
  assert.equal(again.exitCode, 0, errorText(again));
  assert.equal(again.outputs.outcome, 'unchanged');
});

test('zones: auto keeps the recorded three zones when they have capacity', async () => {
  await threeZonePoolDestroyed();
  const r = await run('node-pool-restore', env, { pool: 'gpu-3z', bucket: BUCKET, zones: 'auto' });
  assert.equal(r.exitCode, 0, errorText(r));
  assert.deepEqual((r.outputs.zones ?? '').split(',').sort(), THREE);
  assert.doesNotMatch(r.summary, /not the zones the snapshot recorded/);
});

test('zones: auto moves the pool only when the recorded zones lack capacity, and the summary says so; a re-run reports moved, not unchanged', async () => {
  await threeZonePoolDestroyed();
  sb.faults.add({ kind: 'stockout', zones: ['us-central1-a', 'us-central1-b'] });
  const r = await run('node-pool-restore', env, { pool: 'gpu-3z', bucket: BUCKET, zones: 'auto' });
  assert.equal(r.exitCode, 0, errorText(r));
  assert.equal(r.outputs.outcome, 'created');
  const attempts = JSON.parse(r.outputs.attempts ?? '[]') as Array<{ zone: string; outcome: string }>;
  assert.equal(attempts[0]?.zone, THREE.join(','), 'the recorded zones are tried first, together');
  assert.equal(attempts[0]?.outcome, 'stockout');
  assert.equal(r.outputs.zones, 'us-central1-c');
  assert.match(r.summary, /The pool runs in us-central1-c, not the zones the snapshot recorded \(us-central1-a, us-central1-b, us-central1-c\), because those lacked capacity/);
  assert.match(r.summary, /2 node\(s\) per zone, 2 in total instead of 6/);

  sb.faults.clear();
  const plain = await run('node-pool-restore', env, { pool: 'gpu-3z', bucket: BUCKET });
  assert.equal(plain.exitCode, 1, 'without zones the moved pool differs from the snapshot (its zones)');
  assert.match(errorText(plain), /differs from the snapshot[\s\S]*locations/);
  const auto = await run('node-pool-restore', env, { pool: 'gpu-3z', bucket: BUCKET, zones: 'auto' });
  assert.equal(auto.exitCode, 0, errorText(auto));
  assert.equal(auto.outputs.outcome, 'moved');
  assert.match(auto.summary, /matches the snapshot except its zones/);
});

test('any region: a cluster in europe-west4 (made through the GKE API) gets a GPU pool in one of its own zones with zones: auto, and a restore brings it back there', async () => {
  await gke(sb, 'POST', 'projects/mlabs-demo/locations/europe-west4/clusters', { cluster: { name: 'mlabs-eu', initialNodeCount: 1 } });
  for (let i = 0; i < 200 && (await gke(sb, 'GET', 'projects/mlabs-demo/locations/europe-west4/clusters/mlabs-eu')).status !== 'RUNNING'; i++) await new Promise((r) => setTimeout(r, 25));
  const eu = { location: 'europe-west4', cluster: 'mlabs-eu' };
  const made = await run('node-pool-expand', env, { ...eu, pool: 'gpu-eu', accelerator_type: 'nvidia-l4', accelerator_count: 1, node_count: 1, zones: 'auto' });
  assert.equal(made.exitCode, 0, errorText(made));
  assert.match(made.outputs.zones ?? '', /^europe-west4-[abc]$/);
  assert.match(made.main.stdout, /zones: auto -> europe-west4-/);
  const gone = await run('node-pool-destroy', env, { ...eu, pool: 'gpu-eu', bucket: BUCKET });
  assert.equal(gone.exitCode, 0, errorText(gone));
  const back = await run('node-pool-restore', env, { ...eu, pool: 'gpu-eu', bucket: BUCKET });
  assert.equal(back.exitCode, 0, errorText(back));
  assert.equal(back.outputs.zones, made.outputs.zones);
  const wrong = await run('node-pool-expand', env, { ...eu, pool: 'gpu-x', accelerator_type: 'nvidia-l4', accelerator_count: 1, node_count: 1, zones: 'us-central1-a' });
  assert.equal(wrong.exitCode, 1);
  assert.match(errorText(wrong), /zone us-central1-a is not in the cluster's region europe-west4/);
});
